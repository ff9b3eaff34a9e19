import multiprocessing
import os
import signal
import time
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import redis

from intel_assets.catalog import load_catalog
from intel_assets.defs.collection.assets import COLLECTION_ID_TAG, CollectionPolicy, youtube_videos
from intel_assets.dev.history_seeding import seed_history, simulator_resources
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import pacific_day
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Fault, Simulator
from intel_assets.simulator.server import RunningSimulator
from intel_assets_tests.clock import pacific_time
from intel_assets_tests.defs.collection.conftest import REGIONS, api_resources


def _collect_in_child(urls: dict[str, str], collection_id: str) -> None:
    warehouse = PostgresWarehouse(url=urls["warehouse"])
    hot_tier = RedisHotTier(url=urls["redis"])
    resources = simulator_resources(
        urls["youtube"], urls["twitch"], urls["auth"], warehouse, hot_tier,
        CollectionPolicy(regions=REGIONS),
    )  # fmt: skip
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("games", ["fortnite"])
    dg.materialize(
        [youtube_videos],
        partition_key="fortnite",
        resources=resources,
        instance=instance,
        tags={COLLECTION_ID_TAG: collection_id},
    )


def test_a_run_killed_half_way_and_run_again_leaves_exactly_one_snapshot(
    simulator: RunningSimulator,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    warehouse_url: str,
    redis_url: str,
):
    # The child stalls in channels.list, the last API call before the snapshot is written.
    simulator.inject(
        Fault(kind="slow", api="youtube", path_prefix="/youtube/v3/channels", delay_seconds=60)
    )
    urls = {
        "warehouse": warehouse_url, "redis": redis_url, "youtube": simulator.youtube_url,
        "twitch": simulator.twitch_url, "auth": simulator.auth_url,
    }  # fmt: skip
    child = multiprocessing.get_context("spawn").Process(
        target=_collect_in_child, args=(urls, "fortnite:slot-7")
    )
    child.start()
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 120
    while simulator.counts()["youtube"]["videos.list"]["calls"] < len(REGIONS) * 4:
        assert time.monotonic() < deadline, "the child never fetched the charts"
        assert child.is_alive()
        time.sleep(0.1)
    time.sleep(1.0)  # past the charts, now waiting on the slow channels.list
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)
    client.close()
    assert warehouse.fetch_dicts(b"SELECT count(*) AS n FROM video_snapshots") == [{"n": 0}]

    simulator.clear_faults()
    resources = api_resources(simulator, warehouse, hot_tier)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("games", ["fortnite"])
        assert dg.materialize(
            [youtube_videos],
            partition_key="fortnite",
            resources=resources,
            instance=instance,
            tags={COLLECTION_ID_TAG: "fortnite:slot-7"},
        ).success
    snapshots = warehouse.fetch_dicts(
        b"SELECT collection_id, count(DISTINCT collected_at) AS snapshots, count(*) AS videos, "
        b"count(DISTINCT video_id) AS distinct_videos FROM video_snapshots GROUP BY 1"
    )
    assert len(snapshots) == 1
    assert snapshots[0]["collection_id"] == "fortnite:slot-7"
    assert snapshots[0]["snapshots"] == 1
    assert snapshots[0]["videos"] == snapshots[0]["distinct_videos"] > 0


@pytest.mark.long
def test_a_simulated_day_stays_under_target_and_keeps_priority_one_games_fresh(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier
):
    # One Pacific quota day, midnight to midnight, stepped hourly through the real sensor.
    # Twitch (no YouTube quota) only every 6 hours, to keep the test short.
    end = pacific_time(0) + timedelta(days=1)
    with Simulator(seed=3, videos_per_game_per_day=60, channels=800).running() as sim:
        resources: dict[str, Any] = simulator_resources(
            sim.youtube_url, sim.twitch_url, sim.auth_url, warehouse, hot_tier,
            CollectionPolicy(regions=REGIONS, twitch_interval_minutes=360),
        )  # fmt: skip
        report = seed_history(1, resources, end=end, with_analysis=False)
        charged = sim.units_by_bucket(pacific_day(end - timedelta(hours=1)))
    assert report.failed == 0

    limits = {"default": 10_000, "search": 100, "batch_stats": 10_000}
    shares = {bucket: charged[bucket] / limit for bucket, limit in limits.items()}
    print(f"bucket shares of the day's limit: {shares} ({charged} units)")
    assert all(share <= 0.5 for share in shares.values())
    assert charged["default"] > 0 and charged["search"] > 0 and charged["batch_stats"] > 0

    times = warehouse.fetch_frame(
        b"SELECT game_key, collected_at FROM video_snapshots GROUP BY 1, 2 ORDER BY 1, 2"
    )
    catalog = load_catalog()
    for game in catalog.keys:
        seen = pd.to_datetime(times.loc[times["game_key"] == game, "collected_at"], utc=True)
        edges = pd.Series([pd.Timestamp(report.start), *seen, pd.Timestamp(report.end)])
        worst = edges.diff().max().to_pytimedelta()
        print(f"{game}: {len(seen)} collections, staleness at worst {worst}")
        if catalog.get(game).priority == 1:
            assert worst < timedelta(hours=4)
