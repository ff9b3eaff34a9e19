-- Channel growth (issue 19). Channel details are cached for up to a day, so a channel snapshot's
-- collected_at can be hours after YouTube counted its subscribers: fetched_at records when the
-- counts were fetched, and growth is measured between fetch times. NULL on rows written before
-- this migration, which readers take as fetched when collected.
ALTER TABLE channel_snapshots ADD COLUMN fetched_at TIMESTAMPTZ;

-- One row per game, UTC day and YouTube channel seen behind the game's videos that day.
CREATE TABLE channel_growth (
    game_key TEXT NOT NULL,
    day DATE NOT NULL,
    channel_id TEXT NOT NULL,
    title TEXT,
    fetched_at TIMESTAMPTZ NOT NULL,            -- when the counts below were fetched (by day's end)
    subscriber_count BIGINT,                    -- null when the channel hides it
    view_count BIGINT,
    video_count BIGINT,
    -- changes against the last fetch of the day 1, 7 and 30 days before fetched_at's day; null
    -- when that day has no fetch or either count is hidden
    subscribers_change_1d BIGINT,
    subscribers_change_7d BIGINT,
    subscribers_change_30d BIGINT,
    views_change_1d BIGINT,
    views_change_7d BIGINT,
    views_change_30d BIGINT,
    videos_change_1d BIGINT,
    videos_change_7d BIGINT,
    videos_change_30d BIGINT,
    fetched_at_1d TIMESTAMPTZ,                  -- the earlier fetch each change is measured from
    fetched_at_7d TIMESTAMPTZ,
    fetched_at_30d TIMESTAMPTZ,
    subscribers_growth_7d DOUBLE PRECISION,     -- subscribers_change_7d / the earlier count
    rank_7d_absolute INTEGER,                   -- per game and day, 1 grew most; null: no change
    rank_7d_relative INTEGER,
    PRIMARY KEY (game_key, day, channel_id)
);

CREATE INDEX channel_growth_day ON channel_growth (day);
