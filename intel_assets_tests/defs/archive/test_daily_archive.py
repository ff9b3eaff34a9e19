"""The daily parts of the snapshot tables, the month compacted from them, and retention's rule."""

from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from intel_assets.defs.archive.checks import retention_checks
from intel_assets.defs.archive.daily import daily_archive
from intel_assets.defs.archive.monthly import monthly_archive
from intel_assets.defs.archive.retention import retention
from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.archive.conftest import seed_month, ts
from intel_assets_tests.defs.snapshot_rows import insert_videos

# seed_month's March days with snapshot rows: videos on the 1st, 15th and 31st, a stream on
# the 2nd, a channel on the 3rd.
SNAPSHOT_DAYS = ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-15", "2026-03-31")

# One number per row set that DuckDB and Postgres both compute the same way: the rows' count
# and the sum of their view counts and of their ids' lengths.
DUCK_CHECKSUM = "SELECT count(*), sum(view_count), sum(length(video_id)) FROM read_parquet('{}')"
PG_CHECKSUM = (
    "SELECT count(*) AS n, sum(view_count) AS views, sum(length(video_id)) AS id_chars "
    "FROM video_snapshots WHERE collected_at >= %s AND collected_at < %s"
)


def _materialize(asset: Any, key: str, warehouse: PostgresWarehouse, store: ArchiveStore) -> Any:
    result = dg.materialize(
        [asset], partition_key=key, resources={"warehouse": warehouse, "archive": store}
    )
    assert result.success
    return result.asset_materializations_for_node(asset.key.path[-1])[0].metadata


def _parts(warehouse: PostgresWarehouse) -> dict[tuple[str, str], int]:
    rows = warehouse.fetch_dicts("SELECT table_name, day, row_count FROM intel_archive_parts")
    return {(r["table_name"], r["day"].isoformat()): r["row_count"] for r in rows}


def _postgres(warehouse: PostgresWarehouse, start: Any, end: Any) -> tuple[int, int, int]:
    row = warehouse.fetch_dicts(PG_CHECKSUM, (start, end))[0]
    return (int(row["n"]), int(row["views"] or 0), int(row["id_chars"] or 0))


def _duck(path: str) -> tuple[int, int, int]:
    found = duckdb.connect().execute(DUCK_CHECKSUM.format(path)).fetchone()
    assert found is not None
    return (int(found[0]), int(found[1] or 0), int(found[2] or 0))


def test_a_day_part_is_verified_recorded_and_rewritten_identically(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore
):
    seed_month(warehouse)
    root = Path(folder_store.url)
    part = root / "parts/table=video_snapshots/day=2026-03-15/part-0.parquet"

    metadata = _materialize(daily_archive, "2026-03-15", warehouse, folder_store)
    first = part.read_bytes()
    again = _materialize(daily_archive, "2026-03-15", warehouse, folder_store)

    # Only "mid" was collected on the 15th (views 2**40, id of 3 characters); no stream or
    # channel that day, so their parts hold no rows.
    assert (
        _duck(str(part)) == (1, 2**40, 3) == _postgres(warehouse, ts(2026, 3, 15), ts(2026, 3, 16))
    )
    assert part.read_bytes() == first
    assert _parts(warehouse) == {
        ("video_snapshots", "2026-03-15"): 1,
        ("stream_snapshots", "2026-03-15"): 0,
        ("channel_snapshots", "2026-03-15"): 0,
    }
    assert metadata["dagster/row_count"].value == again["dagster/row_count"].value == 1
    assert metadata["tables_archived"].value == 3


def test_the_month_is_compacted_from_its_parts_and_equals_postgres(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore
):
    seed_month(warehouse)
    for day in SNAPSHOT_DAYS:
        _materialize(daily_archive, day, warehouse, folder_store)
    # A row collected on the 31st after its part was written: that day's part is stale.
    insert_videos(
        warehouse, [dict(video_id="late", game_key="valorant", collected_at=ts(2026, 3, 31, 6))]
    )
    root = Path(folder_store.url)

    metadata = _materialize(monthly_archive, "2026-03-01", warehouse, folder_store)

    month = root / "table=video_snapshots/month=2026-03/part-0.parquet"
    march = _postgres(warehouse, ts(2026, 3, 1), ts(2026, 4, 1))
    # first, mid, last and late: 4 rows; views 10 and 2**40 (the others have none); ids of
    # 5, 3, 4 and 4 characters.
    assert _duck(str(month)) == march == (4, 10 + 2**40, 16)
    # Every day with rows came from its part but the 31st (stale: read from Postgres); the
    # stream's 2nd and the channel's 3rd came from theirs.
    assert metadata["days_from_parts"].value == 2 + 1 + 1
    parts = f"{root}/parts/table=video_snapshots/day=*/*.parquet"
    assert _duck(parts)[0] == 3  # the parts as written, before the late row


@pytest.mark.parametrize("lose_a_part", [False, True])
def test_retention_counts_a_day_only_through_its_verified_part(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore, lose_a_part: bool
):
    seed_month(warehouse)
    for day in SNAPSHOT_DAYS:
        _materialize(daily_archive, day, warehouse, folder_store)
    if lose_a_part:
        (
            Path(folder_store.url) / "parts/table=video_snapshots/day=2026-03-15/part-0.parquet"
        ).unlink()

    result = dg.materialize(
        [retention, retention_checks],
        resources={"warehouse": warehouse, "archive": folder_store},
        run_config=dg.RunConfig({"retention": {"config": {"as_of": "2026-07-15T00:00:00+00:00"}}}),
    )

    assert result.success
    # No month file was ever written: March's partitions go only on the strength of its parts.
    left = warehouse.fetch_dicts(
        "SELECT count(*) AS n FROM video_snapshots "
        "WHERE collected_at >= '2026-03-01' AND collected_at < '2026-04-01'"
    )[0]["n"]
    report = result.asset_materializations_for_node("retention")[0].metadata["report"].value
    # Either way every month the rollups saw is in Postgres or in the archive (its parts).
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]
    if lose_a_part:
        assert left == 3
        assert "1 days without a verified part (first 2026-03-15)" in str(report)
    else:
        assert left == 0


def test_a_day_of_several_games_is_read_in_key_order_across_its_key_ranges(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore
):
    # Three games on 2026-03-20 (and a row either side of the day): the day is read as two
    # key ranges by game at once; the part must still be the day's rows in key order.
    games = ("valorant", "apex_legends", "minecraft")
    rows = [
        dict(video_id=f"v{n}", game_key=game, collected_at=ts(2026, 3, 20, hour), view_count=n)
        for n, (game, hour) in enumerate((g, h) for g in games for h in (23, 0, 12))
    ]
    edges = [(ts(2026, 3, 19, 23, 59, 59), "before"), (ts(2026, 3, 21), "after")]
    rows += [dict(video_id=v, game_key="fortnite", collected_at=at) for at, v in edges]
    insert_videos(warehouse, rows)
    part = Path(folder_store.url) / "parts/table=video_snapshots/day=2026-03-20/part-0.parquet"

    _materialize(daily_archive, "2026-03-20", warehouse, folder_store)

    key = ["game_key", "collected_at", "video_id"]
    written = pq.read_table(part, columns=key).to_pylist()
    expected = sorted(
        ({c: r[c] for c in key} for r in rows if r["video_id"] not in {"before", "after"}),
        key=lambda r: (r["game_key"], r["collected_at"], r["video_id"]),
    )
    assert written == expected
    assert _parts(warehouse)[("video_snapshots", "2026-03-20")] == 9
