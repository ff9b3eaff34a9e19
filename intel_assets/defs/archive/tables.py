"""The archived tables: their declared Arrow schemas and how a month of each is read.

Each table's Parquet schema is declared here, column for column (a test holds it equal to the
Postgres table), so archives of different months share one schema and readers need no project
code: timestamps are UTC microseconds, dates are dates, arrays are lists of strings and JSONB
columns are JSON text.
"""

import contextlib
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa
from psycopg import sql

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
class ArchivedTable:
    """A warehouse table the monthly archive exports.

    Attributes:
        name: Table name, also the `table=` part of the object key.
        time_column: The column a month is selected by (UTC).
        key_columns: The primary key, the order rows are exported in.
        schema: The declared Arrow schema of the Parquet files, in table column order.
        json_columns: Columns stored as JSONB, exported as JSON text.
        partitioned: Whether the table is range-partitioned by month (the snapshot tables).
    """

    name: str
    time_column: str
    key_columns: tuple[str, ...]
    schema: pa.Schema
    json_columns: frozenset[str] = field(default_factory=frozenset)
    partitioned: bool = False

    @property
    def is_date(self) -> bool:
        """Whether the time column is a date (else a UTC timestamp)."""
        return self.schema.field(self.time_column).type == DATE

    def bounds(self, month: date) -> tuple[date | datetime, date | datetime]:
        """The half-open range `[start, end)` of the time column that is `month`."""
        first = month.replace(day=1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        if self.is_date:
            return first, following
        return (
            datetime(first.year, first.month, 1, tzinfo=UTC),
            datetime(following.year, following.month, 1, tzinfo=UTC),
        )

    def object_key(self, month: date) -> str:
        """The Hive-style key of the month's file below the archive root."""
        return f"table={self.name}/month={month:%Y-%m}/part-0.parquet"

    def select(self, where: sql.Composable) -> sql.Composed:
        """SELECT of every declared column (JSONB as text), `where` applied, in key order."""
        columns = [
            sql.SQL("{c}::text AS {c}").format(c=sql.Identifier(f.name))
            if f.name in self.json_columns
            else sql.Identifier(f.name)
            for f in self.schema
        ]
        return sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}").format(
            sql.SQL(", ").join(columns),
            sql.Identifier(self.name),
            where,
            sql.SQL(", ").join(map(sql.Identifier, self.key_columns)),
        )

    def range_condition(self) -> sql.Composed:
        """`time_column >= %s AND time_column < %s`."""
        return sql.SQL("{c} >= %s AND {c} < %s").format(c=sql.Identifier(self.time_column))


VIDEO_SNAPSHOTS = ArchivedTable(
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

STREAM_SNAPSHOTS = ArchivedTable(
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

CHANNEL_SNAPSHOTS = ArchivedTable(
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

HOURLY_METRICS = ArchivedTable(
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

DAILY_METRICS = ArchivedTable(
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

DURATION_PERFORMANCE = ArchivedTable(
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

REGIONAL_PERFORMANCE = ArchivedTable(
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

PREMIERE_PERFORMANCE = ArchivedTable(
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

QUOTA_LOG = ArchivedTable(
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


def _twitch_stats_schema(
    period: str, period_type: pa.DataType, snapshots: pa.DataType, last: str
) -> pa.Schema:
    """The columns every grain of the Twitch statistics has: game, period, statistics, counts."""
    return _schema(
        ("game_key", STR, False),
        (period, period_type, False),
        ("hours_watched", F64, False),
        ("hours_streamed", F64, False),
        ("avg_viewers", F64, False),
        ("avg_channels", F64, False),
        ("viewer_ratio", F64, True),
        ("peak_viewers", I64, False),
        ("peak_channels", I32, False),
        ("unique_streamers", I32, False),
        ("snapshot_count", snapshots, False),
        (last, I32, False),
    )


TWITCH_GAME_STATS = ArchivedTable(
    name="twitch_game_stats",
    time_column="day",
    key_columns=("game_key", "day"),
    schema=_twitch_stats_schema("day", DATE, I32, "collection_count"),
)

TWITCH_GAME_STATS_HOURLY = ArchivedTable(
    name="twitch_game_stats_hourly",
    time_column="hour_start",
    key_columns=("game_key", "hour_start"),
    schema=_twitch_stats_schema("hour_start", TS, I32, "collection_count"),
)

TWITCH_GAME_STATS_MONTHLY = ArchivedTable(
    name="twitch_game_stats_monthly",
    time_column="month",
    key_columns=("game_key", "month"),
    schema=_twitch_stats_schema("month", DATE, I64, "days_covered"),
)

TWITCH_TOP_STREAMERS = ArchivedTable(
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

CHANNEL_GROWTH = ArchivedTable(
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

TWITCH_BROADCASTER_GROWTH = ArchivedTable(
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

TWITCH_CHANNEL_SNAPSHOTS = ArchivedTable(
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

TWITCH_VIDEO_SNAPSHOTS = ArchivedTable(
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

CHANNEL_PROJECTIONS = ArchivedTable(
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

ARCHIVED_TABLES: tuple[ArchivedTable, ...] = (
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

TABLES_BY_NAME: dict[str, ArchivedTable] = {t.name: t for t in ARCHIVED_TABLES}


_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?$")


def _pieces(
    cur: Any, table: ArchivedTable, start: date | datetime, end: date | datetime
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The queries (ADBC `$n` placeholders) that read `[start, end)` in key order, piece by piece.

    ADBC hands a query's whole result over as one batch, so a month is read as one query per
    leading key value (game) and day: each piece is small, and in key order the pieces follow
    one another as the whole month's key order (leading key, then time). A table whose key does
    not start with (leading key, time) is read in one query.
    """
    lead, time_column = table.key_columns[0], table.time_column
    whole = table.select(sql.SQL("{c} >= $1 AND {c} < $2").format(c=sql.Identifier(time_column)))
    if len(table.key_columns) < 2 or table.key_columns[1] != time_column:
        yield whole.as_string(None), (start, end)
        return
    # A loose index scan over the primary key: each next leading value in one index probe.
    values = sql.SQL(
        "WITH RECURSIVE v AS ("
        " (SELECT {l} FROM {t} WHERE {c} >= $1 AND {c} < $2 ORDER BY {l} LIMIT 1)"
        " UNION ALL SELECT (SELECT {l} FROM {t} WHERE {l} > v.{l} AND {c} >= $1 AND {c} < $2"
        " ORDER BY {l} LIMIT 1) FROM v WHERE v.{l} IS NOT NULL"
        ") SELECT {l} FROM v WHERE {l} IS NOT NULL"
    ).format(l=sql.Identifier(lead), t=sql.Identifier(table.name), c=sql.Identifier(time_column))
    cur.execute(values.as_string(None), (start, end))
    leads = [str(v) for v in cur.fetch_arrow_table().column(0).to_pylist()]
    piece = table.select(
        sql.SQL("{l} = $1 AND {c} >= $2 AND {c} < $3").format(
            l=sql.Identifier(lead), c=sql.Identifier(time_column)
        )
    ).as_string(None)
    step = timedelta(days=1)
    for value in leads:
        low = start
        while low < end:
            high = min(low + step, end)  # type: ignore[operator]
            yield piece, (value, low, high)
            low = high


def record_batches(
    conn: psycopg.Connection,
    url: str,
    table: ArchivedTable,
    start: date | datetime,
    end: date | datetime,
    *,
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """The table's rows in `[start, end)` of its time column, as Arrow batches in key order.

    The rows are read as `conn`'s transaction sees them (its snapshot, exported to a second
    connection), through ADBC's PostgreSQL driver: a binary COPY decoded straight into Arrow
    columns in C++, with no Python object per value, one game's day at a time (`_pieces`).
    Pieces are read one ahead of the caller in a thread, so reading overlaps whatever the
    caller does with the previous piece (writing Parquet); they are handed out `batch_rows`
    rows at a time.

    Args:
        conn: An open transaction (REPEATABLE READ where the caller also counts or deletes).
        url: libpq URL of the same database (the second connection's).
        table: What to read.
        start: Inclusive start of the month.
        end: Exclusive end.
        batch_rows: Most rows per batch handed out (and Parquet row group).
    """
    row = conn.execute("SELECT pg_export_snapshot()").fetchone()
    snapshot = str(row[0]) if row else ""
    if not _SNAPSHOT_ID.match(snapshot):
        raise RuntimeError(f"Postgres exported an unexpected snapshot id {snapshot!r}")
    batches: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            with adbc.connect(url, autocommit=True) as reader_conn, reader_conn.cursor() as cur:
                cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                for query, params in _pieces(cur, table, start, end):
                    if stop.is_set():
                        break
                    cur.execute(query, params)
                    for batch in cur.fetch_record_batch():
                        if batch.num_rows:
                            batches.put(batch)
                cur.execute("COMMIT")
            batches.put(None)
        except BaseException as error:  # handed to the caller's thread, which raises it
            batches.put(error)

    worker = threading.Thread(target=read, name=f"archive-read:{table.name}", daemon=True)
    worker.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            declared = pa.RecordBatch.from_arrays(
                [column.cast(f.type) for column, f in zip(item.columns, table.schema, strict=True)],
                schema=table.schema,
            )
            for offset in range(0, declared.num_rows, batch_rows):
                yield declared.slice(offset, batch_rows)
    finally:
        stop.set()
        while worker.is_alive():
            # Unblock a reader waiting to hand over a batch nobody will take.
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.1)
        worker.join()
