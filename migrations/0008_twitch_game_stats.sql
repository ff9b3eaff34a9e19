-- Per-game Twitch statistics as the public Twitch statistics sites define them, computed from
-- stream_snapshots (issue 19). A snapshot at t stands for min(t_next - t, I) of watching, where
-- t_next is the same stream's next snapshot in the same game on the same UTC day and I the
-- Twitch collection interval; the last snapshot of a stream that day stands for I / 2.
-- Every table has one row per tracked game and period, zeros (and NULL ratios) where nothing
-- was collected, so a gap in the data reads as a gap, never as a missing row.

-- One row per game per UTC day (the asset twitch_game_stats).
CREATE TABLE twitch_game_stats (
    game_key TEXT NOT NULL,
    day DATE NOT NULL,
    hours_watched DOUBLE PRECISION NOT NULL,    -- sum of viewers x the time each snapshot stands for
    hours_streamed DOUBLE PRECISION NOT NULL,   -- the same with 1 in place of viewers
    avg_viewers DOUBLE PRECISION NOT NULL,      -- hours_watched / 24
    avg_channels DOUBLE PRECISION NOT NULL,     -- hours_streamed / 24
    viewer_ratio DOUBLE PRECISION,              -- hours_watched / hours_streamed; null: no streams
    peak_viewers BIGINT NOT NULL,               -- most viewers in one collection of the game
    peak_channels INTEGER NOT NULL,             -- most streams in one collection of the game
    unique_streamers INTEGER NOT NULL,          -- distinct user_id
    snapshot_count INTEGER NOT NULL,            -- stream snapshot rows the day was computed from
    collection_count INTEGER NOT NULL,          -- distinct collected_at of the game that day
    PRIMARY KEY (game_key, day),
    CHECK (hours_watched >= 0 AND hours_streamed >= 0 AND avg_viewers >= 0 AND avg_channels >= 0
        AND peak_viewers >= 0 AND peak_channels >= 0 AND unique_streamers >= 0)
);

CREATE INDEX twitch_game_stats_day ON twitch_game_stats (day);

-- One row per game per UTC hour: the day's snapshots, each with the time it stands for in its
-- day, grouped by the hour they were collected in (so an hour's figures add up to the day's);
-- averages divide by 1 hour.
CREATE TABLE twitch_game_stats_hourly (
    game_key TEXT NOT NULL,
    hour_start TIMESTAMPTZ NOT NULL,
    hours_watched DOUBLE PRECISION NOT NULL,
    hours_streamed DOUBLE PRECISION NOT NULL,
    avg_viewers DOUBLE PRECISION NOT NULL,
    avg_channels DOUBLE PRECISION NOT NULL,
    viewer_ratio DOUBLE PRECISION,
    peak_viewers BIGINT NOT NULL,
    peak_channels INTEGER NOT NULL,
    unique_streamers INTEGER NOT NULL,
    snapshot_count INTEGER NOT NULL,
    collection_count INTEGER NOT NULL,
    PRIMARY KEY (game_key, hour_start),
    CHECK (hours_watched >= 0 AND hours_streamed >= 0 AND peak_viewers >= 0
        AND peak_channels >= 0 AND unique_streamers >= 0)
);

CREATE INDEX twitch_game_stats_hourly_hour ON twitch_game_stats_hourly (hour_start);

-- The ten streamers with the most hours watched per game per UTC day.
CREATE TABLE twitch_game_top_streamers (
    game_key TEXT NOT NULL,
    day DATE NOT NULL,
    rank INTEGER NOT NULL CHECK (rank BETWEEN 1 AND 10),
    user_id TEXT NOT NULL,
    user_login TEXT,                            -- as the streamer's last snapshot of the day had it
    user_name TEXT,
    hours_watched DOUBLE PRECISION NOT NULL,
    hours_streamed DOUBLE PRECISION NOT NULL,
    avg_viewers DOUBLE PRECISION NOT NULL,      -- hours_watched / hours_streamed: viewers while live
    peak_viewers INTEGER NOT NULL,              -- most viewers in one snapshot
    PRIMARY KEY (game_key, day, rank)
);

-- One row per game per UTC month (the asset twitch_game_stats_monthly): sums and peaks roll up
-- from the month's days, unique_streamers is counted over the month's snapshots, and the
-- averages divide by the month's hours (as the public monthly data sets do).
CREATE TABLE twitch_game_stats_monthly (
    game_key TEXT NOT NULL,
    month DATE NOT NULL CHECK (extract(day FROM month) = 1),
    hours_watched DOUBLE PRECISION NOT NULL,
    hours_streamed DOUBLE PRECISION NOT NULL,
    avg_viewers DOUBLE PRECISION NOT NULL,
    avg_channels DOUBLE PRECISION NOT NULL,
    viewer_ratio DOUBLE PRECISION,
    peak_viewers BIGINT NOT NULL,
    peak_channels INTEGER NOT NULL,
    unique_streamers INTEGER NOT NULL,
    snapshot_count BIGINT NOT NULL,
    days_covered INTEGER NOT NULL CHECK (days_covered BETWEEN 0 AND 31),  -- days with a daily row
    PRIMARY KEY (game_key, month),
    CHECK (hours_watched >= 0 AND hours_streamed >= 0 AND peak_viewers >= 0
        AND peak_channels >= 0 AND unique_streamers >= 0)
);
