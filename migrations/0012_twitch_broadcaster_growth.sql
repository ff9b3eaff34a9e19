-- Twitch broadcasters' growth (issue 19): what the app token can read, per game, UTC day and
-- broadcaster, from stream_snapshots with the time-weighting of twitch_game_stats (a snapshot
-- at t stands for min(t_next - t, I), the stream's last of the day for I / 2). Follower counts
-- are not here: Twitch's /channels/followers needs a user token, and the project has an app
-- token only.
CREATE TABLE twitch_broadcaster_growth (
    game_key TEXT NOT NULL,
    day DATE NOT NULL,
    user_id TEXT NOT NULL,
    user_login TEXT,                            -- as the broadcaster's last snapshot of the day
    user_name TEXT,
    hours_streamed DOUBLE PRECISION NOT NULL,   -- sum of the time each snapshot stands for
    hours_watched DOUBLE PRECISION NOT NULL,    -- sum of viewers x that time
    avg_viewers DOUBLE PRECISION NOT NULL,      -- hours_watched / hours_streamed: while live
    peak_viewers INTEGER NOT NULL,              -- most viewers in one snapshot
    snapshot_count INTEGER NOT NULL,
    -- changes against the same broadcaster in the same game 1, 7 and 30 days before (0 hours
    -- when they did not stream that day); null when the game has no snapshots that day (not
    -- collected, or pruned); the average's change is null too when they did not stream then
    hours_streamed_change_1d DOUBLE PRECISION,
    hours_streamed_change_7d DOUBLE PRECISION,
    hours_streamed_change_30d DOUBLE PRECISION,
    hours_watched_change_1d DOUBLE PRECISION,
    hours_watched_change_7d DOUBLE PRECISION,
    hours_watched_change_30d DOUBLE PRECISION,
    avg_viewers_change_1d DOUBLE PRECISION,
    avg_viewers_change_7d DOUBLE PRECISION,
    avg_viewers_change_30d DOUBLE PRECISION,
    rank_hours_watched INTEGER NOT NULL,        -- per game and day, 1 watched most
    rank_7d_hours_watched INTEGER,              -- by hours_watched_change_7d; null: no change
    PRIMARY KEY (game_key, day, user_id),
    CHECK (hours_streamed >= 0 AND hours_watched >= 0 AND avg_viewers >= 0
        AND peak_viewers >= 0 AND snapshot_count > 0)
);

CREATE INDEX twitch_broadcaster_growth_day ON twitch_broadcaster_growth (day);
