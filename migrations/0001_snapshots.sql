-- Raw observations: one row per video (or live stream, or channel) per collection.
-- Every time-partitioned asset downstream is computed from these rows, which is what makes
-- hourly, daily and monthly partitions recomputable. The tables are range-partitioned by month
-- of collected_at so retention drops whole months (only after the archive holds them).

-- Creates the month's partition of a snapshot table when it is missing. Writers call it in
-- their transaction before they COPY; the advisory lock makes concurrent callers safe.
CREATE FUNCTION intel_ensure_month_partition(parent regclass, month_start date)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    first_day date := date_trunc('month', month_start)::date;
    partition_name text := format('%s_%s', parent::text, to_char(first_day, 'YYYY_MM'));
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(partition_name));
    IF to_regclass(partition_name) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
            partition_name,
            parent,
            first_day::timestamp AT TIME ZONE 'UTC',
            (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC'
        );
    END IF;
    RETURN partition_name;
END;
$$;

-- YouTube videos as one collection of one game saw them.
CREATE TABLE video_snapshots (
    video_id TEXT NOT NULL,
    game_key TEXT NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL,          -- when the API answered (UTC)
    collection_id TEXT NOT NULL,                -- the collection run that wrote the row
    source TEXT NOT NULL,                       -- how the video was found: chart, search, tracked
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    channel_id TEXT NOT NULL,
    channel_title TEXT,
    published_at TIMESTAMPTZ NOT NULL,
    duration_seconds INTEGER,                   -- null while a broadcast has no duration (P0D)
    is_short BOOLEAN NOT NULL,
    view_count BIGINT,                          -- null only when YouTube sends none
    like_count BIGINT,                          -- null when hidden (never 0 for hidden)
    comment_count BIGINT,                       -- null when hidden or disabled
    default_audio_language TEXT,
    default_language TEXT,
    live_state TEXT NOT NULL CHECK (live_state IN ('none', 'upcoming', 'live', 'ended')),
    is_premiere BOOLEAN,                        -- null where the API cannot tell (ended)
    scheduled_start TIMESTAMPTZ,
    actual_start TIMESTAMPTZ,
    actual_end TIMESTAMPTZ,
    concurrent_viewers BIGINT,
    tags TEXT[] NOT NULL DEFAULT '{}',
    topic_categories TEXT[] NOT NULL DEFAULT '{}',
    category_id TEXT,
    definition TEXT,                            -- hd or sd
    caption BOOLEAN,
    licensed_content BOOLEAN,
    made_for_kids BOOLEAN,
    has_paid_product_placement BOOLEAN,
    localization_languages TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (game_key, collected_at, video_id),
    CHECK (view_count IS NULL OR view_count >= 0),
    CHECK (like_count IS NULL OR like_count >= 0),
    CHECK (comment_count IS NULL OR comment_count >= 0)
) PARTITION BY RANGE (collected_at);

CREATE INDEX video_snapshots_video_time ON video_snapshots (video_id, collected_at);
CREATE INDEX video_snapshots_collection ON video_snapshots (game_key, collection_id);

-- Twitch live streams of one game as one collection saw them.
CREATE TABLE stream_snapshots (
    stream_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_login TEXT,
    user_name TEXT,
    game_key TEXT NOT NULL,
    twitch_game_id TEXT NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL,
    collection_id TEXT NOT NULL,
    viewer_count INTEGER NOT NULL CHECK (viewer_count >= 0),
    language TEXT,
    started_at TIMESTAMPTZ NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    tags TEXT[] NOT NULL DEFAULT '{}',
    is_mature BOOLEAN,
    PRIMARY KEY (game_key, collected_at, stream_id)
) PARTITION BY RANGE (collected_at);

CREATE INDEX stream_snapshots_collection ON stream_snapshots (game_key, collection_id);

-- YouTube channels behind a game's videos, for competition analysis (size and age).
CREATE TABLE channel_snapshots (
    channel_id TEXT NOT NULL,
    game_key TEXT NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL,
    collection_id TEXT NOT NULL,
    title TEXT,
    published_at TIMESTAMPTZ,
    country TEXT,
    subscriber_count BIGINT,                    -- null when the channel hides it
    video_count BIGINT,
    view_count BIGINT,
    PRIMARY KEY (game_key, collected_at, channel_id)
) PARTITION BY RANGE (collected_at);

-- The present month and the next exist from the start; writers create others on demand.
SELECT intel_ensure_month_partition(t, m::date)
FROM unnest(ARRAY['video_snapshots', 'stream_snapshots', 'channel_snapshots']::regclass[]) AS t,
     unnest(ARRAY[date_trunc('month', now() AT TIME ZONE 'UTC'),
                  date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month']) AS m;

-- Per-game collection state the sensor reads every minute (one query for every game).
CREATE TABLE intel_collection_state (
    game_key TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('youtube', 'twitch')),
    last_collected_at TIMESTAMPTZ,
    last_collection_id TEXT,
    last_content_hash TEXT,
    unchanged_streak INTEGER NOT NULL DEFAULT 0,
    last_row_count INTEGER NOT NULL DEFAULT 0,
    last_failure_at TIMESTAMPTZ,
    last_error TEXT,
    PRIMARY KEY (game_key, source)
);
