"""Which warehouse tables each asset reads and writes: the lineage Dagster's graph must match.

Every table an asset reads is written by one of its upstream assets (a declared dependency),
by the asset itself (its earlier partitions or its own state), or is a source table written
outside the asset graph (`SOURCE_TABLES`). `intel_assets.defs.asset_metadata` puts these lists
on every asset (`intel/tables_read`, `intel/tables_written`), and
`intel_assets_tests/test_lineage.py` holds them, the graph and the SQL of each asset's code
equal: an asset whose code reads a table it does not declare, or that declares a read no
upstream asset writes, fails that test.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from intel_assets.contracts import tables as t


@dataclass(frozen=True)
class TableUse:
    """The warehouse tables one asset reads and writes (deletes count as writes)."""

    reads: frozenset[str]
    writes: frozenset[str]


def _use(reads: Iterable[str], writes: Iterable[str]) -> TableUse:
    return TableUse(frozenset(reads), frozenset(writes))


SOURCE_TABLES: Mapping[str, str] = {
    "intel_discovered_games": "games `game_discovery_sensor` adds from Twitch's top games",
    t.QUOTA_LOG.name: "every API spend, logged by the API clients' quota ledger",
}
"""Tables written outside the asset graph, which any asset may read: what writes them."""

_SNAPSHOTS = (t.VIDEO_SNAPSHOTS.name, t.STREAM_SNAPSHOTS.name, t.CHANNEL_SNAPSHOTS.name)
_DAY_TABLES = (t.DURATION_PERFORMANCE, t.REGIONAL_PERFORMANCE, t.PREMIERE_PERFORMANCE)

ASSET_TABLE_USE: Mapping[str, TableUse] = {
    "youtube_videos": _use(
        reads=(t.VIDEO_SNAPSHOTS.name, t.COLLECTION_STATE_TABLE, "intel_discovered_games"),
        writes=(t.VIDEO_SNAPSHOTS.name, t.CHANNEL_SNAPSHOTS.name, t.COLLECTION_STATE_TABLE),
    ),
    "twitch_streams": _use(
        reads=(t.COLLECTION_STATE_TABLE, "intel_discovered_games"),
        writes=(t.STREAM_SNAPSHOTS.name, t.COLLECTION_STATE_TABLE),
    ),
    "hourly_metrics": _use(
        reads=(t.VIDEO_SNAPSHOTS.name, t.STREAM_SNAPSHOTS.name, t.ANALYSIS_RESULTS_TABLE),
        writes=(t.HOURLY_METRICS.name,),
    ),
    "daily_rollup": _use(
        reads=(*_SNAPSHOTS, t.HOURLY_METRICS.name, t.DAILY_METRICS.name),
        writes=(t.DAILY_METRICS.name,),
    ),
    **{
        name: _use(reads=_SNAPSHOTS, writes=(table.name,))
        for name, table in zip(
            ("duration_performance", "regional_performance", "premiere_performance"),
            _DAY_TABLES,
            strict=True,
        )
    },
    "channel_growth": _use(reads=(t.CHANNEL_SNAPSHOTS.name,), writes=(t.CHANNEL_GROWTH.name,)),
    "twitch_game_stats": _use(
        reads=(t.STREAM_SNAPSHOTS.name, "intel_discovered_games"),
        writes=(
            t.TWITCH_GAME_STATS.name,
            t.TWITCH_GAME_STATS_HOURLY.name,
            t.TWITCH_TOP_STREAMERS.name,
        ),
    ),
    "twitch_game_stats_monthly": _use(
        reads=(t.STREAM_SNAPSHOTS.name, t.TWITCH_GAME_STATS.name, "intel_discovered_games"),
        writes=(t.TWITCH_GAME_STATS_MONTHLY.name,),
    ),
    "twitch_broadcaster_growth": _use(
        reads=(t.STREAM_SNAPSHOTS.name,),
        writes=(t.TWITCH_BROADCASTER_GROWTH.name,),
    ),
    "channel_projections": _use(
        reads=(t.CHANNEL_SNAPSHOTS.name,),
        writes=(t.CHANNEL_PROJECTIONS.name,),
    ),
    "twitch_channels": _use(
        reads=(t.STREAM_SNAPSHOTS.name,),
        writes=(t.TWITCH_CHANNEL_SNAPSHOTS.name, t.TWITCH_VIDEO_SNAPSHOTS.name),
    ),
    "daily_archive": _use(
        reads=(*_SNAPSHOTS, t.ARCHIVE_PARTS_TABLE),
        writes=(t.ARCHIVE_PARTS_TABLE,),
    ),
    "monthly_archive": _use(
        reads=(
            *(table.name for table in t.ARCHIVED),
            t.ARCHIVE_MANIFEST_TABLE,
            t.ARCHIVE_PARTS_TABLE,
        ),
        writes=(t.ARCHIVE_MANIFEST_TABLE,),
    ),
    "retention": _use(
        reads=(t.ARCHIVE_MANIFEST_TABLE, t.ARCHIVE_PARTS_TABLE),
        writes=tuple(table.name for table in t.ARCHIVED),
    ),
}
"""Each asset's tables, but the analysis assets' (`analysis_table_use`)."""


def analysis_table_use(frames: Iterable[t.SnapshotSource]) -> TableUse:
    """An analysis asset's tables: its frames' snapshots, collection state and own history.

    It reads the snapshot tables of the frames it needs, the collection state (is a source
    stale?) and its own history (the last good result), and writes its history.
    """
    return _use(
        reads=(
            *(t.SNAPSHOT_TABLES[frame] for frame in frames),
            t.COLLECTION_STATE_TABLE,
            t.ANALYSIS_RESULTS_TABLE,
        ),
        writes=(t.ANALYSIS_RESULTS_TABLE,),
    )
