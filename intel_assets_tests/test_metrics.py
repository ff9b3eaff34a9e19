import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import psycopg
import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from intel_assets.catalog import load_catalog
from intel_assets.defs.collection.assets import twitch_streams, youtube_videos
from intel_assets.prometheus import build_registry, metrics_text
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import PROJECT_ROOT
from intel_assets.simulator import Simulator
from intel_assets.simulator.server import RunningSimulator
from intel_assets_tests.clock import pacific_time
from intel_assets_tests.conftest import free_port
from intel_assets_tests.defs.collection.conftest import api_resources


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    with Simulator(seed=11, videos_per_game_per_day=40, channels=300).running() as running:
        yield running


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def counting_warehouse(warehouse_url: str, hot_tier: RedisHotTier) -> Iterator[PostgresWarehouse]:
    """The warehouse counting the rows it writes in this test's Redis."""
    resource = PostgresWarehouse(url=warehouse_url, metrics=hot_tier)
    yield resource
    resource.close()


def _samples(text: str) -> Samples:
    """Every sample of an exposition, by name and labels (the text must parse)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def _collect(resources: dict[str, Any], at: datetime) -> None:
    with dg.instance_for_test() as instance, time_machine.travel(at, tick=False):
        instance.add_dynamic_partitions("games", load_catalog().keys)
        for asset in (youtube_videos, twitch_streams):
            assert dg.materialize(
                [asset], partition_key="fortnite", resources=resources, instance=instance
            ).success


def test_a_scrape_after_a_collection_holds_every_metric(
    simulator: RunningSimulator,
    counting_warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    warehouse_url: str,
    redis_url: str,
):
    collected = pacific_time(8)
    _collect(api_resources(simulator, counting_warehouse, hot_tier), collected)
    calls = simulator.counts()
    rows = {
        table: counting_warehouse.fetch_dicts(f"SELECT count(*) AS n FROM {table}".encode())[0]["n"]
        for table in ("video_snapshots", "stream_snapshots", "channel_snapshots")
    }
    # Scraped 90 minutes later, the same Pacific day.
    with time_machine.travel(collected + timedelta(minutes=90), tick=False):
        samples = _samples(metrics_text(build_registry(redis_url, warehouse_url)).decode())
        units = simulator.units_by_bucket()

    # Every call the simulator answered was counted once, as a 2xx attempt with a latency.
    videos_list = calls["youtube"]["videos.list"]["calls"]
    assert videos_list > 0
    assert (
        _value(samples, "intel_api_calls_total", api="youtube", method="videos.list", status="2xx")
        == videos_list
    )
    assert (
        _value(samples, "intel_api_latency_seconds_count", api="youtube", method="videos.list")
        == videos_list
    )
    assert (
        _value(
            samples,
            "intel_api_latency_seconds_bucket",
            api="youtube",
            method="videos.list",
            le="+Inf",
        )
        == videos_list
    )
    assert (
        _value(samples, "intel_api_calls_total", api="twitch", method="streams", status="2xx") > 0
    )
    assert not [name for name, _ in samples if name == "intel_api_errors_total"]
    # The ledger's units per bucket are the units the simulator charged this Pacific day.
    assert units["default"] > 0
    for bucket in ("default", "search", "batch_stats"):
        used = _value(samples, "intel_quota_used_units", platform="youtube", bucket=bucket)
        assert used == units.get(bucket, 0)
    assert _value(samples, "intel_quota_limit_units", platform="youtube", bucket="search") == 100
    assert _value(samples, "intel_circuit_breaker_state", api="youtube", state="closed") == 1
    assert _value(samples, "intel_circuit_breaker_state", api="twitch", state="open") == 0
    # Rows written per table: the tables hold exactly what the two collections wrote.
    for table, count in rows.items():
        assert _value(samples, "intel_rows_written_total", table=table) == count
    # One state row per collection: youtube and twitch of fortnite.
    assert _value(samples, "intel_rows_written_total", table="intel_collection_state") == 2
    # Both of fortnite's collections happened at the frozen `collected`: 90 min = 5400 s old.
    for source in ("youtube", "twitch"):
        assert _value(samples, "intel_data_age_seconds", game="fortnite", source=source) == 5400
    assert _value(samples, "intel_metrics_source_up", source="redis") == 1
    assert _value(samples, "intel_metrics_source_up", source="postgres") == 1


def test_a_scrape_with_redis_down_still_answers_and_says_so(warehouse_url: str, tmp_path: Path):
    nowhere = f"unix://{tmp_path / 'no-redis.sock'}?db=0"

    samples = _samples(metrics_text(build_registry(nowhere, warehouse_url)).decode())

    assert _value(samples, "intel_metrics_source_up", source="redis") == 0
    assert _value(samples, "intel_metrics_source_up", source="postgres") == 1
    assert not [name for name, _ in samples if name.startswith("intel_api_")]


def test_the_metrics_command_serves_the_scrape_and_stops_on_sigterm(
    warehouse_url: str, redis_url: str, hot_tier: RedisHotTier, tmp_path: Path
):
    from intel_assets.counters import record_rows_written

    record_rows_written(hot_tier.client(), {"video_snapshots": 7})
    port = free_port()
    env = dict(
        os.environ,
        INTEL_STATE_DIR=str(tmp_path),
        INTEL_POSTGRES_URL=warehouse_url,
        INTEL_REDIS_URL=redis_url,
    )
    command = [str(Path(sys.executable).parent / "intel-assets"), "metrics", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        text = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and text is None:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.HTTPError:
                time.sleep(0.2)
        assert text is not None
        samples = _samples(text)
        assert _value(samples, "intel_rows_written_total", table="video_snapshots") == 7
        assert _value(samples, "intel_metrics_source_up", source="redis") == 1
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0


def test_rows_are_counted_once_committed_and_a_rolled_back_write_counts_nothing(
    counting_warehouse: PostgresWarehouse, hot_tier: RedisHotTier
):
    from intel_assets.counters import read_rows_written
    from intel_assets.resources.warehouse import RowScope

    scope = RowScope(equals={"game_key": "fortnite", "source": "youtube"})
    columns = ["game_key", "source", "last_row_count"]
    counting_warehouse.replace_rows(
        "intel_collection_state", columns, [("fortnite", "youtube", 3)], scope=scope
    )
    with pytest.raises(psycopg.errors.CheckViolation):
        # 'tiktok' breaks the table's CHECK on source: the transaction rolls back.
        counting_warehouse.replace_rows(
            "intel_collection_state", columns, [("fortnite", "tiktok", 1)], scope=scope
        )

    assert read_rows_written(hot_tier.client()) == {"intel_collection_state": 1}
