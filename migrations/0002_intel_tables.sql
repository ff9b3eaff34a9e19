-- The seed's intelligence tables (../shared/seed), with its flaws fixed:
-- every upsert key is the primary key (no surrogate id beside a unique constraint), timestamps
-- are timestamptz in UTC, no column records when a row was computed (a re-run must give
-- identical rows), and the daily table keeps the averages day-over-day trends are computed from.

-- One row per game per UTC hour, computed from the snapshots collected in that hour.
CREATE TABLE intel_hourly_metrics (
    category_key TEXT NOT NULL,
    hour_start TIMESTAMPTZ NOT NULL,
    -- video metrics (distinct videos seen in the hour, at their latest snapshot in the hour)
    video_count INTEGER NOT NULL DEFAULT 0,
    avg_views DOUBLE PRECISION NOT NULL DEFAULT 0,
    avg_engagement DOUBLE PRECISION NOT NULL DEFAULT 0,
    total_views BIGINT NOT NULL DEFAULT 0,
    -- viral metrics (from the viral analysis valid at the end of the hour)
    viral_count INTEGER NOT NULL DEFAULT 0,
    rising_count INTEGER NOT NULL DEFAULT 0,
    avg_velocity DOUBLE PRECISION NOT NULL DEFAULT 0,
    max_velocity DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- format metrics
    shorts_count INTEGER NOT NULL DEFAULT 0,
    shorts_avg_views DOUBLE PRECISION NOT NULL DEFAULT 0,
    longform_count INTEGER NOT NULL DEFAULT 0,
    longform_avg_views DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- duration metrics
    avg_duration_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    optimal_duration_bucket TEXT,
    -- regional metrics
    language_distribution JSONB NOT NULL DEFAULT '{}',
    dominant_language TEXT,
    -- additions: what the hour was computed from, and Twitch demand
    snapshot_count INTEGER NOT NULL DEFAULT 0,
    last_collected_at TIMESTAMPTZ,
    twitch_stream_count INTEGER NOT NULL DEFAULT 0,
    twitch_total_viewers BIGINT NOT NULL DEFAULT 0,
    twitch_avg_viewers DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (category_key, hour_start),
    CHECK (avg_engagement >= 0 AND avg_engagement <= 1)
);

CREATE INDEX intel_hourly_metrics_hour ON intel_hourly_metrics (hour_start DESC);

-- One row per game per UTC day, rolled up from that day's hourly rows.
CREATE TABLE intel_daily_metrics (
    category_key TEXT NOT NULL,
    date DATE NOT NULL,
    total_videos_seen INTEGER NOT NULL DEFAULT 0,
    peak_viral_count INTEGER NOT NULL DEFAULT 0,
    avg_viral_count DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- trends: percent change against the previous day's row (0 when there is none)
    views_trend DOUBLE PRECISION NOT NULL DEFAULT 0,
    viral_trend DOUBLE PRECISION NOT NULL DEFAULT 0,
    engagement_trend DOUBLE PRECISION NOT NULL DEFAULT 0,
    best_hour_utc INTEGER CHECK (best_hour_utc BETWEEN 0 AND 23),
    worst_hour_utc INTEGER CHECK (worst_hour_utc BETWEEN 0 AND 23),
    peak_views_hour_utc INTEGER CHECK (peak_views_hour_utc BETWEEN 0 AND 23),
    shorts_performance_ratio DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    optimal_duration_range TEXT,
    dominant_language TEXT,
    language_diversity_score DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- the averages the next day's trends are computed from (the seed read a column it lacked)
    avg_views DOUBLE PRECISION NOT NULL DEFAULT 0,
    avg_engagement DOUBLE PRECISION NOT NULL DEFAULT 0,
    total_views BIGINT NOT NULL DEFAULT 0,
    hours_covered INTEGER NOT NULL DEFAULT 0 CHECK (hours_covered BETWEEN 0 AND 24),
    PRIMARY KEY (category_key, date)
);

CREATE INDEX intel_daily_metrics_date ON intel_daily_metrics (date DESC);

-- Views and engagement by duration bucket, per game per day.
CREATE TABLE intel_duration_performance (
    category_key TEXT NOT NULL,
    date DATE NOT NULL,
    bucket_label TEXT NOT NULL,
    bucket_min_seconds INTEGER NOT NULL,
    bucket_max_seconds INTEGER NOT NULL,
    video_count INTEGER NOT NULL DEFAULT 0,
    avg_views DOUBLE PRECISION NOT NULL DEFAULT 0,
    avg_engagement DOUBLE PRECISION NOT NULL DEFAULT 0,
    total_views BIGINT NOT NULL DEFAULT 0,
    performance_index DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    PRIMARY KEY (category_key, date, bucket_label)
);

-- YouTube supply against Twitch demand per language, per game per day.
CREATE TABLE intel_regional_performance (
    category_key TEXT NOT NULL,
    date DATE NOT NULL,
    language_code TEXT NOT NULL,
    youtube_video_count INTEGER NOT NULL DEFAULT 0,
    youtube_avg_views DOUBLE PRECISION NOT NULL DEFAULT 0,
    youtube_total_views BIGINT NOT NULL DEFAULT 0,
    twitch_stream_count INTEGER NOT NULL DEFAULT 0,
    twitch_avg_viewers DOUBLE PRECISION NOT NULL DEFAULT 0,
    twitch_total_viewers BIGINT NOT NULL DEFAULT 0,
    competition_score DOUBLE PRECISION NOT NULL DEFAULT 50,
    opportunity_score DOUBLE PRECISION NOT NULL DEFAULT 50,
    market_share_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (category_key, date, language_code)
);

-- Premieres against instant uploads and schedule adherence, per game per day.
CREATE TABLE intel_premiere_performance (
    category_key TEXT NOT NULL,
    date DATE NOT NULL,
    premiere_count INTEGER NOT NULL DEFAULT 0,
    instant_count INTEGER NOT NULL DEFAULT 0,
    premiere_avg_views DOUBLE PRECISION NOT NULL DEFAULT 0,
    instant_avg_views DOUBLE PRECISION NOT NULL DEFAULT 0,
    performance_ratio DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    best_times JSONB NOT NULL DEFAULT '[]',      -- [{hour_utc, day_of_week, performance_index}]
    worst_times JSONB NOT NULL DEFAULT '[]',
    avg_delay_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    on_time_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (category_key, date)
);

-- Every API spend, as the quota ledger reserved it.
CREATE TABLE intel_quota_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform TEXT NOT NULL,                     -- youtube, twitch
    bucket TEXT NOT NULL,                       -- youtube: default, search, batch_stats
    operation TEXT NOT NULL,                    -- the API method, e.g. videos.list
    units_used INTEGER NOT NULL CHECK (units_used >= 0),
    units_remaining INTEGER NOT NULL,
    quota_day DATE NOT NULL,                    -- the Pacific day the bucket belongs to
    category_key TEXT,
    run_id TEXT,
    metadata JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX intel_quota_log_platform_time ON intel_quota_log (platform, created_at DESC);
CREATE INDEX intel_quota_log_day ON intel_quota_log (platform, bucket, quota_day);

-- Each analyzer's result per game, as of the latest snapshot it saw: the warm fallback of the
-- hot tier and the input of hourly aggregation ("the analysis valid then").
CREATE TABLE intel_analysis_results (
    analyzer TEXT NOT NULL,
    game_key TEXT NOT NULL,
    as_of TIMESTAMPTZ NOT NULL,                 -- collected_at of the newest snapshot analysed
    data_age_seconds DOUBLE PRECISION NOT NULL, -- age of the oldest input at as_of
    sample_size INTEGER NOT NULL CHECK (sample_size >= 0),
    confidence DOUBLE PRECISION NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    stale BOOLEAN NOT NULL DEFAULT false,       -- the game's latest collection failed
    result JSONB NOT NULL,
    PRIMARY KEY (analyzer, game_key, as_of)
);

-- Months whose archive objects were written and verified; retention reads only this.
CREATE TABLE intel_archive_manifest (
    table_name TEXT NOT NULL,
    month DATE NOT NULL CHECK (extract(day FROM month) = 1),
    object_url TEXT NOT NULL,
    row_count BIGINT NOT NULL CHECK (row_count >= 0),
    size_bytes BIGINT NOT NULL,
    schema_fingerprint TEXT NOT NULL,
    verified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (table_name, month)
);
