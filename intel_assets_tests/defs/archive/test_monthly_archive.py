from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.handlers
import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from intel_assets.defs.archive.monthly import monthly_archive
from intel_assets.defs.archive.tables import ARCHIVED_TABLES, TABLES_BY_NAME
from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.archive.conftest import (
    BUCKET,
    download_prefix,
    s3_resource,
    seed_month,
    ts,
)
from intel_assets_tests.defs.snapshot_rows import insert_videos

MARCH = "2026-03-01"

POSTGRES_TO_ARROW = {
    "text": "string",
    "integer": "int32",
    "bigint": "int64",
    "double precision": "double",
    "boolean": "bool",
    "timestamp with time zone": "timestamp[us, tz=UTC]",
    "date": "date32[day]",
    "ARRAY": "list<item: string>",
    "jsonb": "string",
}


def _archive(
    warehouse: PostgresWarehouse, store: ArchiveStore, month: str = MARCH, **kwargs: Any
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [monthly_archive],
        partition_key=month,
        resources={"warehouse": warehouse, "archive": store},
        **kwargs,
    )


def _manifest(warehouse: PostgresWarehouse) -> dict[str, int]:
    rows = warehouse.fetch_dicts("SELECT table_name, row_count FROM intel_archive_manifest")
    return {r["table_name"]: r["row_count"] for r in rows}


def test_declared_schemas_are_the_postgres_tables(warehouse: PostgresWarehouse):
    for table in ARCHIVED_TABLES:
        columns = warehouse.fetch_dicts(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = %s AND table_schema = 'public' ORDER BY ordinal_position",
            (table.name,),
        )
        declared = [(f.name, str(f.type), f.nullable) for f in table.schema]
        in_postgres = [
            (c["column_name"], POSTGRES_TO_ARROW[c["data_type"]], c["is_nullable"] == "YES")
            for c in columns
        ]
        assert declared == in_postgres, table.name


def test_a_month_in_a_folder_reads_back_in_duckdb_and_pandas(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore
):
    expected = seed_month(warehouse)

    result = _archive(warehouse, folder_store)

    assert result.success
    root = Path(folder_store.url)
    files = f"{root}/table=*/month=*/*.parquet"
    query = (
        f"SELECT \"table\", month, count(*) FROM read_parquet('{files}', "
        "hive_partitioning = true, union_by_name = true) GROUP BY ALL"
    )
    counts = duckdb.connect().execute(query).fetchall()
    assert {t: n for t, m, n in counts if m == "2026-03"} == {
        t: n for t, n in expected.items() if n
    }
    assert _manifest(warehouse) == expected
    # No temporary files are left beside the objects.
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["part-0.parquet"] * 18
    videos = pd.read_parquet(root / "table=video_snapshots/month=2026-03/part-0.parquet")
    # In day order (a snapshot month is compacted from its days), key order within a day.
    assert videos["video_id"].tolist() == ["first", "mid", "last"]
    first = videos.iloc[0]
    assert list(first["tags"]) == ["fps", "ñandú 🎮"]
    assert pd.isna(first["like_count"]) and first["view_count"] == 10
    assert first["collected_at"] == pd.Timestamp("2026-03-01", tz="UTC")
    assert videos.iloc[1]["view_count"] == 2**40
    hourly = pd.read_parquet(root / "table=intel_hourly_metrics/month=2026-03/part-0.parquet")
    assert hourly["language_distribution"].tolist() == ['{"en": 1, "es": 1}', "{}"]
    metadata = result.asset_materializations_for_node("monthly_archive")[0].metadata
    assert metadata["dagster/row_count"].value == sum(expected.values()) == 23
    assert metadata["tables_archived"].value == 18


def test_a_month_in_s3_reads_back_in_duckdb_with_the_same_row_counts(
    warehouse: PostgresWarehouse, s3_store: ArchiveStore, tmp_path: Path
):
    expected = seed_month(warehouse)

    assert _archive(warehouse, s3_store).success

    keys = download_prefix(s3_store, tmp_path)
    assert keys == sorted(f"table={t}/month=2026-03/part-0.parquet" for t in expected)
    for table, count in expected.items():
        path = tmp_path / f"table={table}" / "month=2026-03" / "part-0.parquet"
        query = f"SELECT count(*) FROM read_parquet('{path}')"
        assert duckdb.connect().execute(query).fetchall() == [(count,)]
        footer = pq.read_metadata(path)
        assert footer.schema.to_arrow_schema().equals(TABLES_BY_NAME[table].schema)
        assert footer.row_group(0).column(0).compression == "ZSTD"
    manifest = warehouse.fetch_dicts(
        "SELECT object_url FROM intel_archive_manifest WHERE table_name = 'video_snapshots'"
    )
    assert manifest[0]["object_url"] == (
        f"s3://{BUCKET}/{s3_store.key('table=video_snapshots/month=2026-03/part-0.parquet')}"
    )


def _big_video_month(warehouse: PostgresWarehouse, rows: int) -> None:
    # Random hex descriptions do not compress: the file needs several 5 MiB upload parts.
    rng = np.random.default_rng(3)
    descriptions = [bytes(rng.bytes(64)).hex() for _ in range(rows)]
    insert_videos(
        warehouse,
        (
            dict(video_id=f"v{i}", game_key="fortnite",
                 collected_at=datetime(2026, 3, 1 + i % 28, i % 24, tzinfo=UTC),
                 description=descriptions[i])
            for i in range(rows)
        ),
    )  # fmt: skip


def test_an_upload_that_fails_half_way_leaves_no_object_and_the_month_not_archived(
    warehouse: PostgresWarehouse,
    moto_url: str,
    s3_store: ArchiveStore,
    monkeypatch: pytest.MonkeyPatch,
):
    _big_video_month(warehouse, rows=80_000)
    attempts: list[str] = []

    def drop_second_part(request: Any, **_: Any) -> None:
        if "partNumber=2&" in request.url or request.url.endswith("partNumber=2"):
            attempts.append(request.url)
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)

    # Every botocore session made from now on (the run's S3 client too) loses part 2 on the
    # wire: a network failure half way through the upload, nothing of ours replaced.
    monkeypatch.setattr(
        botocore.handlers,
        "BUILTIN_HANDLERS",
        [*botocore.handlers.BUILTIN_HANDLERS, ("before-send.s3.UploadPart", drop_second_part)],
    )
    store = ArchiveStore(
        url=s3_store.url, s3=s3_resource(moto_url, max_attempts=2), multipart_chunk_mib=5
    )

    result = _archive(warehouse, store, raise_on_error=False)

    assert not result.success
    # The first try and botocore's two retries (its max_attempts counts retries) all lost.
    assert len(attempts) == 3
    client = s3_resource(moto_url).get_client()
    prefix = store.key("table=video_snapshots/")
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    assert listed.get("KeyCount", 0) == 0
    assert client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []) == []
    manifest = _manifest(warehouse)
    assert "video_snapshots" not in manifest
    # The other tables of the month were archived; only the failed one is missing.
    assert manifest["stream_snapshots"] == 0

    # The same month archives once the network is back, in several parts.
    monkeypatch.undo()
    assert _archive(warehouse, store).success
    head = client.head_object(Bucket=BUCKET, Key=f"{prefix}month=2026-03/part-0.parquet")
    assert head["ContentLength"] > 5 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-2")  # a two-part multipart upload
    assert _manifest(warehouse)["video_snapshots"] == 80_000


def test_a_verified_month_is_not_overwritten_by_fewer_rows(
    warehouse: PostgresWarehouse, folder_store: ArchiveStore
):
    seed_month(warehouse)
    assert _archive(warehouse, folder_store).success
    with warehouse.connection() as conn:
        conn.execute("DELETE FROM video_snapshots WHERE video_id = 'mid'")

    result = _archive(warehouse, folder_store)

    assert result.success
    assert _manifest(warehouse)["video_snapshots"] == 3
    path = Path(folder_store.url) / "table=video_snapshots/month=2026-03/part-0.parquet"
    assert pq.read_metadata(path).num_rows == 3
    metadata = result.asset_materializations_for_node("monthly_archive")[0].metadata
    assert metadata["tables_archived"].value == 17


def test_month_bounds_are_utc_and_half_open():
    table = TABLES_BY_NAME["video_snapshots"]
    assert table.bounds(date(2026, 12, 1)) == (ts(2026, 12, 1), ts(2027, 1, 1))
    assert TABLES_BY_NAME["intel_daily_metrics"].bounds(date(2026, 2, 1)) == (
        date(2026, 2, 1),
        date(2026, 3, 1),
    )
