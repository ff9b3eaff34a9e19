"""Every warehouse table's columns, in table order, and the Arrow schema the archive writes.

A table's Arrow schema is its contract: the column list that writers COPY, rollups select, the
archive exports and the read API serves is `Table.columns`, read off the schema, so the two can
never disagree. Timestamps are UTC microseconds, dates are dates, arrays are lists of strings
and JSONB columns are JSON text (a test holds each schema equal to its Postgres table).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

STR = pa.string()
I32 = pa.int32()
I64 = pa.int64()
F64 = pa.float64()
BOOL = pa.bool_()
TS = pa.timestamp("us", tz="UTC")
DATE = pa.date32()
STRS = pa.list_(pa.string())
JSON = pa.string()


def _schema(*columns: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, kind, nullable=nullable) for name, kind, nullable in columns])


@dataclass(frozen=True)
class Table:
    """A warehouse table other stages and tools read.

    Attributes:
        name: Table name in Postgres (and the `table=` part of its archive's object keys).
        time_column: The column a period (hour, day, month) is selected by (UTC).
        key_columns: The primary key, the order rows are exported in.
        schema: The Arrow schema of the table, in table column order.
        json_columns: Columns stored as JSONB (JSON text in Arrow).
        partitioned: Whether the table is range-partitioned by month (the snapshot tables).
    """

    name: str
    time_column: str
    key_columns: tuple[str, ...]
    schema: pa.Schema
    json_columns: frozenset[str] = field(default_factory=frozenset)
    partitioned: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column, in table order."""
        return tuple(self.schema.names)


VIDEO_SNAPSHOTS = Table(
    name="video_snapshots",
    time_column="collected_at",
    key_columns=("game_key", "collected_at", "video_id"),
    partitioned=True,
    schema=_schema(
        ("video_id", STR, False),
        ("game_key", STR, False),
        ("collected_at", TS, False),
        ("collection_id", STR, False),
        ("source", STR, False),
        ("title", STR, False),
        ("description", STR, False),
        ("channel_id", STR, False),
        ("channel_title", STR, True),
        ("published_at", TS, False),
        ("duration_seconds", I32, True),
        ("is_short", BOOL, False),
        ("view_count", I64, True),
        ("like_count", I64, True),
        ("comment_count", I64, True),
        ("default_audio_language", STR, True),
        ("default_language", STR, True),
        ("live_state", STR, False),
        ("is_premiere", BOOL, True),
        ("scheduled_start", TS, True),
        ("actual_start", TS, True),
        ("actual_end", TS, True),
        ("concurrent_viewers", I64, True),
        ("tags", STRS, False),
        ("topic_categories", STRS, False),
        ("category_id", STR, True),
        ("definition", STR, True),
        ("caption", BOOL, True),
        ("licensed_content", BOOL, True),
        ("made_for_kids", BOOL, True),
        ("has_paid_product_placement", BOOL, True),
        ("localization_languages", STRS, False),
        ("language", STR, True),
        ("language_source", STR, True),
    ),
)
"""`video_snapshots`: one row per video per collection."""

STREAM_SNAPSHOTS = Table(
    name="stream_snapshots",
    time_column="collected_at",
    key_columns=("game_key", "collected_at", "stream_id"),
    partitioned=True,
    schema=_schema(
        ("stream_id", STR, False),
        ("user_id", STR, False),
        ("user_login", STR, True),
        ("user_name", STR, True),
        ("game_key", STR, False),
        ("twitch_game_id", STR, False),
        ("collected_at", TS, False),
        ("collection_id", STR, False),
        ("viewer_count", I32, False),
        ("language", STR, True),
        ("started_at", TS, False),
        ("title", STR, False),
        ("tags", STRS, False),
        ("is_mature", BOOL, True),
    ),
)
"""`stream_snapshots`: one row per live stream per collection."""

CHANNEL_SNAPSHOTS = Table(
    name="channel_snapshots",
    time_column="collected_at",
    key_columns=("game_key", "collected_at", "channel_id"),
    partitioned=True,
    schema=_schema(
        ("channel_id", STR, False),
        ("game_key", STR, False),
        ("collected_at", TS, False),
        ("collection_id", STR, False),
        ("title", STR, True),
        ("published_at", TS, True),
        ("country", STR, True),
        ("subscriber_count", I64, True),
        ("video_count", I64, True),
        ("view_count", I64, True),
        ("fetched_at", TS, True),
    ),
)
"""`channel_snapshots`: one row per channel per collection; `fetched_at` is when its counts
were fetched (the cache can make it earlier than `collected_at`)."""

HOURLY_METRICS = Table(
    name="intel_hourly_metrics",
    time_column="hour_start",
    key_columns=("category_key", "hour_start"),
    json_columns=frozenset({"language_distribution"}),
    schema=_schema(
        ("category_key", STR, False),
        ("hour_start", TS, False),
        ("video_count", I32, False),
        ("avg_views", F64, False),
        ("avg_engagement", F64, False),
        ("total_views", I64, False),
        ("viral_count", I32, False),
        ("rising_count", I32, False),
        ("avg_velocity", F64, False),
        ("max_velocity", F64, False),
        ("shorts_count", I32, False),
        ("shorts_avg_views", F64, False),
        ("longform_count", I32, False),
        ("longform_avg_views", F64, False),
        ("avg_duration_seconds", F64, False),
        ("optimal_duration_bucket", STR, True),
        ("language_distribution", JSON, False),
        ("dominant_language", STR, True),
        ("snapshot_count", I32, False),
        ("last_collected_at", TS, True),
        ("twitch_stream_count", I32, False),
        ("twitch_total_viewers", I64, False),
        ("twitch_avg_viewers", F64, False),
    ),
)
"""`intel_hourly_metrics`: one row per game and UTC hour (`hourly_metrics`)."""

DAILY_METRICS = Table(
    name="intel_daily_metrics",
    time_column="date",
    key_columns=("category_key", "date"),
    schema=_schema(
        ("category_key", STR, False),
        ("date", DATE, False),
        ("total_videos_seen", I32, False),
        ("peak_viral_count", I32, False),
        ("avg_viral_count", F64, False),
        ("views_trend", F64, False),
        ("viral_trend", F64, False),
        ("engagement_trend", F64, False),
        ("best_hour_utc", I32, True),
        ("worst_hour_utc", I32, True),
        ("peak_views_hour_utc", I32, True),
        ("shorts_performance_ratio", F64, False),
        ("optimal_duration_range", STR, True),
        ("dominant_language", STR, True),
        ("language_diversity_score", F64, False),
        ("avg_views", F64, False),
        ("avg_engagement", F64, False),
        ("total_views", I64, False),
        ("hours_covered", I32, False),
    ),
)
"""`intel_daily_metrics`: one row per game and UTC day (`daily_rollup`)."""

DURATION_PERFORMANCE = Table(
    name="intel_duration_performance",
    time_column="date",
    key_columns=("category_key", "date", "bucket_label"),
    schema=_schema(
        ("category_key", STR, False),
        ("date", DATE, False),
        ("bucket_label", STR, False),
        ("bucket_min_seconds", I32, False),
        ("bucket_max_seconds", I32, False),
        ("video_count", I32, False),
        ("avg_views", F64, False),
        ("avg_engagement", F64, False),
        ("total_views", I64, False),
        ("performance_index", F64, False),
    ),
)
"""`intel_duration_performance`: one row per game, day and duration bucket."""

REGIONAL_PERFORMANCE = Table(
    name="intel_regional_performance",
    time_column="date",
    key_columns=("category_key", "date", "language_code"),
    schema=_schema(
        ("category_key", STR, False),
        ("date", DATE, False),
        ("language_code", STR, False),
        ("youtube_video_count", I32, False),
        ("youtube_avg_views", F64, False),
        ("youtube_total_views", I64, False),
        ("twitch_stream_count", I32, False),
        ("twitch_avg_viewers", F64, False),
        ("twitch_total_viewers", I64, False),
        ("competition_score", F64, False),
        ("opportunity_score", F64, False),
        ("market_share_percent", F64, False),
    ),
)
"""`intel_regional_performance`: one row per game, day and language."""

PREMIERE_PERFORMANCE = Table(
    name="intel_premiere_performance",
    time_column="date",
    key_columns=("category_key", "date"),
    json_columns=frozenset({"best_times", "worst_times"}),
    schema=_schema(
        ("category_key", STR, False),
        ("date", DATE, False),
        ("premiere_count", I32, False),
        ("instant_count", I32, False),
        ("premiere_avg_views", F64, False),
        ("instant_avg_views", F64, False),
        ("performance_ratio", F64, False),
        ("best_times", JSON, False),
        ("worst_times", JSON, False),
        ("avg_delay_seconds", F64, False),
        ("on_time_percent", F64, False),
    ),
)
"""`intel_premiere_performance`: one row per game and day."""

QUOTA_LOG = Table(
    name="intel_quota_log",
    time_column="created_at",
    key_columns=("id",),
    json_columns=frozenset({"metadata"}),
    schema=_schema(
        ("id", I64, False),
        ("platform", STR, False),
        ("bucket", STR, False),
        ("operation", STR, False),
        ("units_used", I32, False),
        ("units_remaining", I32, False),
        ("quota_day", DATE, False),
        ("category_key", STR, True),
        ("run_id", STR, True),
        ("metadata", JSON, False),
        ("created_at", TS, False),
        ("reservation_id", STR, True),
    ),
)
"""`intel_quota_log`: every API spend (`id` is an identity column Postgres assigns)."""

STAT_COLUMNS: tuple[str, ...] = (
    "hours_watched", "hours_streamed", "avg_viewers", "avg_channels", "viewer_ratio",
    "peak_viewers", "peak_channels", "unique_streamers",
)  # fmt: skip
"""The statistics every grain of the Twitch statistics has (TwitchTracker's definitions)."""

_STAT_TYPES: Mapping[str, tuple[pa.DataType, bool]] = {
    "hours_watched": (F64, False),
    "hours_streamed": (F64, False),
    "avg_viewers": (F64, False),
    "avg_channels": (F64, False),
    "viewer_ratio": (F64, True),
    "peak_viewers": (I64, False),
    "peak_channels": (I32, False),
    "unique_streamers": (I32, False),
}


def _twitch_stats_schema(
    period: str, period_type: pa.DataType, snapshots: pa.DataType, last: str
) -> pa.Schema:
    """The columns every grain of the Twitch statistics has: game, period, statistics, counts."""
    return _schema(
        ("game_key", STR, False),
        (period, period_type, False),
        *((name, *_STAT_TYPES[name]) for name in STAT_COLUMNS),
        ("snapshot_count", snapshots, False),
        (last, I32, False),
    )


TWITCH_GAME_STATS = Table(
    name="twitch_game_stats",
    time_column="day",
    key_columns=("game_key", "day"),
    schema=_twitch_stats_schema("day", DATE, I32, "collection_count"),
)
"""`twitch_game_stats`: one row per game and UTC day."""

TWITCH_GAME_STATS_HOURLY = Table(
    name="twitch_game_stats_hourly",
    time_column="hour_start",
    key_columns=("game_key", "hour_start"),
    schema=_twitch_stats_schema("hour_start", TS, I32, "collection_count"),
)
"""`twitch_game_stats_hourly`: one row per game and UTC hour."""

TWITCH_GAME_STATS_MONTHLY = Table(
    name="twitch_game_stats_monthly",
    time_column="month",
    key_columns=("game_key", "month"),
    schema=_twitch_stats_schema("month", DATE, I64, "days_covered"),
)
"""`twitch_game_stats_monthly`: one row per game and month (the days summed)."""

TWITCH_TOP_STREAMERS = Table(
    name="twitch_game_top_streamers",
    time_column="day",
    key_columns=("game_key", "day", "rank"),
    schema=_schema(
        ("game_key", STR, False),
        ("day", DATE, False),
        ("rank", I32, False),
        ("user_id", STR, False),
        ("user_login", STR, True),
        ("user_name", STR, True),
        ("hours_watched", F64, False),
        ("hours_streamed", F64, False),
        ("avg_viewers", F64, False),
        ("peak_viewers", I32, False),
    ),
)
"""`twitch_game_top_streamers`: the day's ten streamers with the most hours watched per game."""

CHANNEL_GROWTH = Table(
    name="channel_growth",
    time_column="day",
    key_columns=("game_key", "day", "channel_id"),
    schema=_schema(
        ("game_key", STR, False),
        ("day", DATE, False),
        ("channel_id", STR, False),
        ("title", STR, True),
        ("fetched_at", TS, False),
        ("subscriber_count", I64, True),
        ("view_count", I64, True),
        ("video_count", I64, True),
        *((f"{count}_change_{days}d", I64, True)
          for count in ("subscribers", "views", "videos") for days in (1, 7, 30)),
        ("fetched_at_1d", TS, True),
        ("fetched_at_7d", TS, True),
        ("fetched_at_30d", TS, True),
        ("subscribers_growth_7d", F64, True),
        ("rank_7d_absolute", I32, True),
        ("rank_7d_relative", I32, True),
    ),
)  # fmt: skip
"""`channel_growth`: YouTube channels per game and day and their growth."""

TWITCH_BROADCASTER_GROWTH = Table(
    name="twitch_broadcaster_growth",
    time_column="day",
    key_columns=("game_key", "day", "user_id"),
    schema=_schema(
        ("game_key", STR, False),
        ("day", DATE, False),
        ("user_id", STR, False),
        ("user_login", STR, True),
        ("user_name", STR, True),
        ("hours_streamed", F64, False),
        ("hours_watched", F64, False),
        ("avg_viewers", F64, False),
        ("peak_viewers", I32, False),
        ("snapshot_count", I32, False),
        *((f"{figure}_change_{days}d", F64, True)
          for figure in ("hours_streamed", "hours_watched", "avg_viewers") for days in (1, 7, 30)),
        ("rank_hours_watched", I32, False),
        ("rank_7d_hours_watched", I32, True),
    ),
)  # fmt: skip
"""`twitch_broadcaster_growth`: Twitch broadcasters per game and day, their hours and growth."""

TWITCH_CHANNEL_SNAPSHOTS = Table(
    name="twitch_channel_snapshots",
    time_column="collected_at",
    key_columns=("game_key", "collected_at", "broadcaster_id"),
    schema=_schema(
        ("game_key", STR, False),
        ("collected_at", TS, False),
        ("collection_id", STR, False),
        ("broadcaster_id", STR, False),
        ("broadcaster_login", STR, True),
        ("broadcaster_name", STR, True),
        ("broadcaster_language", STR, True),
        ("twitch_game_id", STR, True),
        ("twitch_game_name", STR, True),
        ("title", STR, False),
        ("tags", STRS, False),
        ("content_classification_labels", STRS, False),
        ("is_branded_content", BOOL, True),
        ("top_rank", I32, False),
    ),
)
"""`twitch_channel_snapshots`: the top broadcasters' channel details per collection."""

TWITCH_VIDEO_SNAPSHOTS = Table(
    name="twitch_video_snapshots",
    time_column="collected_at",
    key_columns=("game_key", "collected_at", "video_id"),
    schema=_schema(
        ("game_key", STR, False),
        ("collected_at", TS, False),
        ("collection_id", STR, False),
        ("video_id", STR, False),
        ("stream_id", STR, True),
        ("user_id", STR, False),
        ("user_login", STR, True),
        ("user_name", STR, True),
        ("title", STR, False),
        ("created_at", TS, False),
        ("published_at", TS, True),
        ("view_count", I64, True),
        ("language", STR, True),
        ("video_type", STR, True),
        ("duration_seconds", I32, False),
    ),
)
"""`twitch_video_snapshots`: the top broadcasters' past broadcasts per collection."""

CHANNEL_PROJECTIONS = Table(
    name="channel_projections",
    time_column="day",
    key_columns=("game_key", "day", "channel_id"),
    schema=_schema(
        ("game_key", STR, False),
        ("day", DATE, False),
        ("channel_id", STR, False),
        ("history_days", I32, False),
        ("first_fetched_at", TS, True),
        ("last_fetched_at", TS, True),
        ("subscriber_count", I64, True),
        ("subscribers_per_day", F64, True),
        ("subscribers_per_day_stderr", F64, True),
        ("r_squared", F64, True),
        ("projected_subscribers_30d", F64, True),
        ("projected_subscribers_30d_low", F64, True),
        ("projected_subscribers_30d_high", F64, True),
    ),
)
"""`channel_projections`: each channel's subscribers projected 30 days ahead, with an interval."""

ARCHIVED: tuple[Table, ...] = (
    VIDEO_SNAPSHOTS,
    STREAM_SNAPSHOTS,
    CHANNEL_SNAPSHOTS,
    HOURLY_METRICS,
    DAILY_METRICS,
    DURATION_PERFORMANCE,
    REGIONAL_PERFORMANCE,
    PREMIERE_PERFORMANCE,
    QUOTA_LOG,
    TWITCH_GAME_STATS,
    TWITCH_GAME_STATS_HOURLY,
    TWITCH_TOP_STREAMERS,
    TWITCH_GAME_STATS_MONTHLY,
    CHANNEL_GROWTH,
    TWITCH_BROADCASTER_GROWTH,
    TWITCH_CHANNEL_SNAPSHOTS,
    TWITCH_VIDEO_SNAPSHOTS,
    CHANNEL_PROJECTIONS,
)
"""Every table the monthly archive writes, snapshots first."""

# The column lists below are read off the schemas: each is spelled nowhere else.
VIDEO_COLUMNS = VIDEO_SNAPSHOTS.columns
"""Columns of `video_snapshots`, in table order (the videos snapshot frame)."""
STREAM_COLUMNS = STREAM_SNAPSHOTS.columns
"""Columns of `stream_snapshots`, in table order (the streams snapshot frame)."""
CHANNEL_COLUMNS = CHANNEL_SNAPSHOTS.columns
"""Columns of `channel_snapshots`, in table order, as the YouTube collection writes them."""
CHANNEL_FRAME_COLUMNS = tuple(c for c in CHANNEL_COLUMNS if c != "fetched_at")
"""Columns of the channels snapshot frame analyzers read (`fetched_at` is the cache's)."""
HOURLY_COLUMNS = HOURLY_METRICS.columns
DAILY_COLUMNS = DAILY_METRICS.columns
DURATION_COLUMNS = DURATION_PERFORMANCE.columns
REGIONAL_COLUMNS = REGIONAL_PERFORMANCE.columns
PREMIERE_COLUMNS = PREMIERE_PERFORMANCE.columns
QUOTA_LOG_COLUMNS = tuple(c for c in QUOTA_LOG.columns if c != "id")
"""Columns of `intel_quota_log` a spend writes (Postgres assigns `id`)."""
DAILY_STATS_COLUMNS = TWITCH_GAME_STATS.columns
HOURLY_STATS_COLUMNS = TWITCH_GAME_STATS_HOURLY.columns
MONTHLY_STATS_COLUMNS = TWITCH_GAME_STATS_MONTHLY.columns
TOP_STREAMER_COLUMNS = TWITCH_TOP_STREAMERS.columns
CHANNEL_GROWTH_COLUMNS = CHANNEL_GROWTH.columns
BROADCASTER_GROWTH_COLUMNS = TWITCH_BROADCASTER_GROWTH.columns
"""Columns of `twitch_broadcaster_growth`, in table order."""
PROJECTION_COLUMNS = CHANNEL_PROJECTIONS.columns
"""Columns of `channel_projections`, in table order."""
TWITCH_CHANNEL_COLUMNS = TWITCH_CHANNEL_SNAPSHOTS.columns
"""Columns of `twitch_channel_snapshots`, in table order."""
TWITCH_VIDEO_COLUMNS = TWITCH_VIDEO_SNAPSHOTS.columns
"""Columns of `twitch_video_snapshots`, in table order."""

SnapshotSource = Literal["videos", "streams", "channels"]
"""The snapshot frames an analyzer may read."""

SNAPSHOT_FRAME_COLUMNS: Mapping[SnapshotSource, tuple[str, ...]] = {
    "videos": VIDEO_COLUMNS,
    "streams": STREAM_COLUMNS,
    "channels": CHANNEL_FRAME_COLUMNS,
}
"""The columns of each snapshot frame, in table order."""

SNAPSHOT_TABLES: Mapping[SnapshotSource, str] = {
    "videos": VIDEO_SNAPSHOTS.name,
    "streams": STREAM_SNAPSHOTS.name,
    "channels": CHANNEL_SNAPSHOTS.name,
}
"""The table each snapshot frame is read from."""

# Tables of the pipeline's own state: not archived, so they have no Arrow schema.
ANALYSIS_RESULTS_TABLE = "intel_analysis_results"
ANALYSIS_RESULTS_COLUMNS: tuple[str, ...] = (
    "analyzer", "game_key", "as_of", "data_age_seconds", "sample_size", "confidence", "stale",
    "result",
)  # fmt: skip
"""Columns of `intel_analysis_results` (analysis history), in table order."""

COLLECTION_STATE_TABLE = "intel_collection_state"
COLLECTION_STATE_COLUMNS: tuple[str, ...] = (
    "game_key", "source", "last_collected_at", "last_collection_id", "last_content_hash",
    "unchanged_streak", "last_row_count", "last_failure_at", "last_error", "failures_in_row",
)  # fmt: skip
"""Columns of `intel_collection_state` (one row per game and source), in table order."""

ARCHIVE_MANIFEST_TABLE = "intel_archive_manifest"
ARCHIVE_MANIFEST_COLUMNS: tuple[str, ...] = (
    "table_name", "month", "object_url", "row_count", "size_bytes", "schema_fingerprint",
    "verified_at",
)  # fmt: skip
"""Columns of `intel_archive_manifest` (one row per verified archive month), in table order."""

ARCHIVE_PARTS_TABLE = "intel_archive_parts"
ARCHIVE_PARTS_COLUMNS: tuple[str, ...] = (
    "table_name", "day", "object_url", "row_count", "size_bytes", "schema_fingerprint",
    "verified_at",
)  # fmt: skip
"""Columns of `intel_archive_parts` (one verified day part per snapshot table and day)."""
