"""Hourly metrics: one row per game per UTC hour in the table intel_hourly_metrics.

Each row says what the game's snapshots collected in that hour showed, each video (and live
stream) at its latest snapshot in the hour, together with the viral and format analysis that was
valid at the end of the hour (from `intel_analysis_results`, never from the hot tier). Hours are
recomputable at any time: a re-run replaces the hour's rows with identical ones.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import psycopg

from intel_assets.analyzers.regional import LanguageKey, resolve_languages
from intel_assets.contracts.tables import HOURLY_COLUMNS
from intel_assets.defs.aggregation.common import (
    ANALYSIS_HISTORY_DEPS,
    COLLECTION_DEPS,
    markdown_preview,
)
from intel_assets.freshness import HOURLY_FRESHNESS
from intel_assets.partitions import hourly_partitions
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, frame_rows

DEFAULT_ANALYSIS_MAX_AGE = timedelta(hours=6)
"""An analysis older than this at the end of an hour is not "valid then" (the hot tier's TTL)."""

_VIRAL_FIELDS: dict[str, str] = {
    "viral_count": "viral_video_count",
    "rising_count": "rising_video_count",
    "avg_velocity": "avg_velocity",
    "max_velocity": "max_velocity",
}

# The hourly rollup runs in Postgres, set-based, in one pass over the window's rows: one sort
# numbers each (game, hour, video)'s snapshots latest first, and one aggregate takes the hour's
# figures from those rows (snapshot counts from every row, the rest from each video's latest)
# together with its per-language video counts. The primary key
# (game_key, collected_at, video_id) makes `collected_at` unique within a (game, video), so the
# latest row is never a tie; `view_count DESC NULLS LAST` would break one. Languages were
# resolved when the snapshots were stored; only rows stored before that (`language_source` null,
# found through a partial index) are resolved in Python by regional analysis' rules.
_HOUR = "date_bin('1 hour', collected_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
_WINDOW = "collected_at >= %(start)s AND collected_at < %(end)s"

_LATEST_FIRST = """
ORDER BY game_key, hour_start, video_id, collected_at DESC, view_count DESC NULLS LAST
"""

# The latest unresolved row of a (game, hour, video) is its latest row overall whenever that one
# is unresolved, which is the only case the main query uses it.
_UNRESOLVED = f"""
SELECT DISTINCT ON (game_key, hour_start, video_id) game_key, collected_at, video_id,
    default_audio_language, default_language, title, description
FROM (
    SELECT *, {_HOUR} AS hour_start FROM video_snapshots
    WHERE {_WINDOW} AND language_source IS NULL
) AS unresolved
{_LATEST_FIRST}
"""

# The "C" collation compares bytes: equal values are equal in every collation, the order only
# decides where a group lies, and the sort compares abbreviated keys instead of calling strcoll.
_PICKED = f"""
SELECT game_key, hour_start, video_id, collected_at, view_count, is_short, duration_seconds,
    CASE WHEN like_count IS NOT NULL AND view_count > 0 THEN
        least((like_count + coalesce(comment_count, 0))::float8 / view_count, 1.0)
    END AS engagement,
    language, language_source,
    row_number() OVER (
        PARTITION BY game_key COLLATE "C", hour_start, video_id COLLATE "C"
        ORDER BY collected_at DESC, view_count DESC NULLS LAST
    ) = 1 AS latest
FROM (SELECT *, {_HOUR} AS hour_start FROM video_snapshots WHERE {_WINDOW}) AS in_window
"""

# The language of a latest row stored before collection resolved languages, from the rows
# resolved in Python (`resolve_languages`) and passed as arrays.
_RESOLVED_HERE = """
    CASE WHEN p.language_source IS NULL THEN t.language ELSE p.language END AS language
    FROM picked AS p
    LEFT JOIN unnest(%(t_game)s::text[], %(t_at)s::timestamptz[], %(t_video)s::text[],
        %(t_code)s::text[]) AS t(game_key, collected_at, video_id, language)
        USING (game_key, collected_at, video_id)
"""
_RESOLVED_BEFORE = """
    p.language
    FROM picked AS p
"""

# One aggregate over the rows groups them by (game, hour, language): counts, sums and the number
# of values summed, from which a second aggregate over those few groups takes each hour's figures
# (an average is the sum of its sums over the sum of its counts, as `avg` computes it) and its
# language counts. Hashing each row once, by one key, is what keeps the range's aggregate cheap.
_VIDEO_HOURS = f"""
WITH picked AS ({_PICKED}),
resolved AS (
    SELECT p.game_key, p.hour_start, p.collected_at, p.view_count, p.is_short,
        p.duration_seconds, p.engagement, p.latest,
        {{language}}
),
by_language AS (
    SELECT game_key, hour_start, language,
        count(*) AS snapshot_count,
        max(collected_at) AS last_video_at,
        count(*) FILTER (WHERE latest) AS video_count,
        count(view_count) FILTER (WHERE latest) AS views_n,
        sum(view_count) FILTER (WHERE latest) AS views_sum,
        count(engagement) FILTER (WHERE latest) AS engagement_n,
        sum(engagement) FILTER (WHERE latest) AS engagement_sum,
        count(*) FILTER (WHERE latest AND is_short) AS shorts_count,
        count(view_count) FILTER (WHERE latest AND is_short) AS shorts_views_n,
        sum(view_count) FILTER (WHERE latest AND is_short) AS shorts_views_sum,
        count(view_count) FILTER (WHERE latest AND NOT is_short) AS longform_views_n,
        sum(view_count) FILTER (WHERE latest AND NOT is_short) AS longform_views_sum,
        count(duration_seconds) FILTER (WHERE latest) AS duration_n,
        sum(duration_seconds) FILTER (WHERE latest) AS duration_sum
    FROM resolved
    GROUP BY 1, 2, 3
)
SELECT game_key, hour_start,
    sum(video_count)::bigint AS video_count,
    (sum(views_sum) / nullif(sum(views_n), 0))::float8 AS avg_views,
    coalesce(sum(views_sum), 0)::bigint AS total_views,
    sum(engagement_sum) / nullif(sum(engagement_n), 0) AS avg_engagement,
    sum(shorts_count)::bigint AS shorts_count,
    (sum(shorts_views_sum) / nullif(sum(shorts_views_n), 0))::float8 AS shorts_avg_views,
    (sum(longform_views_sum) / nullif(sum(longform_views_n), 0))::float8 AS longform_avg_views,
    (sum(duration_sum)::numeric / nullif(sum(duration_n), 0))::float8 AS avg_duration_seconds,
    jsonb_object_agg(language, video_count)
        FILTER (WHERE language IS NOT NULL AND video_count > 0)::text AS language_distribution,
    (array_agg(language ORDER BY video_count DESC, language)
        FILTER (WHERE language IS NOT NULL AND video_count > 0))[1] AS dominant_language,
    sum(snapshot_count)::bigint AS snapshot_count,
    max(last_video_at) AS last_video_at
FROM by_language
GROUP BY 1, 2
"""

_STREAM_HOURS = f"""
SELECT game_key, hour_start, count(*) AS twitch_stream_count,
    sum(viewer_count)::bigint AS twitch_total_viewers,
    avg(viewer_count)::float8 AS twitch_avg_viewers, max(last_at) AS last_stream_at,
    sum(snapshots)::bigint AS stream_rows_read
FROM (
    SELECT DISTINCT ON (game_key, hour_start, stream_id) game_key, hour_start, viewer_count,
        count(*) OVER stream AS snapshots, max(collected_at) OVER stream AS last_at
    FROM (
        SELECT game_key, stream_id, collected_at, viewer_count, {_HOUR} AS hour_start
        FROM stream_snapshots WHERE {_WINDOW}
    ) AS in_window
    WINDOW stream AS (PARTITION BY game_key, hour_start, stream_id)
    ORDER BY game_key, hour_start, stream_id, collected_at DESC
) AS latest
GROUP BY 1, 2
"""


@dataclass
class HourInputs:
    """The hour-level aggregates of a window of snapshots, before analyses are joined.

    Attributes:
        videos: One row per (game_key, hour_start) with video snapshots: counts, views,
            engagement, formats, durations, languages, `snapshot_count`, `last_video_at`.
        streams: One row per (game_key, hour_start) with stream snapshots: Twitch counts,
            viewers and `last_stream_at`.
        stream_rows: Stream snapshot rows read.
        resolved_here: Latest rows stored before languages were resolved at collection whose
            language was resolved here.
    """

    videos: pd.DataFrame
    streams: pd.DataFrame
    stream_rows: int
    resolved_here: int


def _frame(cursor: psycopg.Cursor[Any]) -> pd.DataFrame:
    columns = [d.name for d in cursor.description or []]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)


def read_hour_inputs(
    warehouse: PostgresWarehouse,
    start: datetime,
    end: datetime,
    detections: dict[LanguageKey, tuple[str | None, str]] | None = None,
) -> HourInputs:
    """Aggregate the snapshots collected in `[start, end)` per game and UTC hour, in Postgres.

    Each (game, hour, video)'s latest snapshot in the hour counts, with the language its
    collection resolved (`language`); rows stored before languages were resolved at collection
    get theirs here by the same rule (`resolve_languages`).

    Args:
        warehouse: The warehouse to read.
        start: Inclusive start of the window.
        end: Exclusive end of the window.
        detections: Languages already resolved for such rows (`resolve_languages`' cache), so
            a text seen in many hours is detected once per run.
    """
    window: dict[str, Any] = {"start": start, "end": end}
    with warehouse.connection() as conn, conn.cursor() as cur:
        # A week of 10,000 snapshots an hour sorts in memory; more spills to disk.
        cur.execute("SET LOCAL work_mem = '256MB'")
        # The sort is most of the statement and parallel workers share it (each sorts its part
        # of the scan, the leader merges): at the default cost of handing a row over, the
        # planner keeps it in one process even when other cores are idle.
        cur.execute("SET LOCAL parallel_tuple_cost = 0.01")
        cur.execute(_UNRESOLVED, window)
        unresolved = _frame(cur)
        # Only where a language was told: the others stay out of the language counts.
        resolved = unresolved.assign(
            code=resolve_languages(unresolved, detections)["language"]
        ).dropna(subset=["code"])
        language = _RESOLVED_HERE if len(unresolved) else _RESOLVED_BEFORE
        cur.execute(
            _VIDEO_HOURS.replace("{language}", language),
            {
                **window,
                "t_game": resolved["game_key"].to_list(),
                "t_at": resolved["collected_at"].to_list(),
                "t_video": resolved["video_id"].to_list(),
                "t_code": resolved["code"].to_list(),
            },
        )
        videos = _frame(cur)
        cur.execute(_STREAM_HOURS, window)
        streams = _frame(cur)
    stream_rows = int(streams["stream_rows_read"].sum()) if not streams.empty else 0
    return HourInputs(
        videos=videos,
        streams=streams.drop(columns=["stream_rows_read"], errors="ignore"),
        stream_rows=stream_rows,
        resolved_here=len(resolved),
    )


def _analysis_valid_at(
    hours: pd.DataFrame, analyses: pd.DataFrame, analyzer: str, max_age: timedelta
) -> pd.DataFrame:
    """For each (game_key, hour_start), the analyzer's result valid at the end of the hour.

    That is the result with the largest `as_of` before the hour ends (it saw no snapshot of a
    later hour) and no older than `max_age`; `result` is missing where there is none.
    """
    left = hours[["game_key", "hour_start"]].assign(
        hour_end=hours["hour_start"] + pd.Timedelta(hours=1)
    )
    right = analyses.loc[analyses["analyzer"] == analyzer, ["game_key", "as_of", "result"]]
    if right.empty:
        return left.assign(result=None)
    right = right.assign(as_of=pd.to_datetime(right["as_of"], utc=True)).sort_values("as_of")
    merged = pd.merge_asof(
        left.sort_values("hour_end"),
        right,
        left_on="hour_end",
        right_on="as_of",
        by="game_key",
        direction="backward",
        allow_exact_matches=False,
        tolerance=pd.Timedelta(max_age),
    )
    return merged


def compute_hourly_metrics(
    inputs: HourInputs,
    analyses: pd.DataFrame,
    *,
    max_analysis_age: timedelta = DEFAULT_ANALYSIS_MAX_AGE,
) -> pd.DataFrame:
    """The `intel_hourly_metrics` rows of every (game, hour) with snapshots in the input.

    Args:
        inputs: The hours' video and stream aggregates (`read_hour_inputs`).
        analyses: `intel_analysis_results` rows (`analyzer`, `game_key`, `as_of`, `result`
            as a dict) of the `viral` and `format` analyzers that may be valid in those hours.
        max_analysis_age: Oldest an analysis may be at the end of an hour to count.

    Returns:
        One row per game with video or stream snapshots per hour, with `HOURLY_COLUMNS`, sorted
        by hour then game. Averages over no values are 0; `views` and engagement skip videos
        whose counts are missing or hidden; viral figures are 0 and the optimal duration bucket
        missing where no analysis was valid then.
    """
    hours = _hours_of(inputs)
    if hours is None:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in HOURLY_COLUMNS})
    _join_analyses(hours, analyses, max_analysis_age)
    hours["category_key"] = hours["game_key"]
    ordered = hours.sort_values(["hour_start", "category_key"], kind="stable")
    return ordered[[*HOURLY_COLUMNS, "has_viral_analysis"]].reset_index(drop=True)


def _hours_of(inputs: HourInputs) -> pd.DataFrame | None:
    """The video and stream aggregates side by side per (game, hour), counts filled.

    None when the window has neither.
    """
    parts: list[pd.DataFrame] = []
    for part in (inputs.videos, inputs.streams):
        if part.empty:
            continue
        part = part.copy()
        for column in ("hour_start", "last_video_at", "last_stream_at"):
            if column in part.columns:
                part[column] = pd.to_datetime(part[column], utc=True)
        parts.append(part.set_index(["game_key", "hour_start"]))
    if not parts:
        return None
    hours = pd.concat(parts, axis=1).reset_index()
    for column in HOURLY_COLUMNS:
        if column not in hours.columns:
            hours[column] = None
    hours["last_collected_at"] = hours[
        [c for c in ("last_video_at", "last_stream_at") if c in hours.columns]
    ].max(axis=1)
    zero_filled = [
        "video_count", "avg_views", "avg_engagement", "total_views", "shorts_count",
        "shorts_avg_views", "longform_count", "longform_avg_views", "avg_duration_seconds",
        "snapshot_count", "twitch_stream_count", "twitch_total_viewers", "twitch_avg_viewers",
    ]  # fmt: skip
    hours[zero_filled] = hours[zero_filled].astype("float64").fillna(0.0)
    for column in (
        "video_count", "total_views", "shorts_count", "longform_count", "snapshot_count",
        "twitch_stream_count", "twitch_total_viewers",
    ):  # fmt: skip
        hours[column] = hours[column].round().astype("int64")
    hours["longform_count"] = hours["video_count"] - hours["shorts_count"]
    hours["language_distribution"] = hours["language_distribution"].fillna("{}")
    return hours


def _join_analyses(hours: pd.DataFrame, analyses: pd.DataFrame, max_age: timedelta) -> None:
    """Add the viral figures and optimal duration valid at each hour's end to `hours`."""
    viral = _analysis_valid_at(hours, analyses, "viral", max_age)
    viral_results = viral.set_index(["game_key", "hour_start"])["result"]
    keys = pd.MultiIndex.from_frame(hours[["game_key", "hour_start"]])
    aligned = viral_results.reindex(keys)
    for column, field in _VIRAL_FIELDS.items():
        values = [r.get(field, 0) if isinstance(r, dict) else 0 for r in aligned]
        hours[column] = pd.Series(values, index=hours.index, dtype="float64").fillna(0.0)
    hours["viral_count"] = hours["viral_count"].round().astype("int64")
    hours["rising_count"] = hours["rising_count"].round().astype("int64")
    hours["has_viral_analysis"] = [isinstance(r, dict) for r in aligned]

    formats = _analysis_valid_at(hours, analyses, "format", max_age)
    format_results = formats.set_index(["game_key", "hour_start"])["result"].reindex(keys)
    hours["optimal_duration_bucket"] = [
        r.get("optimal_duration_range") if isinstance(r, dict) else None for r in format_results
    ]


class HourlyMetricsConfig(dg.Config):
    """How `hourly_metrics` reads its inputs.

    Attributes:
        analysis_max_age_hours: Oldest (in hours at the end of an hour) an analysis result may
            be to count as valid then; older gives zero viral figures and a metadata note.
    """

    analysis_max_age_hours: float = DEFAULT_ANALYSIS_MAX_AGE.total_seconds() / 3600


def month_chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """`[start, end)` cut at the starts of UTC months, the snapshot tables' partitions.

    Of the snapshot tables' indexes only the partial one of rows stored before languages were
    resolved leads with `collected_at`, so a statement over part of a month partition scans all
    of it: read month by month, a window scans each partition once.
    """
    chunks: list[tuple[datetime, datetime]] = []
    chunk_start = start
    while chunk_start < end:
        month = chunk_start.astimezone(UTC).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        next_month = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
        chunk_end = min(next_month, end)
        chunks.append((chunk_start, chunk_end))
        chunk_start = chunk_end
    return chunks


def _read_analyses(
    warehouse: PostgresWarehouse, start: datetime, end: datetime, max_age: timedelta
) -> pd.DataFrame:
    frame = warehouse.fetch_frame(
        "SELECT analyzer, game_key, as_of, stale, result FROM intel_analysis_results "
        "WHERE analyzer = ANY(%s) AND as_of >= %s AND as_of < %s",
        (["viral", "format"], start - max_age, end),
    )
    if frame.empty:
        return pd.DataFrame(columns=["analyzer", "game_key", "as_of", "stale", "result"])
    return frame


def _window_rows(
    warehouse: PostgresWarehouse, start: datetime, end: datetime, config: HourlyMetricsConfig
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The window's `intel_hourly_metrics` rows, aggregated a UTC month at a time.

    Also returns what was read: video and stream snapshot rows, languages resolved here.
    """
    max_age = timedelta(hours=config.analysis_max_age_hours)
    analyses = _read_analyses(warehouse, start, end, max_age)
    chunks: list[pd.DataFrame] = []
    read = {
        "video_snapshot_rows_read": 0,
        "stream_snapshot_rows_read": 0,
        "languages_resolved_in_rollup": 0,
    }
    detections: dict[LanguageKey, tuple[str | None, str]] = {}
    for chunk_start, chunk_end in month_chunks(start, end):
        inputs = read_hour_inputs(warehouse, chunk_start, chunk_end, detections)
        if len(inputs.videos):
            read["video_snapshot_rows_read"] += int(inputs.videos["snapshot_count"].sum())
        read["stream_snapshot_rows_read"] += inputs.stream_rows
        read["languages_resolved_in_rollup"] += inputs.resolved_here
        chunks.append(compute_hourly_metrics(inputs, analyses, max_analysis_age=max_age))
    return (pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()), read


@dg.asset(
    partitions_def=hourly_partitions,
    deps=[*COLLECTION_DEPS, *ANALYSIS_HISTORY_DEPS],
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"postgres", "pandas"},
    group_name="aggregation",
    description=__doc__,
    freshness_policy=HOURLY_FRESHNESS,
)
def hourly_metrics(
    context: dg.AssetExecutionContext, config: HourlyMetricsConfig, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    """Per game and UTC hour: videos, views, engagement, formats, languages, Twitch, virality.

    Covers the run's whole time window (one hour from the schedule, any range in one run from a
    backfill): aggregates the window's snapshots in Postgres a UTC month at a time, then
    replaces every row of the window in one transaction, so hours without snapshots lose any
    stale rows.
    """
    window = context.partition_time_window
    started = time.monotonic()
    rows, read = _window_rows(warehouse, window.start, window.end, config)
    computed = time.monotonic()
    written = warehouse.replace_rows(
        "intel_hourly_metrics",
        HOURLY_COLUMNS,
        frame_rows(rows, HOURLY_COLUMNS) if not rows.empty else [],
        scope=RowScope(time_column="hour_start", start=window.start, end=window.end),
    )
    finished = time.monotonic()
    without_viral = int((~rows["has_viral_analysis"].astype(bool)).sum()) if not rows.empty else 0
    if without_viral:
        context.log.warning(
            f"{without_viral} game-hours had no viral analysis valid then "
            f"(none within {config.analysis_max_age_hours} h before the hour's end): "
            "their viral figures are 0"
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written),
            "hours_in_window": dg.MetadataValue.int(
                int((window.end - window.start) / timedelta(hours=1))
            ),
            "hours_with_data": dg.MetadataValue.int(
                int(rows["hour_start"].nunique()) if not rows.empty else 0
            ),
            "games": dg.MetadataValue.int(
                int(rows["category_key"].nunique()) if not rows.empty else 0
            ),
            **{name: dg.MetadataValue.int(value) for name, value in read.items()},
            "game_hours_without_viral_analysis": dg.MetadataValue.int(without_viral),
            "window_start": dg.MetadataValue.text(window.start.isoformat()),
            "window_end": dg.MetadataValue.text(window.end.isoformat()),
            "read_and_compute_seconds": dg.MetadataValue.float(round(computed - started, 3)),
            "write_seconds": dg.MetadataValue.float(round(finished - computed, 3)),
            "preview": markdown_preview(rows.drop(columns=["has_viral_analysis"], errors="ignore")),
        }
    )
