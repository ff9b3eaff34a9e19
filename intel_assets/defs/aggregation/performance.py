"""The daily performance tables: one asset per table, each the analyzers run on one UTC day.

`duration_performance[day]` (`intel_duration_performance`) is format analysis of each game's
snapshots of that day, `regional_performance[day]` (`intel_regional_performance`) regional
analysis and `premiere_performance[day]` (`intel_premiere_performance`) live analysis. Each
table is its own asset rather than one multi-asset because each
comes from a different analyzer: one can be re-run or backfilled alone, and an analyzer that
fails leaves the other tables' days untouched. Every write replaces the day's rows in one
transaction.
"""

import time
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from intel_assets.analyzers import format as format_analysis
from intel_assets.analyzers import live as live_analysis
from intel_assets.analyzers import regional as regional_analysis
from intel_assets.analyzers.base import AnalyzerInputs
from intel_assets.contracts.tables import DURATION_COLUMNS, PREMIERE_COLUMNS, REGIONAL_COLUMNS
from intel_assets.defs.aggregation.common import COLLECTION_DEPS, markdown_preview
from intel_assets.defs.aggregation.daily import DaySnapshots
from intel_assets.freshness import DAILY_FRESHNESS
from intel_assets.partitions import daily_partitions
from intel_assets.resources.hot_tier import dumps
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, frame_rows

Row = dict[str, Any]


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def duration_rows(inputs: AnalyzerInputs) -> list[Row]:
    """The game's duration buckets that had videos that day (format analysis).

    A bucket's index is undefined only when every video of the game had 0 views; it is then
    stored as 1.0, the table's "as good as the game's average".
    """
    result = format_analysis.analyze(inputs)
    return [
        {
            "category_key": inputs.game_key,
            "bucket_label": b.bucket_label,
            "bucket_min_seconds": b.bucket_min_seconds,
            "bucket_max_seconds": b.bucket_max_seconds,
            "video_count": b.video_count,
            "avg_views": _or(b.avg_views, 0.0),
            "avg_engagement": _or(b.avg_engagement, 0.0),
            "total_views": b.total_views,
            "performance_index": 1.0 if b.performance_index is None else b.performance_index,
        }
        for b in result.buckets
        if b.video_count > 0
    ]


def regional_rows(inputs: AnalyzerInputs) -> list[Row]:
    """The game's languages that day: YouTube supply against Twitch demand (regional analysis).

    Where the analysis leaves a figure undefined the table's neutral default is stored: scores
    of 50 when there is no Twitch demand to compare with, 0 for averages over nothing.
    """
    result = regional_analysis.analyze(inputs)
    return [
        {
            "category_key": inputs.game_key,
            "language_code": lang.language_code,
            "youtube_video_count": lang.youtube_video_count,
            "youtube_avg_views": _or(lang.youtube_avg_views, 0.0),
            "youtube_total_views": lang.youtube_total_views,
            "twitch_stream_count": lang.twitch_stream_count,
            "twitch_avg_viewers": _or(lang.twitch_avg_viewers, 0.0),
            "twitch_total_viewers": lang.twitch_total_viewers,
            "competition_score": _or(lang.competition_score, 50.0),
            "opportunity_score": _or(lang.opportunity_score, 50.0),
            "market_share_percent": _or(lang.market_share_percent, 0.0),
        }
        for lang in result.languages
    ]


def _time_slots(slots: list[live_analysis.TimeSlot]) -> str:
    return dumps(
        [
            {"hour_utc": s.hour_utc, "day_of_week": s.day_of_week,
             "performance_index": s.performance_index}
            for s in slots
        ]
    )  # fmt: skip


def premiere_rows(inputs: AnalyzerInputs) -> list[Row]:
    """The game's premieres against instant uploads that day, and publish times (live analysis).

    One row per game with videos. Undefined averages are stored as 0, an undefined ratio as
    1.0 (the table's "no difference"); best and worst times as JSON
    `[{hour_utc, day_of_week, performance_index}]`.
    """
    if inputs.videos.empty:
        return []
    result = live_analysis.analyze(inputs)
    return [
        {
            "category_key": inputs.game_key,
            "premiere_count": result.premiere_count,
            "instant_count": result.instant_count,
            "premiere_avg_views": _or(result.premiere_avg_views, 0.0),
            "instant_avg_views": _or(result.instant_avg_views, 0.0),
            "performance_ratio": _or(result.performance_ratio, 1.0),
            "best_times": _time_slots(result.best_times),
            "worst_times": _time_slots(result.worst_times),
            "avg_delay_seconds": _or(result.avg_delay_seconds, 0.0),
            "on_time_percent": _or(result.on_time_percent, 0.0),
        }
    ]


def daily_table_asset(
    name: str,
    table: str,
    columns: Sequence[str],
    rows_for_game: Callable[[AnalyzerInputs], list[Row]],
    description: str,
) -> dg.AssetsDefinition:
    """A daily asset that fills `table` with `rows_for_game` of every game with snapshots.

    Args:
        name: The asset key.
        table: The table written (the day's rows are replaced).
        columns: The table's columns, in order; rows give all but `date`.
        rows_for_game: The rows of one game's day, from its analyzer.
        description: What the table means, for the UI.
    """

    @dg.asset(
        name=name,
        partitions_def=daily_partitions,
        deps=list(COLLECTION_DEPS),
        kinds={"postgres", "pandas"},
        group_name="aggregation",
        description=description,
        freshness_policy=DAILY_FRESHNESS,
    )
    def _daily_table(
        context: dg.AssetExecutionContext, warehouse: PostgresWarehouse
    ) -> dg.MaterializeResult:
        day = context.partition_time_window.start.date()
        started = time.monotonic()
        snapshots = DaySnapshots(warehouse, day)
        rows = pd.DataFrame(
            [
                {**row, "date": day}
                for game in snapshots.games
                for row in rows_for_game(snapshots.inputs(game))
            ],
            columns=list(columns),
        )
        computed = time.monotonic()
        written = warehouse.replace_rows(
            table, columns, frame_rows(rows, columns), scope=RowScope(equals={"date": day})
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(written),
                "games": dg.MetadataValue.int(int(rows["category_key"].nunique())),
                "snapshot_rows_read": dg.MetadataValue.int(snapshots.rows_read),
                "read_and_compute_seconds": dg.MetadataValue.float(round(computed - started, 3)),
                "write_seconds": dg.MetadataValue.float(round(time.monotonic() - computed, 3)),
                "preview": markdown_preview(rows),
            }
        )

    return _daily_table


duration_performance = daily_table_asset(
    "duration_performance",
    "intel_duration_performance",
    DURATION_COLUMNS,
    duration_rows,
    "Per game and UTC day, views and engagement of each duration bucket and its performance "
    "index against the game's average video (format analysis of the day's snapshots).",
)

regional_performance = daily_table_asset(
    "regional_performance",
    "intel_regional_performance",
    REGIONAL_COLUMNS,
    regional_rows,
    "Per game, UTC day and language: YouTube videos and views against Twitch streams and "
    "viewers, with competition, opportunity and market-share scores (regional analysis of the "
    "day's snapshots).",
)

premiere_performance = daily_table_asset(
    "premiere_performance",
    "intel_premiere_performance",
    PREMIERE_COLUMNS,
    premiere_rows,
    "Per game and UTC day: premieres against instant uploads, schedule adherence and the best "
    "and worst publish times (live analysis of the day's snapshots).",
)
