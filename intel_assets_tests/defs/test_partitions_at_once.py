"""Each partitioned asset materialized twice at once: one run's rows, no error, no duplicate.

Two runs start together on a barrier, each in its own thread with its own Dagster instance and
its own warehouse pool, as two `dagster asset materialize` processes would; then a third run
alone gives the reference: the rows a single run writes.
"""

import multiprocessing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from dagster_aws.s3 import S3Resource

from intel_assets.catalog import load_catalog
from intel_assets.defs.aggregation.definitions import DAILY_ASSETS
from intel_assets.defs.aggregation.hourly import hourly_metrics
from intel_assets.defs.analysis.assets import intel_analysis
from intel_assets.defs.archive.monthly import monthly_archive
from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.snapshot_rows import insert_analysis, insert_streams, insert_videos

DAY = datetime(2026, 3, 4, tzinfo=UTC)
HOUR = DAY + timedelta(hours=5)


def _seed(warehouse: PostgresWarehouse) -> None:
    """Three fortnite videos seen twice in hour 05 and once in hour 09, one minecraft stream."""
    videos = []
    for minutes, factor in ((10, 1), (40, 2)):
        at = HOUR + timedelta(minutes=minutes)
        videos += [
            dict(video_id=f"v{n}", game_key="fortnite", collected_at=at,
                 view_count=100 * n * factor, like_count=10 * n, comment_count=n,
                 duration_seconds=30 * n ** 3,
                 is_short=n == 1, default_audio_language="en" if n != 2 else "es",
                 published_at=DAY)
            for n in (1, 2, 3)
        ]  # fmt: skip
    videos.append(
        dict(video_id="v1", game_key="fortnite", collected_at=DAY + timedelta(hours=9),
             view_count=900, like_count=90, comment_count=9, duration_seconds=30,
             is_short=True, default_audio_language="en", published_at=DAY)
    )  # fmt: skip
    insert_videos(warehouse, videos)
    insert_streams(
        warehouse,
        [dict(stream_id="s1", game_key="minecraft", collected_at=HOUR + timedelta(minutes=5),
              viewer_count=7)],
    )  # fmt: skip
    insert_analysis(warehouse, "viral", "fortnite", HOUR + timedelta(minutes=30), {})


def _run(
    assets: list[Any], partition: str, resources: dict[str, Any], tags: dict[str, str] | None
) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("games", load_catalog().keys)
        return dg.materialize(
            assets,
            partition_key=partition,
            resources=resources,
            instance=instance,
            tags=tags,
            raise_on_error=False,
        )


ASSETS: dict[str, list[Any]] = {
    "hourly": [hourly_metrics],
    "daily": list(DAILY_ASSETS),
    "analysis": [intel_analysis],
    "archive": [monthly_archive],
}


def _resources(urls: dict[str, str]) -> dict[str, Any]:
    return {
        "warehouse": PostgresWarehouse(url=urls["warehouse"]),
        "hot_tier": RedisHotTier(url=urls["redis"]),
        "archive": ArchiveStore(url=urls["archive"], s3=S3Resource()),
    }


def _run_in_child(kind: str, partition: str, urls: dict[str, str], start: Any, done: Any) -> None:
    """One `dagster asset materialize`: its own process, instance and pools."""
    resources = _resources(urls)
    start.wait()
    result = _run(ASSETS[kind], partition, resources, None)
    done.put(result.success)


def _twice_at_once(kind: str, partition: str, urls: dict[str, str]) -> list[bool]:
    """Materialize the partition in two processes that start on a barrier; their outcomes.

    Processes, not threads: in-process runs configure Python logging as they start, which is
    not safe while another run in the same process logs.
    """
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    done = context.Queue()
    children = [
        context.Process(target=_run_in_child, args=(kind, partition, urls, start, done))
        for _ in range(2)
    ]
    for child in children:
        child.start()
    outcomes = [done.get(timeout=300) for _ in children]
    for child in children:
        child.join(timeout=60)
    return outcomes


def _table(warehouse: PostgresWarehouse, table: str, order: str) -> pd.DataFrame:
    frame = warehouse.fetch_frame(f"SELECT * FROM {table} ORDER BY {order}")  # type: ignore[arg-type]
    return frame.drop(columns=[c for c in ("id",) if c in frame.columns])


def _assert_one_runs_rows(
    warehouse: PostgresWarehouse,
    tables: dict[str, str],
    rerun: Callable[[], dg.ExecuteInProcessResult],
    expected_rows: dict[str, int],
) -> None:
    at_once = {table: _table(warehouse, table, order) for table, order in tables.items()}
    assert {table: len(rows) for table, rows in at_once.items()} == expected_rows
    assert rerun().success
    for table, order in tables.items():
        pd.testing.assert_frame_equal(_table(warehouse, table, order), at_once[table])


@pytest.fixture
def urls(warehouse_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {"warehouse": warehouse_url, "redis": redis_url, "archive": str(tmp_path / "archive")}


def test_hourly_metrics_twice_at_once(warehouse: PostgresWarehouse, urls: dict[str, str]):
    _seed(warehouse)
    assert _twice_at_once("hourly", "2026-03-04-05:00", urls) == [True, True]
    # Hour 05: fortnite (its 3 videos, 6 snapshots) and minecraft (1 stream): 2 rows.
    _assert_one_runs_rows(
        warehouse,
        {"intel_hourly_metrics": "category_key"},
        lambda: _run([hourly_metrics], "2026-03-04-05:00", {"warehouse": warehouse}, None),
        {"intel_hourly_metrics": 2},
    )
    hour = warehouse.fetch_dicts(
        "SELECT video_count, snapshot_count, total_views FROM intel_hourly_metrics "
        "WHERE category_key = 'fortnite'"
    )
    # Each video's latest snapshot of the hour (05:40): 200 + 400 + 600 views.
    assert hour == [{"video_count": 3, "snapshot_count": 6, "total_views": 1200}]


def test_the_daily_tables_twice_at_once(warehouse: PostgresWarehouse, urls: dict[str, str]):
    _seed(warehouse)
    for hour in ("2026-03-04-05:00", "2026-03-04-09:00"):
        assert _run([hourly_metrics], hour, {"warehouse": warehouse}, None).success
    assert _twice_at_once("daily", "2026-03-04", urls) == [True, True]
    tables = {
        "intel_daily_metrics": "category_key",
        "intel_duration_performance": "category_key, bucket_label",
        "intel_regional_performance": "category_key, language_code",
        "intel_premiere_performance": "category_key",
    }
    counts = {t: len(_table(warehouse, t, order)) for t, order in tables.items()}
    assert counts["intel_daily_metrics"] == 2  # fortnite and minecraft
    _assert_one_runs_rows(
        warehouse,
        tables,
        lambda: _run(DAILY_ASSETS, "2026-03-04", {"warehouse": warehouse}, None),
        counts,
    )


def test_the_analysis_twice_at_once(warehouse: PostgresWarehouse, urls: dict[str, str]):
    _seed(warehouse)
    assert _twice_at_once("analysis", "fortnite", urls) == [True, True]
    analyzers = len(intel_analysis.keys)
    # One row per analyzer as of the newest snapshot (09:00), whatever the two runs did.
    rows = warehouse.fetch_dicts(
        "SELECT count(*)::int AS n, count(DISTINCT analyzer)::int AS analyzers, "
        "min(as_of) AS first, max(as_of) AS last FROM intel_analysis_results "
        "WHERE game_key = 'fortnite' AND as_of > %s",
        (HOUR + timedelta(minutes=30),),
    )[0]
    assert rows["n"] == rows["analyzers"] <= analyzers
    assert rows["first"] == rows["last"] == DAY + timedelta(hours=9)


def test_the_monthly_archive_twice_at_once(warehouse: PostgresWarehouse, urls: dict[str, str]):
    _seed(warehouse)
    assert _twice_at_once("archive", "2026-03-01", urls) == [True, True]
    manifest = warehouse.fetch_dicts(
        "SELECT table_name, row_count FROM intel_archive_manifest ORDER BY table_name"
    )
    by_table = {r["table_name"]: r["row_count"] for r in manifest}
    # March's 7 video rows and 1 stream row, archived once each, whichever run wrote last.
    assert by_table["video_snapshots"] == 7 and by_table["stream_snapshots"] == 1
    assert len(manifest) == len({r["table_name"] for r in manifest})
