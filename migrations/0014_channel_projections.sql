-- Projections of YouTube channels' subscribers (issue 19): a least-squares line through each
-- channel's last subscriber count of each UTC day over the 30 days up to the day, where at
-- least 14 of those days have one, extended 30 days past the last fetch with its 95%
-- prediction interval. One row per game, UTC day and channel seen that day; the projection
-- columns are null where the history is shorter.
CREATE TABLE channel_projections (
    game_key TEXT NOT NULL,
    day DATE NOT NULL,
    channel_id TEXT NOT NULL,
    history_days INTEGER NOT NULL CHECK (history_days BETWEEN 0 AND 30),  -- days with a count
    first_fetched_at TIMESTAMPTZ,               -- the earliest and latest fetch fitted
    last_fetched_at TIMESTAMPTZ,
    subscriber_count BIGINT,                    -- at last_fetched_at
    subscribers_per_day DOUBLE PRECISION,       -- the line's slope
    subscribers_per_day_stderr DOUBLE PRECISION,
    r_squared DOUBLE PRECISION,                 -- null when every count was the same
    projected_subscribers_30d DOUBLE PRECISION, -- the line 30 days after last_fetched_at
    projected_subscribers_30d_low DOUBLE PRECISION,   -- its 95% prediction interval
    projected_subscribers_30d_high DOUBLE PRECISION,
    PRIMARY KEY (game_key, day, channel_id)
);

CREATE INDEX channel_projections_day ON channel_projections (day);
