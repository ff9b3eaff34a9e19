from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from intel_assets.defs.archive.checks import monthly_archive_checks, retention_checks
from intel_assets.defs.archive.monthly import monthly_archive
from intel_assets.defs.archive.retention import retention
from intel_assets.defs.archive.tables import STREAM_SNAPSHOTS
from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.archive.conftest import seed_month, ts
from intel_assets_tests.defs.check_results import failed
from intel_assets_tests.defs.snapshot_rows import insert_videos

MARCH = "2026-03-01"
ARCHIVE_NAMES = {
    "monthly_archive_row_counts_match_postgres",
    "monthly_archive_matches_declared_schema",
}


def _run(
    assets: list,
    warehouse: PostgresWarehouse,
    store: ArchiveStore,
    instance: dg.DagsterInstance,
    *,
    partition: str | None = None,
    selection: dg.AssetSelection | None = None,
    run_config: dict | None = None,
) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize(
        assets,
        selection=selection,
        partition_key=partition,
        resources={"warehouse": warehouse, "archive": store},
        instance=instance,
        run_config=run_config,
        raise_on_error=False,
    )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _archive_march(
    warehouse: PostgresWarehouse, store: ArchiveStore, instance: dg.DagsterInstance
) -> dict[str, dg.AssetCheckEvaluation]:
    seed_month(warehouse)
    return _run(
        [monthly_archive, monthly_archive_checks], warehouse, store, instance, partition=MARCH
    )


def _checks_alone(
    warehouse: PostgresWarehouse, store: ArchiveStore, instance: dg.DagsterInstance
) -> dict[str, dg.AssetCheckEvaluation]:
    """Run only the checks, on March, tagged as the UI tags a run of one partition."""
    result = dg.materialize(
        [monthly_archive, monthly_archive_checks],
        selection=dg.AssetSelection.checks(monthly_archive_checks),
        resources={"warehouse": warehouse, "archive": store},
        instance=instance,
        tags={"dagster/partition": MARCH},
        raise_on_error=False,
    )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_an_archived_month_passes_its_checks(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore, instance: dg.DagsterInstance
):
    evaluations = _archive_march(warehouse, folder_store, instance)

    assert set(evaluations) == ARCHIVE_NAMES
    assert failed(evaluations) == {}
    counts = evaluations["monthly_archive_row_counts_match_postgres"].metadata
    # seed_month's March: 3 videos, 1 stream, 1 channel, 2 hourly, 1 daily, 1 duration,
    # 2 regional, 1 premiere, 1 quota log row, and Twitch statistics of 2 days, 1 hour, 1 top
    # streamer and 1 month, 1 channel growth row, and 1 row each of broadcaster growth, Twitch
    # channels, Twitch videos and channel projections = 23.
    assert counts["rows_archived"].value == 23
    assert counts["tables_checked"].value == 18
    assert counts["tables_pruned_since"].value == 0


def test_rows_added_after_archiving_fail_the_row_counts_but_pruned_rows_do_not(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore, instance: dg.DagsterInstance
):
    _archive_march(warehouse, folder_store, instance)
    with warehouse.connection() as conn:
        # Pruned since: Postgres holds fewer March hourly rows than the archive (2 -> 0).
        conn.execute(b"DELETE FROM intel_hourly_metrics WHERE hour_start < '2026-04-01+00'")
    pruned = _checks_alone(warehouse, folder_store, instance)
    insert_videos(
        warehouse, [dict(video_id="late", game_key="fortnite", collected_at=ts(2026, 3, 9))]
    )
    added = _checks_alone(warehouse, folder_store, instance)

    assert failed(pruned) == {}
    assert (
        pruned["monthly_archive_row_counts_match_postgres"].metadata["tables_pruned_since"].value
        == 1
    )
    # Postgres now holds 4 March videos, the archive 3.
    assert failed(added) == {"monthly_archive_row_counts_match_postgres": 1}


def test_an_object_with_another_schema_fails_the_schema_check(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore, instance: dg.DagsterInstance
):
    _archive_march(warehouse, folder_store, instance)
    # March's one stream row, rewritten with its viewer count as text: same rows, other schema.
    path = Path(folder_store.key(STREAM_SNAPSHOTS.object_key(ts(2026, 3, 1).date())))
    table = pq.read_table(path)
    index = table.schema.get_field_index("viewer_count")
    table = table.set_column(index, "viewer_count", table["viewer_count"].cast(pa.string()))
    pq.write_table(table, path)

    evaluations = _checks_alone(warehouse, folder_store, instance)

    assert failed(evaluations) == {"monthly_archive_matches_declared_schema": 1}


def test_a_missing_object_fails_both_checks(
    warehouse: PostgresWarehouse, s3_store: ArchiveStore, instance: dg.DagsterInstance
):
    _archive_march(warehouse, s3_store, instance)
    client = s3_store.s3_client()
    bucket = s3_store.url.split("/")[2]
    client.delete_object(  # type: ignore[attr-defined]
        Bucket=bucket, Key=s3_store.key(STREAM_SNAPSHOTS.object_key(ts(2026, 3, 1).date()))
    )

    evaluations = _checks_alone(warehouse, s3_store, instance)

    assert failed(evaluations) == {
        "monthly_archive_row_counts_match_postgres": 1,
        "monthly_archive_matches_declared_schema": 1,
    }


def test_retention_keeps_every_unarchived_snapshot_month(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore, instance: dg.DagsterInstance
):
    _archive_march(warehouse, folder_store, instance)
    # Retention as of July: March is past every window and archived, so it goes.
    pruned = _run(
        [retention, retention_checks],
        warehouse,
        folder_store,
        instance,
        run_config={"ops": {"retention": {"config": {"as_of": "2026-07-15T00:00:00+00:00"}}}},
    )
    with warehouse.connection() as conn:
        # April was never archived: dropping its video partition by hand loses data.
        conn.execute(b"ALTER TABLE video_snapshots DETACH PARTITION video_snapshots_2026_04")
        conn.execute(b"DROP TABLE video_snapshots_2026_04")
    lost = _run(
        [retention, retention_checks],
        warehouse,
        folder_store,
        instance,
        selection=dg.AssetSelection.checks(retention_checks),
    )

    name = "retention_kept_every_unarchived_snapshot_month"
    assert failed(pruned) == {}, pruned[name].description
    months = pruned[name].metadata
    # March's rollup rows are pruned with it (archived, past their windows): only April's
    # hourly and daily rows witness video snapshots, and no hourly row has streams.
    assert months["snapshot_months_checked"].value == 1
    assert months["snapshot_months_archived"].value == 3
    # April's videos: an hourly row says they existed; neither Postgres nor the archive has them.
    assert failed(lost) == {name: 1}
    assert "video_snapshots 2026-04" in (lost[name].description or "")
