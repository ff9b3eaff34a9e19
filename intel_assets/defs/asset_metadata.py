"""What the Dagster UI shows about every asset besides its code: owners, tables, code links.

Every asset also lists the warehouse tables it reads and writes (`intel/tables_read`,
`intel/tables_written`, from `intel_assets.contracts.lineage`), which the lineage test holds
equal to its dependencies and its SQL.

Applied once to the merged definitions (`definitions.py`), so an asset a domain adds later gets
its domain's owner and a link to its code without an edit here. A table asset (one whose
materialization replaces rows of one warehouse table) names its table in `ASSET_TABLES`; its
column schema comes from the table's one contract (its Arrow schema, `contracts/tables.py`, or the
analysis history's columns), never from a second list.
"""

from collections.abc import Mapping, Sequence

import dagster as dg
import pyarrow as pa

from intel_assets.analyzers.registry import ANALYZERS
from intel_assets.contracts.lineage import ASSET_TABLE_USE, TableUse, analysis_table_use
from intel_assets.contracts.tables import (
    ANALYSIS_RESULTS_COLUMNS,
    ANALYSIS_RESULTS_TABLE,
    CHANNEL_GROWTH,
    CHANNEL_PROJECTIONS,
    DAILY_METRICS,
    DURATION_PERFORMANCE,
    HOURLY_METRICS,
    PREMIERE_PERFORMANCE,
    REGIONAL_PERFORMANCE,
    STREAM_SNAPSHOTS,
    TWITCH_BROADCASTER_GROWTH,
    TWITCH_CHANNEL_SNAPSHOTS,
    TWITCH_GAME_STATS,
    TWITCH_GAME_STATS_MONTHLY,
    VIDEO_SNAPSHOTS,
    Table,
)
from intel_assets.defs.analysis.assets import ANALYSIS_GROUP, intel_asset_key

OWNERS_BY_GROUP: Mapping[str, tuple[str, ...]] = {
    "collection": ("team:collection",),
    ANALYSIS_GROUP: ("team:analysis",),
    "aggregation": ("team:warehouse",),
    "archive": ("team:warehouse",),
}
"""Who answers for each group's assets (Dagster owners: `team:<name>` or an e-mail)."""

DEFAULT_OWNERS: tuple[str, ...] = ("team:creator-intel",)
"""Owners of an asset in a group `OWNERS_BY_GROUP` does not name."""

# Postgres types of `intel_analysis_results` (migrations/0002_intel_tables.sql), by column.
_HISTORY_TYPES: Mapping[str, str] = {
    "analyzer": "text",
    "game_key": "text",
    "as_of": "timestamptz",
    "data_age_seconds": "double precision",
    "sample_size": "integer",
    "confidence": "double precision",
    "stale": "boolean",
    "result": "jsonb",
}


def arrow_table_schema(
    schema: pa.Schema, descriptions: Mapping[str, str] | None = None
) -> dg.TableSchema:
    """A Dagster table schema with the columns, Arrow types and nullability of `schema`."""
    notes = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=f.name,
                type=str(f.type),
                description=notes.get(f.name),
                constraints=dg.TableColumnConstraints(nullable=f.nullable),
            )
            for f in schema
        ]
    )


def _archived(table: Table) -> tuple[str, dg.TableSchema]:
    return table.name, arrow_table_schema(table.schema)


HISTORY_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn(
            name=name,
            type=_HISTORY_TYPES[name],
            constraints=dg.TableColumnConstraints(nullable=False),
        )
        for name in ANALYSIS_RESULTS_COLUMNS
    ]
)
"""`intel_analysis_results`, shared by the eight analysis assets (one row per result)."""

ASSET_TABLES: Mapping[str, tuple[str, dg.TableSchema]] = {
    "youtube_videos": _archived(VIDEO_SNAPSHOTS),
    "twitch_streams": _archived(STREAM_SNAPSHOTS),
    "hourly_metrics": _archived(HOURLY_METRICS),
    "daily_rollup": _archived(DAILY_METRICS),
    "duration_performance": _archived(DURATION_PERFORMANCE),
    "regional_performance": _archived(REGIONAL_PERFORMANCE),
    "premiere_performance": _archived(PREMIERE_PERFORMANCE),
    # Also writes twitch_game_stats_hourly and twitch_game_top_streamers (one asset, one
    # transaction); the UI's schema is the day table's, which the asset is named for.
    "twitch_game_stats": _archived(TWITCH_GAME_STATS),
    "twitch_game_stats_monthly": _archived(TWITCH_GAME_STATS_MONTHLY),
    "channel_growth": _archived(CHANNEL_GROWTH),
    "twitch_broadcaster_growth": _archived(TWITCH_BROADCASTER_GROWTH),
    "channel_projections": _archived(CHANNEL_PROJECTIONS),
    # Also writes twitch_video_snapshots in the same transaction.
    "twitch_channels": _archived(TWITCH_CHANNEL_SNAPSHOTS),
}
"""Each table asset's warehouse table and its column schema (analysis assets aside)."""


def table_of(spec: dg.AssetSpec) -> tuple[str, dg.TableSchema] | None:
    """The warehouse table an asset writes, with its schema; None for other assets."""
    if spec.group_name == ANALYSIS_GROUP:
        return ANALYSIS_RESULTS_TABLE, HISTORY_SCHEMA
    return ASSET_TABLES.get(spec.key.to_user_string())


ANALYSIS_TABLE_USE: Mapping[dg.AssetKey, TableUse] = {
    intel_asset_key(name): analysis_table_use(spec.needs) for name, spec in ANALYZERS.items()
}


def table_use(key: dg.AssetKey) -> TableUse:
    """The warehouse tables an asset reads and writes.

    Raises:
        KeyError: The asset declares none (`intel_assets.contracts.lineage` must list it).
    """
    if key in ANALYSIS_TABLE_USE:
        return ANALYSIS_TABLE_USE[key]
    return ASSET_TABLE_USE[key.to_user_string()]


def described(spec: dg.AssetSpec) -> dg.AssetSpec:
    """`spec` with its owners, the tables it reads and writes, and a table asset's schema.

    A table asset (one that replaces rows of one table) also gets its table name and column
    schema.
    """
    owners = [] if spec.owners else list(OWNERS_BY_GROUP.get(spec.group_name or "", DEFAULT_OWNERS))
    use = table_use(spec.key)
    metadata: dict[str, object] = {
        "intel/tables_read": dg.MetadataValue.json(sorted(use.reads)),
        "intel/tables_written": dg.MetadataValue.json(sorted(use.writes)),
    }
    table = table_of(spec)
    if table is not None:
        metadata |= {"dagster/table_name": table[0], "dagster/column_schema": table[1]}
    return spec.merge_attributes(owners=owners, metadata=metadata)


def with_catalog_metadata(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Every asset with owners, table metadata and a reference to the code that defines it."""
    referenced = [a for a in dg.with_source_code_references(list(assets))]
    defined = [a for a in referenced if isinstance(a, dg.AssetsDefinition)]
    if len(defined) != len(referenced):
        raise TypeError("code references turned an AssetsDefinition into another kind of asset")
    return list(dg.map_asset_specs(described, defined))
