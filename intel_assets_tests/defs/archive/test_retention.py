from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import pandas as pd

from intel_assets.defs.archive.monthly import monthly_archive
from intel_assets.defs.archive.retention import retention
from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.archive.conftest import seed_month, ts
from intel_assets_tests.defs.snapshot_rows import insert_videos

TABLES = (
    "video_snapshots", "stream_snapshots", "channel_snapshots", "intel_hourly_metrics",
    "intel_daily_metrics", "intel_duration_performance", "intel_regional_performance",
    "intel_premiere_performance", "intel_quota_log", "twitch_game_stats",
    "twitch_game_stats_hourly", "twitch_game_top_streamers", "twitch_game_stats_monthly",
    "channel_growth", "twitch_broadcaster_growth", "twitch_channel_snapshots",
    "twitch_video_snapshots", "channel_projections",
)  # fmt: skip


def _archive_march(warehouse: PostgresWarehouse, store: ArchiveStore) -> None:
    result = dg.materialize(
        [monthly_archive],
        partition_key="2026-03-01",
        resources={"warehouse": warehouse, "archive": store},
    )
    assert result.success


def _retain(
    warehouse: PostgresWarehouse, store: ArchiveStore, as_of: str
) -> Mapping[str, dg.MetadataValue]:
    result = dg.materialize(
        [retention],
        resources={"warehouse": warehouse, "archive": store},
        run_config=dg.RunConfig({"retention": {"config": {"as_of": as_of}}}),
    )
    assert result.success
    return result.asset_materializations_for_node("retention")[0].metadata


def _counts(warehouse: PostgresWarehouse) -> dict[str, int]:
    return {t: warehouse.fetch_dicts(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in TABLES}


def _snapshot_partitions(warehouse: PostgresWarehouse) -> list[str]:
    rows = warehouse.fetch_dicts(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'video_snapshots'::regclass ORDER BY 1"
    )
    return [r["name"] for r in rows]


def test_retention_prunes_archived_months_only(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore
):
    seed_month(warehouse)
    _archive_march(warehouse, folder_store)
    before = _counts(warehouse)
    assert "video_snapshots_2026_03" in _snapshot_partitions(warehouse)

    # As of 1 August every seeded row is past its window (hourly 7 d, daily 90 d, quota 30 d,
    # snapshots 90 d); only March is archived.
    metadata = _retain(warehouse, folder_store, "2026-08-01T00:00:00+00:00")

    after = _counts(warehouse)
    # March's rows are gone; February's and April's stay (not archived).
    assert after == {
        "video_snapshots": 2,  # "before" (Feb 28) and "after" (Apr 1)
        "stream_snapshots": 1,  # April's
        "channel_snapshots": 0,
        "intel_hourly_metrics": 1,  # April 1 00:00
        "intel_daily_metrics": 1,  # April 1
        "intel_duration_performance": 0,
        "intel_regional_performance": 0,
        "intel_premiere_performance": 0,
        "intel_quota_log": 1,  # April's
        "twitch_game_stats": 1,  # April 1
        "twitch_game_stats_hourly": 1,  # April 2 00:00
        "twitch_game_top_streamers": 1,  # April 2
        "twitch_game_stats_monthly": 2,  # never pruned
        "channel_growth": 1,  # April 1
        "twitch_broadcaster_growth": 1,  # April 1
        "twitch_channel_snapshots": 1,  # April 2
        "twitch_video_snapshots": 1,  # April 2
        "channel_projections": 1,  # April 1
    }
    partitions = _snapshot_partitions(warehouse)
    assert "video_snapshots_2026_03" not in partitions  # dropped, not emptied
    assert {"video_snapshots_2026_02", "video_snapshots_2026_04"} <= set(partitions)
    # hourly 2 + daily 1 + duration 1 + regional 2 + premiere 1 + quota 1 + Twitch daily 2,
    # hourly 1, top streamers 1, channel growth 1, broadcaster growth 1, channel projections 1
    # and Twitch channel and video snapshots 1 each = 17 rows deleted; video, stream and
    # channel partitions of March dropped with 3 + 1 + 1 rows.
    assert metadata["rows_deleted"].value == 17
    assert metadata["partitions_dropped"].value == 3
    assert metadata["snapshot_rows_dropped"].value == 5
    kept = sum(after.values()) - after["twitch_game_stats_monthly"]
    assert metadata["rows_kept_unarchived"].value == kept == 14
    assert sum(before.values()) - sum(after.values()) == 22

    # Archiving March again must not overwrite the archive with what is left (nothing).
    _archive_march(warehouse, folder_store)
    archived = pd.read_parquet(
        Path(folder_store.url) / "table=video_snapshots/month=2026-03/part-0.parquet"
    )
    assert len(archived) == 3


def test_retention_keeps_rows_the_archive_lacks(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore
):
    seed_month(warehouse)
    _archive_march(warehouse, folder_store)
    with warehouse.connection() as conn:
        # After the archive: a late hourly row, a changed daily value, a late snapshot.
        conn.execute(
            "INSERT INTO intel_hourly_metrics (category_key, hour_start, video_count) "
            "VALUES ('valorant', %s, 4)",
            (ts(2026, 3, 2, 5),),
        )
        conn.execute("UPDATE intel_daily_metrics SET views_trend = 99 WHERE date = '2026-03-01'")
    insert_videos(warehouse, [dict(video_id="late", game_key="gta", collected_at=ts(2026, 3, 9))])

    metadata = _retain(warehouse, folder_store, "2026-08-01T00:00:00+00:00")

    kept = warehouse.fetch_dicts(
        "SELECT (SELECT count(*) FROM intel_hourly_metrics WHERE hour_start < '2026-04-01') AS h,"
        " (SELECT views_trend FROM intel_daily_metrics WHERE date = '2026-03-01') AS d,"
        " (SELECT count(*) FROM video_snapshots_2026_03) AS v"
    )[0]
    assert kept == {"h": 3, "d": 99.0, "v": 4}
    report = str(metadata["report"].value)
    assert "archive differs: 3 rows here, 2 archived" in report
    assert "4 rows here, 3 in the manifest, 3 in the file" in report


def test_hourly_rows_go_in_steps_inside_an_archived_month(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore
):
    seed_month(warehouse)  # hourly rows at March 1 00:00, March 31 23:00, April 1 00:00
    _archive_march(warehouse, folder_store)

    # Cutoff 13 March: only March 1's row is older.
    _retain(warehouse, folder_store, "2026-03-20T00:00:00+00:00")
    hours = warehouse.fetch_dicts("SELECT hour_start FROM intel_hourly_metrics ORDER BY 1")
    assert [h["hour_start"] for h in hours] == [ts(2026, 3, 31, 23), ts(2026, 4, 1)]

    # Cutoff 1 April 01:00: the rest of March goes (still matched against the archive);
    # April 1 00:00 is older too but April is not archived.
    metadata = _retain(warehouse, folder_store, "2026-04-08T01:00:00+00:00")
    hours = warehouse.fetch_dicts("SELECT hour_start FROM intel_hourly_metrics ORDER BY 1")
    assert [h["hour_start"] for h in hours] == [ts(2026, 4, 1)]
    assert "month not archived" in str(metadata["report"].value)
