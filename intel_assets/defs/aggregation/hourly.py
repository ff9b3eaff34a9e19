"""`hourly_metrics[hour]`: one row per game per UTC hour in `intel_hourly_metrics`.

Each row says what the game's snapshots collected in that hour showed, each video (and live
stream) at its latest snapshot in the hour, together with the viral and format analysis that was
valid at the end of the hour (from `intel_analysis_results`, never from the hot tier). Hours are
recomputable at any time: a re-run replaces the hour's rows with identical ones.
"""

import time
from datetime import datetime, timedelta

import dagster as dg
import pandas as pd

from intel_assets.analyzers.common import engagement_rate, latest_per_video, numeric
from intel_assets.analyzers.regional import normalize_language_code, video_language
from intel_assets.defs.aggregation.common import (
    COLLECTION_DEPS,
    markdown_preview,
    read_snapshots,
)
from intel_assets.freshness import HOURLY_FRESHNESS
from intel_assets.partitions import hourly_partitions
from intel_assets.resources.hot_tier import dumps
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, frame_rows

HOURLY_COLUMNS: tuple[str, ...] = (
    "category_key", "hour_start", "video_count", "avg_views", "avg_engagement", "total_views",
    "viral_count", "rising_count", "avg_velocity", "max_velocity", "shorts_count",
    "shorts_avg_views", "longform_count", "longform_avg_views", "avg_duration_seconds",
    "optimal_duration_bucket", "language_distribution", "dominant_language", "snapshot_count",
    "last_collected_at", "twitch_stream_count", "twitch_total_viewers", "twitch_avg_viewers",
)  # fmt: skip
"""Every column of `intel_hourly_metrics`, in table order."""

HOURLY_VIDEO_INPUTS: tuple[str, ...] = (
    "video_id", "view_count", "like_count", "comment_count", "duration_seconds", "is_short",
    "default_audio_language", "default_language", "title",
)  # fmt: skip
"""The `video_snapshots` columns the hourly metrics are computed from (and `description` of
the rows whose language must be detected, see `read_descriptions`)."""

DEFAULT_ANALYSIS_MAX_AGE = timedelta(hours=6)
"""An analysis older than this at the end of an hour is not "valid then" (the hot tier's TTL)."""

_VIRAL_FIELDS: dict[str, str] = {
    "viral_count": "viral_video_count",
    "rising_count": "rising_video_count",
    "avg_velocity": "avg_velocity",
    "max_velocity": "max_velocity",
}


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _code(value: object) -> object:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def needs_detection(videos: pd.DataFrame) -> pd.Series:
    """Whether each row declares no usable language, so regional analysis reads its text."""
    declared = pd.Series(False, index=videos.index)
    for column in ("default_audio_language", "default_language"):
        codes = videos[column].map(_code)
        known = {c: normalize_language_code(c) is not None for c in codes.dropna().unique()}
        declared |= codes.map(known).fillna(False).astype(bool)
    return ~declared


def video_languages(videos: pd.DataFrame) -> pd.Series:
    """Each video's language as regional analysis resolves it; None where it cannot be told.

    The audio language, else the metadata language, else the language detected in the title and
    description (`regional.video_language`); `en-US` and `en` are one language. Identical
    inputs are resolved once, so a video seen in many hours costs one detection.
    """
    titles = videos["title"] if "title" in videos.columns else pd.Series("", index=videos.index)
    descriptions = (
        videos["description"]
        if "description" in videos.columns
        else pd.Series("", index=videos.index)
    )
    resolved: dict[tuple[object, object, str, str], str | None] = {}
    languages = []
    for audio, default, title, description in zip(
        videos["default_audio_language"].map(_code),
        videos["default_language"].map(_code),
        titles.map(_text),
        descriptions.map(_text),
        strict=True,
    ):
        key = (audio, default, title, description)
        if key not in resolved:
            resolved[key] = video_language(audio, default, title, description)[0]
        languages.append(resolved[key])
    return pd.Series(languages, index=videos.index, dtype=object)


def _latest_per_hour(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Each (game, hour, key)'s newest snapshot in that hour."""
    if frame.empty:
        return frame
    ordered = frame.sort_values(["game_key", "hour_start", key, "collected_at"], kind="stable")
    return ordered.drop_duplicates(["game_key", "hour_start", key], keep="last")


def _video_hours(videos: pd.DataFrame) -> pd.DataFrame:
    """Video metrics per (game_key, hour_start), from each video's latest snapshot in the hour."""
    counts = videos.groupby(["game_key", "hour_start"]).agg(
        snapshot_count=("video_id", "size"), last_video_at=("collected_at", "max")
    )
    latest = pd.concat(
        [latest_per_video(group) for _, group in videos.groupby("hour_start", sort=True)],
        ignore_index=True,
    )
    views = numeric(latest["view_count"])
    is_short = latest["is_short"].astype(bool)
    latest = latest.assign(
        views=views,
        engagement=engagement_rate(latest),
        duration=numeric(latest["duration_seconds"]),
        shorts_views=views.where(is_short),
        longform_views=views.where(~is_short),
        is_short=is_short,
        language=video_languages(latest),
    )
    grouped = latest.groupby(["game_key", "hour_start"])
    metrics = grouped.agg(
        video_count=("video_id", "nunique"),
        avg_views=("views", "mean"),
        total_views=("views", "sum"),
        avg_engagement=("engagement", "mean"),
        shorts_count=("is_short", "sum"),
        shorts_avg_views=("shorts_views", "mean"),
        longform_avg_views=("longform_views", "mean"),
        avg_duration_seconds=("duration", "mean"),
    )
    metrics["longform_count"] = metrics["video_count"] - metrics["shorts_count"]
    # Videos whose language cannot be told are in no language's count (as in regional analysis).
    languages = (
        latest.dropna(subset=["language"])
        .groupby(["game_key", "hour_start", "language"])
        .size()
        .rename("n")
        .reset_index()
    )
    # Most videos first; ties go to the alphabetically first language, so re-runs agree.
    languages = languages.sort_values(
        ["game_key", "hour_start", "n", "language"], ascending=[True, True, False, True]
    )
    by_hour = languages.groupby(["game_key", "hour_start"])
    metrics["dominant_language"] = by_hour["language"].first()
    distributions = {
        key: dumps(dict(sorted(zip(group["language"], group["n"].astype(int), strict=True))))
        for key, group in by_hour
    }
    metrics["language_distribution"] = [distributions.get(key, "{}") for key in metrics.index]
    return metrics.join(counts)


def _stream_hours(streams: pd.DataFrame) -> pd.DataFrame:
    """Twitch demand per (game_key, hour_start), from each stream's latest snapshot in the hour."""
    latest = _latest_per_hour(streams, "stream_id")
    viewers = numeric(latest["viewer_count"])
    metrics = (
        latest.assign(viewers=viewers)
        .groupby(["game_key", "hour_start"])
        .agg(
            twitch_stream_count=("stream_id", "nunique"),
            twitch_total_viewers=("viewers", "sum"),
            twitch_avg_viewers=("viewers", "mean"),
            last_stream_at=("collected_at", "max"),
        )
    )
    return metrics


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
    videos: pd.DataFrame,
    streams: pd.DataFrame,
    analyses: pd.DataFrame,
    *,
    max_analysis_age: timedelta = DEFAULT_ANALYSIS_MAX_AGE,
) -> pd.DataFrame:
    """The `intel_hourly_metrics` rows of every (game, hour) with snapshots in the input.

    Args:
        videos: `video_snapshots` rows (at least `HOURLY_VIDEO_INPUTS`, `game_key`,
            `collected_at` in UTC) of whole hours.
        streams: `stream_snapshots` rows (`game_key`, `collected_at`, `stream_id`,
            `viewer_count`) of the same hours.
        analyses: `intel_analysis_results` rows (`analyzer`, `game_key`, `as_of`, `result`
            as a dict) of the `viral` and `format` analyzers that may be valid in those hours.
        max_analysis_age: Oldest an analysis may be at the end of an hour to count.

    Returns:
        One row per game with video or stream snapshots per hour, with `HOURLY_COLUMNS`, sorted
        by hour then game. Averages over no values are 0; `views` and engagement skip videos
        whose counts are missing or hidden; viral figures are 0 and the optimal duration bucket
        missing where no analysis was valid then.
    """
    parts: list[pd.DataFrame] = []
    if not videos.empty:
        parts.append(_video_hours(videos.assign(hour_start=videos["collected_at"].dt.floor("h"))))
    if not streams.empty:
        parts.append(
            _stream_hours(streams.assign(hour_start=streams["collected_at"].dt.floor("h")))
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in HOURLY_COLUMNS})
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
    hours["language_distribution"] = hours["language_distribution"].fillna("{}")

    viral = _analysis_valid_at(hours, analyses, "viral", max_analysis_age)
    viral_results = viral.set_index(["game_key", "hour_start"])["result"]
    keys = pd.MultiIndex.from_frame(hours[["game_key", "hour_start"]])
    aligned = viral_results.reindex(keys)
    for column, field in _VIRAL_FIELDS.items():
        values = [r.get(field, 0) if isinstance(r, dict) else 0 for r in aligned]
        hours[column] = pd.Series(values, index=hours.index, dtype="float64").fillna(0.0)
    hours["viral_count"] = hours["viral_count"].round().astype("int64")
    hours["rising_count"] = hours["rising_count"].round().astype("int64")
    hours["has_viral_analysis"] = [isinstance(r, dict) for r in aligned]

    formats = _analysis_valid_at(hours, analyses, "format", max_analysis_age)
    format_results = formats.set_index(["game_key", "hour_start"])["result"].reindex(keys)
    hours["optimal_duration_bucket"] = [
        r.get("optimal_duration_range") if isinstance(r, dict) else None for r in format_results
    ]
    hours["category_key"] = hours["game_key"]
    ordered = hours.sort_values(["hour_start", "category_key"], kind="stable")
    return ordered[[*HOURLY_COLUMNS, "has_viral_analysis"]].reset_index(drop=True)


class HourlyMetricsConfig(dg.Config):
    """How `hourly_metrics` reads its inputs.

    Attributes:
        analysis_max_age_hours: Oldest (in hours at the end of an hour) an analysis result may
            be to count as valid then; older gives zero viral figures and a metadata note.
        chunk_hours: Hours read and computed at once; bounds memory during long backfills.
    """

    analysis_max_age_hours: float = DEFAULT_ANALYSIS_MAX_AGE.total_seconds() / 3600
    chunk_hours: int = 24


def read_descriptions(warehouse: PostgresWarehouse, videos: pd.DataFrame) -> pd.Series:
    """The descriptions of the rows that declare no usable language ("" for the others).

    Only those rows need their text for language detection; reading every description of a
    long window would hold far more in memory than the metrics need.
    """
    descriptions = pd.Series("", index=videos.index, dtype=object)
    if videos.empty:
        return descriptions
    wanted = videos.loc[needs_detection(videos), ["game_key", "collected_at", "video_id"]]
    if wanted.empty:
        return descriptions
    found = warehouse.fetch_frame(
        "SELECT v.game_key, v.collected_at, v.video_id, v.description FROM video_snapshots v "
        "JOIN unnest(%s::text[], %s::timestamptz[], %s::text[]) AS k(game_key, collected_at, "
        "video_id) USING (game_key, collected_at, video_id)",
        (
            wanted["game_key"].tolist(),
            [t.to_pydatetime() for t in wanted["collected_at"]],
            wanted["video_id"].tolist(),
        ),
    )
    if found.empty:
        return descriptions
    found["collected_at"] = pd.to_datetime(found["collected_at"], utc=True)
    keyed = wanted.reset_index().merge(found, on=["game_key", "collected_at", "video_id"])
    descriptions.loc[keyed["index"].to_numpy()] = keyed["description"].to_numpy()
    return descriptions


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


@dg.asset(
    partitions_def=hourly_partitions,
    deps=list(COLLECTION_DEPS),
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
    backfill): reads the window's snapshots `chunk_hours` at a time, then replaces every row of
    the window in one transaction, so hours without snapshots lose any stale rows.
    """
    window = context.partition_time_window
    max_age = timedelta(hours=config.analysis_max_age_hours)
    started = time.monotonic()
    analyses = _read_analyses(warehouse, window.start, window.end, max_age)
    chunks: list[pd.DataFrame] = []
    snapshot_rows = 0
    stream_rows = 0
    chunk_start = window.start
    while chunk_start < window.end:
        chunk_end = min(chunk_start + timedelta(hours=config.chunk_hours), window.end)
        videos = read_snapshots(
            warehouse, "video_snapshots", HOURLY_VIDEO_INPUTS, chunk_start, chunk_end
        )
        videos["description"] = read_descriptions(warehouse, videos)
        streams = read_snapshots(
            warehouse, "stream_snapshots", ("stream_id", "viewer_count"), chunk_start, chunk_end
        )
        snapshot_rows += len(videos)
        stream_rows += len(streams)
        chunks.append(compute_hourly_metrics(videos, streams, analyses, max_analysis_age=max_age))
        chunk_start = chunk_end
    rows = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    computed = time.monotonic()
    written = warehouse.replace_rows(
        "intel_hourly_metrics",
        HOURLY_COLUMNS,
        frame_rows(rows, HOURLY_COLUMNS) if not rows.empty else [],
        scope=RowScope(time_column="hour_start", start=window.start, end=window.end),
    )
    finished = time.monotonic()
    hours_in_window = int((window.end - window.start) / timedelta(hours=1))
    without_viral = (
        rows.loc[~rows["has_viral_analysis"].astype(bool), ["category_key", "hour_start"]]
        if not rows.empty
        else pd.DataFrame(columns=["category_key", "hour_start"])
    )
    if len(without_viral):
        context.log.warning(
            f"{len(without_viral)} game-hours had no viral analysis valid then "
            f"(none within {config.analysis_max_age_hours} h before the hour's end): "
            "their viral figures are 0"
        )
    return dg.MaterializeResult(
        metadata={
            "rows_written": dg.MetadataValue.int(written),
            "hours_in_window": dg.MetadataValue.int(hours_in_window),
            "hours_with_data": dg.MetadataValue.int(
                int(rows["hour_start"].nunique()) if not rows.empty else 0
            ),
            "games": dg.MetadataValue.int(
                int(rows["category_key"].nunique()) if not rows.empty else 0
            ),
            "video_snapshot_rows_read": dg.MetadataValue.int(snapshot_rows),
            "stream_snapshot_rows_read": dg.MetadataValue.int(stream_rows),
            "game_hours_without_viral_analysis": dg.MetadataValue.int(len(without_viral)),
            "window_start": dg.MetadataValue.text(window.start.isoformat()),
            "window_end": dg.MetadataValue.text(window.end.isoformat()),
            "read_and_compute_seconds": dg.MetadataValue.float(round(computed - started, 3)),
            "write_seconds": dg.MetadataValue.float(round(finished - computed, 3)),
            "preview": markdown_preview(rows.drop(columns=["has_viral_analysis"], errors="ignore")),
        }
    )
