"""`daily_rollup[day]`: one row per game per UTC day in `intel_daily_metrics`.

What the columns mean and where each comes from:

- From the day's hourly rows (`intel_hourly_metrics`): `hours_covered` (hours with a row),
  `peak_viral_count` and `avg_viral_count` (max and mean of the hourly viral counts),
  `best_hour_utc` / `worst_hour_utc` (the hour with the highest / lowest average views among
  hours with videos) and `peak_views_hour_utc` (the hour with the most total views); ties go to
  the earlier hour.
- From the day's snapshots, because hourly rows count a video once per hour it was seen and
  cannot say how many distinct videos there were: `total_videos_seen` (distinct videos),
  `avg_views`, `total_views` and `avg_engagement` (each video at its latest snapshot of the
  day), and through the analyzers run on the day's snapshots `shorts_performance_ratio` and
  `optimal_duration_range` (format analysis; 1.0 and missing when undefined) and
  `dominant_language` / `language_diversity_score` (regional analysis: the language of most
  videos, and the normalised entropy of the language shares, 0 for one language and 1 for an
  even spread).
- From the previous day's stored row (a self-dependency): `views_trend`, `viral_trend` and
  `engagement_trend`, the percent change of `avg_views`, `avg_viral_count` and
  `avg_engagement` against it; 0 where there is no previous row or its value is 0.
"""

import time
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from intel_assets.analyzers import format as format_analysis
from intel_assets.analyzers import regional as regional_analysis
from intel_assets.analyzers.base import AnalyzerInputs
from intel_assets.analyzers.common import engagement_rate, latest_per_video, numeric
from intel_assets.contracts.tables import (
    CHANNEL_FRAME_COLUMNS,
    DAILY_COLUMNS,
    HOURLY_COLUMNS,
    STREAM_COLUMNS,
    VIDEO_COLUMNS,
)
from intel_assets.defs.aggregation.common import (
    COLLECTION_DEPS,
    markdown_preview,
    read_snapshots,
)
from intel_assets.freshness import DAILY_FRESHNESS
from intel_assets.partitions import daily_partitions
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, frame_rows


class DaySnapshots:
    """One UTC day of snapshots in the warehouse, read one game at a time.

    Only one game's day is in memory at once (the analyzers need every column, descriptions
    included), however many games there are.
    """

    def __init__(self, warehouse: PostgresWarehouse, day: date) -> None:
        """Find the games with snapshots that day (their rows are read on demand)."""
        self.warehouse = warehouse
        self.day = day
        self.start = pd.Timestamp(day, tz="UTC").to_pydatetime()
        self.end = self.start + timedelta(days=1)
        self.rows_read = 0
        found = warehouse.fetch_dicts(
            "SELECT DISTINCT game_key FROM ("
            " SELECT game_key FROM video_snapshots WHERE collected_at >= %s AND collected_at < %s"
            " UNION ALL"
            " SELECT game_key FROM stream_snapshots WHERE collected_at >= %s AND collected_at < %s"
            " UNION ALL"
            " SELECT game_key FROM channel_snapshots WHERE collected_at >= %s AND collected_at < %s"
            ") AS seen ORDER BY 1",
            (self.start, self.end) * 3,
        )
        self.games: list[str] = [str(row["game_key"]) for row in found]

    def inputs(self, game_key: str) -> AnalyzerInputs:
        """The analyzers' input for one game: its snapshots of the day, as of the newest."""
        frames = {
            name: read_snapshots(self.warehouse, table, columns, self.start, self.end, game_key)
            for name, table, columns in (
                ("videos", "video_snapshots", VIDEO_COLUMNS),
                ("streams", "stream_snapshots", STREAM_COLUMNS),
                ("channels", "channel_snapshots", CHANNEL_FRAME_COLUMNS),
            )
        }
        self.rows_read += sum(len(frame) for frame in frames.values())
        if all(frame.empty for frame in frames.values()):
            # Hourly rows without snapshots (pruned since): nothing to analyse as of the day's end.
            return AnalyzerInputs.from_frames(game_key, as_of=self.end - timedelta(microseconds=1))
        return AnalyzerInputs.from_frames(
            game_key,
            videos=frames["videos"],
            streams=frames["streams"],
            channels=frames["channels"],
        )


def _percent_change(current: float, previous: float | None) -> float:
    if previous is None or pd.isna(previous) or previous == 0:
        return 0.0
    return (current - previous) / previous * 100.0


def _hour_of(hours: pd.DataFrame, column: str, *, highest: bool) -> int | None:
    """The UTC hour whose `column` is highest (or lowest); the earlier hour on ties."""
    if hours.empty:
        return None
    ordered = hours.sort_values([column, "hour_start"], ascending=[not highest, True])
    return int(pd.Timestamp(ordered["hour_start"].iloc[0]).tz_convert("UTC").hour)


def _daily_row(
    game: str,
    hourly: pd.DataFrame,
    day: DaySnapshots,
    before: Mapping[str, float],
) -> dict[str, Any]:
    """One game's `intel_daily_metrics` row of the day (`before`: its previous day's row)."""
    hours = hourly[hourly["category_key"] == game]
    with_videos = hours[hours["video_count"] > 0]
    inputs = day.inputs(game)
    latest = latest_per_video(inputs.videos)
    views = numeric(latest["view_count"]) if not latest.empty else pd.Series(dtype=float)
    engagement = engagement_rate(latest) if not latest.empty else pd.Series(dtype=float)
    formats = format_analysis.analyze(inputs)
    languages = regional_analysis.analyze(inputs)
    avg_views = float(views.mean()) if views.notna().any() else 0.0
    avg_engagement = float(engagement.mean()) if engagement.notna().any() else 0.0
    viral = hours["viral_count"].astype(float)
    avg_viral = float(viral.mean()) if len(viral) else 0.0
    return {
        "category_key": game,
        "date": day.day,
        "total_videos_seen": int(latest["video_id"].nunique()) if len(latest) else 0,
        "peak_viral_count": int(viral.max()) if len(viral) else 0,
        "avg_viral_count": avg_viral,
        "views_trend": _percent_change(avg_views, before.get("avg_views")),
        "viral_trend": _percent_change(avg_viral, before.get("avg_viral_count")),
        "engagement_trend": _percent_change(avg_engagement, before.get("avg_engagement")),
        "best_hour_utc": _hour_of(with_videos, "avg_views", highest=True),
        "worst_hour_utc": _hour_of(with_videos, "avg_views", highest=False),
        "peak_views_hour_utc": _hour_of(with_videos, "total_views", highest=True),
        "shorts_performance_ratio": formats.shorts_performance_ratio or 1.0,
        "optimal_duration_range": formats.optimal_duration_range,
        "dominant_language": languages.dominant_language,
        "language_diversity_score": languages.language_diversity_score,
        "avg_views": avg_views,
        "avg_engagement": avg_engagement,
        "total_views": int(views.sum()) if views.notna().any() else 0,
        "hours_covered": len(hours),
    }


def compute_daily_rollup(
    hourly: pd.DataFrame,
    day: DaySnapshots,
    previous: Mapping[str, Mapping[str, float]],
) -> pd.DataFrame:
    """The `intel_daily_metrics` rows of one day (see the module docstring for each column).

    Args:
        hourly: The day's `intel_hourly_metrics` rows (`HOURLY_COLUMNS`).
        day: The day's snapshots.
        previous: The previous day's stored rows by game: `avg_views`, `avg_viral_count`,
            `avg_engagement`.

    Returns:
        One row per game with hourly rows or snapshots that day, with `DAILY_COLUMNS`.
    """
    games = sorted(set(hourly["category_key"].astype(str)) | set(day.games))
    rows = [_daily_row(game, hourly, day, previous.get(game, {})) for game in games]
    frame = pd.DataFrame(rows, columns=list(DAILY_COLUMNS))
    for column in ("best_hour_utc", "worst_hour_utc", "peak_views_hour_utc"):
        # Whole hours or None (object dtype: a float column would turn 5 into 5.0).
        frame[column] = pd.Series(
            [None if pd.isna(v) else int(v) for v in frame[column]], index=frame.index, dtype=object
        )
    return frame


def _read_hourly(warehouse: PostgresWarehouse, day: date) -> pd.DataFrame:
    start = pd.Timestamp(day, tz="UTC").to_pydatetime()
    frame = warehouse.fetch_frame(
        "SELECT * FROM intel_hourly_metrics WHERE hour_start >= %s AND hour_start < %s",
        (start, start + timedelta(days=1)),
    )
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in HOURLY_COLUMNS})
    return frame


def _read_previous(warehouse: PostgresWarehouse, day: date) -> dict[str, dict[str, float]]:
    rows = warehouse.fetch_dicts(
        "SELECT category_key, avg_views, avg_viral_count, avg_engagement "
        "FROM intel_daily_metrics WHERE date = %s",
        (day - timedelta(days=1),),
    )
    return {str(r.pop("category_key")): r for r in rows}


@dg.asset(
    partitions_def=daily_partitions,
    deps=[
        *COLLECTION_DEPS,
        dg.AssetDep("hourly_metrics"),
        dg.AssetDep(
            "daily_rollup",
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1),
        ),
    ],
    kinds={"postgres", "pandas"},
    group_name="aggregation",
    freshness_policy=DAILY_FRESHNESS,
)
def daily_rollup(
    context: dg.AssetExecutionContext, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    """Per game and UTC day: videos, views, engagement, virality, best hours, formats, languages.

    Rolled up from the day's hourly rows and snapshots, with trends against the previous day's
    stored row (materialize days in order: a day's trends read the day before). Replaces the
    day's rows in one transaction.
    """
    day = context.partition_time_window.start.date()
    started = time.monotonic()
    hourly = _read_hourly(warehouse, day)
    snapshots = DaySnapshots(warehouse, day)
    previous = _read_previous(warehouse, day)
    rows = compute_daily_rollup(hourly, snapshots, previous)
    computed = time.monotonic()
    written = warehouse.replace_rows(
        "intel_daily_metrics",
        DAILY_COLUMNS,
        frame_rows(rows, DAILY_COLUMNS),
        scope=RowScope(equals={"date": day}),
    )
    without_previous = sorted(set(rows["category_key"]) - set(previous))
    if without_previous:
        context.log.info(
            f"no {day - timedelta(days=1)} row for {', '.join(without_previous)}: trends are 0"
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written),
            "games": dg.MetadataValue.int(len(rows)),
            "games_without_previous_day": dg.MetadataValue.int(len(without_previous)),
            "hourly_rows_read": dg.MetadataValue.int(len(hourly)),
            "snapshot_rows_read": dg.MetadataValue.int(snapshots.rows_read),
            "hours_covered_min": dg.MetadataValue.int(
                int(rows["hours_covered"].min()) if len(rows) else 0
            ),
            "read_and_compute_seconds": dg.MetadataValue.float(round(computed - started, 3)),
            "write_seconds": dg.MetadataValue.float(round(time.monotonic() - computed, 3)),
            "preview": markdown_preview(rows),
        }
    )
