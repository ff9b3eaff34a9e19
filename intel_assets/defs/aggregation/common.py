"""What the time-partitioned rollups share: their upstream dependencies, snapshot reads, metadata.

The rollups never read Redis: every number comes from the snapshot tables and the analysis
history in Postgres, so any past hour or day can be recomputed.
"""

from collections.abc import Sequence
from datetime import datetime

import dagster as dg
import pandas as pd
from psycopg import sql

from intel_assets.resources.warehouse import PostgresWarehouse

COLLECTION_DEPS: tuple[dg.AssetDep, ...] = (
    dg.AssetDep("youtube_videos", partition_mapping=dg.AllPartitionMapping()),
    dg.AssetDep("twitch_streams", partition_mapping=dg.AllPartitionMapping()),
)
"""Every game partition of both collection assets: a time partition reads all games' snapshots
(the inferred mapping from dynamic game partitions to time partitions would be wrong)."""

ANALYSIS_HISTORY_DEPS: tuple[dg.AssetDep, ...] = (
    dg.AssetDep("viral_intel", partition_mapping=dg.AllPartitionMapping()),
    dg.AssetDep("format_intel", partition_mapping=dg.AllPartitionMapping()),
)
"""Every game partition of the analyses whose history (`intel_analysis_results`) the hourly
rollup reads: the viral figures and the optimal duration bucket valid at the end of each hour."""


def read_snapshots(
    warehouse: PostgresWarehouse,
    table: str,
    columns: Sequence[str],
    start: datetime,
    end: datetime,
    game_key: str | None = None,
) -> pd.DataFrame:
    """The rows of a snapshot table collected in `[start, end)`, with `collected_at` in UTC.

    Args:
        warehouse: The warehouse to read.
        table: `video_snapshots`, `stream_snapshots` or `channel_snapshots`.
        columns: Columns to read; `game_key` and `collected_at` are always included.
        start: Inclusive start of the window.
        end: Exclusive end of the window.
        game_key: Only this game's rows (every game's when None).
    """
    wanted = list(dict.fromkeys(["game_key", "collected_at", *columns]))
    query = sql.SQL(
        "SELECT {} FROM {} WHERE collected_at >= %s AND collected_at < %s"
        " AND (%s::text IS NULL OR game_key = %s)"
    ).format(sql.SQL(", ").join(map(sql.Identifier, wanted)), sql.Identifier(table))
    frame = warehouse.fetch_frame(query, (start, end, game_key, game_key))
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in wanted}).assign(
            collected_at=pd.Series(dtype="datetime64[us, UTC]")
        )
    frame["collected_at"] = pd.to_datetime(frame["collected_at"], utc=True)
    return frame


def markdown_preview(frame: pd.DataFrame, rows: int = 12) -> dg.MetadataValue:
    """The first rows of a frame as a Markdown table for the Dagster UI."""
    if frame.empty:
        return dg.MetadataValue.md("_no rows_")
    return dg.MetadataValue.md(frame.head(rows).to_markdown(index=False))
