"""Data and a server for the read API, shared by its tests and its benchmark.

`fill_through_pipeline` fills a warehouse and a hot tier the way production does: the real
sensor, collection, analysis and rollup assets over past hours on the simulator.
`running_api` runs the `intel-assets api` command as a separate process on loopback.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx

from intel_assets.defs.aggregation.broadcaster_growth import twitch_broadcaster_growth
from intel_assets.defs.aggregation.definitions import DAILY_ASSETS
from intel_assets.defs.aggregation.hourly import hourly_metrics
from intel_assets.defs.aggregation.twitch_stats import twitch_game_stats
from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.dev.history_seeding import SeedReport, seed_history, simulator_resources
from intel_assets.dev.local_deployment import free_port
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import PROJECT_ROOT
from intel_assets.simulator import Simulator


class ServingSetupError(RuntimeError):
    """Filling the data or starting the API did not work (not a finding about the API)."""


def fill_through_pipeline(
    warehouse_url: str, redis_url: str, hours: int, end: datetime
) -> SeedReport:
    """Collect, analyse and roll up the `hours` hours before `end` on an in-process simulator.

    `seed_history` replays the hours through the collection sensor and the collection and
    analysis assets; then `hourly_metrics` covers the hours in one run and the daily assets
    (with `twitch_broadcaster_growth`, and `twitch_game_stats`) the day they begin on. `end`
    should be a UTC midnight, so the hours are one day's.

    Raises:
        ServingSetupError: A seeding run or a rollup failed.
    """
    warehouse = PostgresWarehouse(url=warehouse_url)
    start = end - timedelta(hours=hours)
    last_hour = end - timedelta(hours=1)
    try:
        with Simulator(seed=5, videos_per_game_per_day=40, channels=500).running() as sim:
            resources = simulator_resources(
                sim.youtube_url,
                sim.twitch_url,
                sim.auth_url,
                warehouse,
                RedisHotTier(url=redis_url),
                CollectionPolicy(regions=["US", "JP"]),
            )
            report = seed_history(hours / 24, resources, end=end)
        if report.failed:
            raise ServingSetupError(f"{report.failed} seeding runs failed")
        rollups = [
            dg.materialize(
                [hourly_metrics],
                resources={"warehouse": warehouse},
                tags={
                    "dagster/asset_partition_range_start": f"{start:%Y-%m-%d-%H:%M}",
                    "dagster/asset_partition_range_end": f"{last_hour:%Y-%m-%d-%H:%M}",
                },
                raise_on_error=False,
            ),
            dg.materialize(
                [*DAILY_ASSETS, twitch_broadcaster_growth],
                partition_key=f"{start:%Y-%m-%d}",
                resources={"warehouse": warehouse, "collection_policy": CollectionPolicy()},
                raise_on_error=False,
            ),
            dg.materialize(
                [twitch_game_stats],
                partition_key=f"{start:%Y-%m-%d}",
                resources={"warehouse": warehouse, "collection_policy": CollectionPolicy()},
                raise_on_error=False,
            ),
        ]
        if not all(r.success for r in rollups):
            raise ServingSetupError("a rollup of the seeded hours failed")
    finally:
        warehouse.close()
    return report


@contextmanager
def running_api(postgres_url: str, redis_url: str, state_dir: Path, api_key: str) -> Iterator[str]:
    """`intel-assets api` on a free loopback port, with `api_key` as its only client key.

    Its output goes to `state_dir / "api.log"`.

    Yields:
        Its base URL, once `/v1/games` answers 200.

    Raises:
        ServingSetupError: The command exited or did not answer within 60 s.
    """
    port = free_port()
    env = dict(
        os.environ,
        INTEL_STATE_DIR=str(state_dir),
        INTEL_POSTGRES_URL=postgres_url,
        # Set so that starting the API creates no Dagster database; the API never opens it.
        INTEL_DAGSTER_POSTGRES_URL=postgres_url,
        INTEL_REDIS_URL=redis_url,
        INTEL_API_KEYS=api_key,
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "api.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "intel_assets", "api", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_answering(process, base_url, api_key, log_path)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_answering(
    process: "subprocess.Popen[bytes]", base_url: str, api_key: str, log_path: Path
) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise ServingSetupError(f"the API exited with {process.returncode}; see {log_path}")
        try:
            answer = httpx.get(f"{base_url}/v1/games", headers={"X-API-Key": api_key})
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise ServingSetupError(f"the API did not answer within 60 s; see {log_path}")
        time.sleep(0.2)
