"""The deployment on more than one machine, as separate real processes on one machine.

One test starts what a production deployment runs, each as its own process on the test
Postgres and Redis servers: the gRPC code server, the webserver, the daemon and two Celery
workers (`INTEL_EXECUTOR=celery`). It launches one multi-step run per game (collection, its
checks and the analysis) through the webserver into the instance's run queue, lets the daemon
launch them, and kills one worker's whole process tree while it runs a step. It then checks
what the issue asks: the steps ran in both workers, the killed step finished on the other
worker and the run did not hang, every game's rows equal those of the same runs executed in
process against the same frozen simulator, the shared quota ledger saw every unit the API
charged (none over the limit), the pools held, and Prometheus counts the runs and analyses.
"""

import multiprocessing
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import pytest
import redis
import yaml
from prometheus_client.parser import text_string_to_metric_families

from intel_assets import services
from intel_assets.definitions import build_resources
from intel_assets.defs.analysis.assets import intel_analysis
from intel_assets.defs.collection.assets import twitch_streams, youtube_videos
from intel_assets.defs.collection.checks import twitch_streams_checks, youtube_videos_checks
from intel_assets.dev import local_deployment as deployment
from intel_assets.dev.history_seeding import (
    SIMULATOR_CLIENT_ID,
    SIMULATOR_CLIENT_SECRET,
    SIMULATOR_KEY,
)
from intel_assets.prometheus import build_registry, metrics_text
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import PROJECT_ROOT, with_database
from intel_assets.simulator import Fault, Simulator
from intel_assets.simulator.server import RunningSimulator
from intel_assets_tests.conftest import create_test_database, drop_test_database, with_redis_db

# The simulator stands still here, so every collection of a game sees the same world.
FROZEN_AT = datetime(2026, 6, 15, 18, 0, tzinfo=UTC)
GAMES = ("fortnite", "valorant")
# The run whose worker is killed: the only one granted a search.list call, so a slow search
# stalls its collection and no other.
VICTIM = "apex_legends"
# Above every step of this test (seconds each), far below the production default of 2 h.
VISIBILITY_TIMEOUT_SECONDS = 20
SEARCH_STALL_SECONDS = 25
REGIONS = ["US", "JP"]
DISTRIBUTED_DB, IN_PROCESS_DB = 0, 3  # Redis databases; Celery takes 1 (broker) and 2 (results)


def _run_config(game: str) -> dict[str, Any]:
    # No uploads sweep: which collection of the hour reads the playlists would depend on the
    # order the runs happen to start in, and the counts must not.
    config: dict[str, Any] = {
        "resources": {"collection_policy": {"config": {"regions": REGIONS, "uploads_playlists": 0}}}
    }
    if game == VICTIM:
        config["ops"] = {"youtube_videos": {"config": {"search_calls": 1}}}
    return config


def _ledger_units(redis_url: str, database: int) -> dict[str, int]:
    """YouTube units the shared quota ledger reserved per bucket, over every window."""
    client = redis.Redis.from_url(with_redis_db(redis_url, database), decode_responses=True)
    units: dict[str, int] = {}
    for key in client.scan_iter("intel:quota:youtube:*"):
        parts = key.split(":")
        if len(parts) == 5:  # intel:quota:youtube:{bucket}:{window}, not the ":closed" flags
            units[parts[3]] = units.get(parts[3], 0) + int(client.get(key) or 0)
    client.close()
    return units


def _flush(redis_url: str, *databases: int) -> None:
    for database in databases:
        client = redis.Redis.from_url(with_redis_db(redis_url, database))
        client.flushdb()
        client.close()


def _counts(warehouse_url: str) -> dict[str, Any]:
    """Per game: video rows, streams, and each analyzer's sample size and staleness."""
    warehouse = PostgresWarehouse(url=warehouse_url)
    try:
        videos = warehouse.fetch_dicts(
            b"SELECT game_key, count(*) AS n, count(DISTINCT video_id) AS ids, "
            b"count(DISTINCT collected_at) AS snapshots FROM video_snapshots GROUP BY 1"
        )
        streams = warehouse.fetch_dicts(
            b"SELECT game_key, count(*) AS n FROM stream_snapshots GROUP BY 1"
        )
        analyses = warehouse.fetch_dicts(
            b"SELECT analyzer, game_key, sample_size, stale FROM intel_analysis_results"
        )
    finally:
        warehouse.close()
    return {
        "videos": {r["game_key"]: (r["n"], r["ids"], r["snapshots"]) for r in videos},
        "streams": {r["game_key"]: r["n"] for r in streams},
        "analyses": {
            (r["analyzer"], r["game_key"]): (r["sample_size"], r["stale"]) for r in analyses
        },
    }


def _in_process_runs(env: dict[str, str]) -> None:
    """The same runs, one per game, with Dagster's in-process execution (in a child process,
    so the test can watch the deployment meanwhile)."""
    os.environ.update(env)
    resources = build_resources()
    assets = [youtube_videos, youtube_videos_checks, twitch_streams, twitch_streams_checks]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("games", [*GAMES, VICTIM])
        for game in [*GAMES, VICTIM]:
            result = dg.materialize(
                [*assets, intel_analysis],
                partition_key=game,
                run_config={
                    **_run_config(game),
                    "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                },
                resources=resources,
                instance=instance,
            )
            assert result.success, game


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _simulator() -> Simulator:
    return Simulator(
        seed=11, videos_per_game_per_day=60, channels=800, twitch_streamers_per_category=4000
    )


@pytest.fixture
def simulators() -> Iterator[tuple[RunningSimulator, RunningSimulator]]:
    """Two simulators of the same world frozen at the same instant: one for the deployment, one
    for the in-process runs, so each side's quota and faults are its own."""
    with _simulator().running() as deployed, _simulator().running() as in_process:
        deployed.set_clock(FROZEN_AT)
        in_process.set_clock(FROZEN_AT)
        yield deployed, in_process


def _api_environment(simulator: RunningSimulator) -> dict[str, str]:
    return {
        "YOUTUBE_API_URL": simulator.youtube_url,
        "TWITCH_API_URL": simulator.twitch_url,
        "TWITCH_AUTH_URL": simulator.auth_url,
        "YOUTUBE_API_KEY": SIMULATOR_KEY,
        "TWITCH_CLIENT_ID": SIMULATOR_CLIENT_ID,
        "TWITCH_CLIENT_SECRET": SIMULATOR_CLIENT_SECRET,
    }


@pytest.fixture
def dagster_database(endpoints: services.Endpoints) -> Iterator[str]:
    """A fresh database for this test's Dagster instance (dagster-postgres creates its schema)."""
    url = create_test_database(endpoints, None)
    yield url
    drop_test_database(endpoints, url)


@pytest.fixture
def in_process_warehouse_url(
    endpoints: services.Endpoints, template_database: str
) -> Iterator[str]:
    url = create_test_database(endpoints, template_database)
    yield url
    drop_test_database(endpoints, url)


@pytest.mark.timeout(420)
@pytest.mark.long
def test_runs_spread_over_two_celery_workers_survive_a_killed_one_and_match_in_process(
    simulators: tuple[RunningSimulator, RunningSimulator],
    warehouse_url: str,
    in_process_warehouse_url: str,
    dagster_database: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    simulator, in_process_simulator = simulators
    _flush(redis_url, 1, 2, IN_PROCESS_DB)
    env = deployment.environment(
        os.environ,
        state_dir=tmp_path / "state",
        warehouse_url=warehouse_url,
        dagster_url=with_database(
            dagster_database, urlsplit(dagster_database).path.lstrip("/"), driver="psycopg2"
        ),
        redis_url=redis_url,
        api=_api_environment(simulator),
        visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
    )
    (tmp_path / "logs").mkdir()
    cluster = deployment.Deployment(env=env, logs=tmp_path / "logs")
    suffix = uuid.uuid4().hex[:6]
    workers = (f"worker-a-{suffix}", f"worker-b-{suffix}")
    # The same runs in process, on a warehouse, Redis database and simulator of their own, in a
    # child process while the deployment starts and works.
    in_process = multiprocessing.get_context("spawn").Process(
        target=_in_process_runs,
        args=(
            {
                **_api_environment(in_process_simulator),
                "INTEL_POSTGRES_URL": in_process_warehouse_url,
                "INTEL_REDIS_URL": with_redis_db(redis_url, IN_PROCESS_DB),
                "INTEL_ARCHIVE_URL": str(tmp_path / "archive-in-process"),
            },
        ),
    )
    try:
        cluster.start(workers, meanwhile=in_process.start)
        # The victim's search call hangs: its worker is killed while it waits.
        simulator.inject(
            Fault(
                kind="slow",
                api="youtube",
                path_prefix="/youtube/v3/search",
                delay_seconds=SEARCH_STALL_SECONDS,
            )
        )
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "state" / "dagster_home"))
        monkeypatch.setenv("INTEL_DAGSTER_POSTGRES_URL", env["INTEL_DAGSTER_POSTGRES_URL"])
        with dg.DagsterInstance.get() as instance:
            # The first run alone: its first two steps go to the two idle workers. (Dagster
            # also creates a pool's limit, dagster.yaml's default, when it first dequeues a run
            # that needs the pool, and enforces it from the next pass on.)
            first = GAMES[0]
            run_ids = {first: deployment.launch(cluster.url, first, _run_config(first))}

            def both_workers_ran_steps() -> bool:
                events = deployment.step_events(
                    instance, run_ids[first], dg.DagsterEventType.STEP_SUCCESS
                )
                pids = {pid for _, pid in events}
                return all(pids & cluster.tree_pids(name) for name in workers)

            cluster.wait("steps of the first run in both workers", both_workers_ran_steps, 240)
            # The victim takes the pool's second slot; the last game waits for a free one.
            run_ids[VICTIM] = deployment.launch(cluster.url, VICTIM, _run_config(VICTIM))
            for game in GAMES[1:]:
                run_ids[game] = deployment.launch(cluster.url, game, _run_config(game), priority=-1)

            def victim_youtube_starts() -> list[int]:
                started = deployment.step_events(
                    instance, run_ids[VICTIM], dg.DagsterEventType.STEP_START
                )
                return [pid for step, pid in started if step == "youtube_videos"]

            def victim_stalled() -> bool:
                searches = simulator.counts()["youtube"]["search.list"]["calls"]
                return searches >= 1 and bool(victim_youtube_starts())

            cluster.wait("the victim's search call", victim_stalled, 240)
            [stalled_pid] = victim_youtube_starts()
            killed = next(w for w in workers if stalled_pid in cluster.tree_pids(w))
            survivor = next(w for w in workers if w != killed)
            survivor_pids = cluster.tree_pids(survivor)
            killed_pids = cluster.tree_pids(killed)
            cluster.kill_tree(killed)

            in_process.join(timeout=300)
            assert in_process.exitcode == 0, "the in-process runs failed; see the output above"
            cluster.wait(
                "every run to finish",
                lambda: deployment.runs_finished(instance, list(run_ids.values())),
                240,
            )
            records = {
                game: instance.get_run_record_by_id(run_id) for game, run_id in run_ids.items()
            }
            statuses = {game: r.dagster_run.status for game, r in records.items() if r}
            assert statuses == {g: dg.DagsterRunStatus.SUCCESS for g in run_ids}, statuses
            # The kill cost no run: no retry or re-execution was needed.
            assert len(instance.get_run_records()) == len(run_ids)

            successes = {
                game: deployment.step_events(instance, run_id, dg.DagsterEventType.STEP_SUCCESS)
                for game, run_id in run_ids.items()
            }
            # Every step ran in a Celery worker's pool process, and both workers ran steps.
            step_pids = {pid for events in successes.values() for _, pid in events}
            in_killed = step_pids & killed_pids
            in_survivor = step_pids & survivor_pids
            assert in_killed and in_survivor, (step_pids, killed_pids, survivor_pids)
            assert step_pids == in_killed | in_survivor
            # The stalled step started in the killed worker and succeeded in the other.
            victim_youtube = [pid for step, pid in successes[VICTIM] if step == "youtube_videos"]
            assert len(victim_youtube) == 1 and victim_youtube[0] in survivor_pids

            # Steps that must not run together kept their pools: no more runs calling the
            # YouTube API at once than the pool's limit (granularity: run).
            limit = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())["concurrency"][
                "pools"
            ]["default_limit"]
            spans = [(r.start_time or 0.0, r.end_time or 0.0) for r in records.values() if r]
            most_at_once = max(sum(s <= at < e for s, e in spans) for at, _ in spans)
            assert 1 <= most_at_once <= limit, spans
            durations = [end - start for start, end in spans]

        # Same rows as in process: per game, per analyzer. The killed game holds one run's
        # rows: one snapshot, written under its run's collection id.
        assert _counts(warehouse_url) == _counts(in_process_warehouse_url)
        warehouse = PostgresWarehouse(url=warehouse_url)
        try:
            victim_rows = warehouse.fetch_dicts(
                b"SELECT collection_id, count(DISTINCT collected_at) AS snapshots "
                b"FROM video_snapshots WHERE game_key = 'apex_legends' GROUP BY 1"
            )
        finally:
            warehouse.close()
        assert victim_rows == [{"collection_id": run_ids[VICTIM], "snapshots": 1}]

        # Each API charged nothing that the shared ledger had not reserved first: across two
        # workers (one killed mid-call) and three run processes, as in one process; and
        # nothing is over the day's limits.
        day = FROZEN_AT.date()
        for sim, database in ((simulator, DISTRIBUTED_DB), (in_process_simulator, IN_PROCESS_DB)):
            charged = sim.units_by_bucket(day)
            ledger = _ledger_units(redis_url, database)
            assert {b: ledger.get(b, 0) for b in charged} == charged, (database, ledger, charged)
            limits = sim.quota_limits()
            assert all(charged[b] <= limits[b] for b in charged), (charged, limits)
        # The victim's one granted search call: in the killed worker, then in the other.
        assert simulator.units_by_bucket(day)["search"] == 2
        assert in_process_simulator.units_by_bucket(day)["search"] == 1

        # Prometheus: the daemon's sensor counted the three successful runs with their
        # durations; the analyses counted one outcome per analyzer and game, as in process.
        distributed = with_redis_db(redis_url, DISTRIBUTED_DB)

        def runs_counted() -> bool:
            text = metrics_text(build_registry(distributed, None)).decode()
            labels = frozenset({("job", "__ASSET_JOB"), ("outcome", "success")})
            return _samples(text).get(("intel_run_outcomes_total", labels)) == len(run_ids)

        cluster.wait("the run outcomes sensor", runs_counted, 90)
        samples = _samples(metrics_text(build_registry(distributed, None)).decode())
        job = frozenset({("job", "__ASSET_JOB")})
        assert samples[("intel_run_duration_seconds_count", job)] == len(run_ids)
        assert samples[("intel_run_duration_seconds_sum", job)] == pytest.approx(sum(durations))
        in_process_samples = _samples(
            metrics_text(build_registry(with_redis_db(redis_url, IN_PROCESS_DB), None)).decode()
        )
        analyzer_samples = {
            key: value
            for key, value in samples.items()
            if key[0] == "intel_analyzer_outcomes_total"
        }
        assert analyzer_samples == {
            key: value
            for key, value in in_process_samples.items()
            if key[0] == "intel_analyzer_outcomes_total"
        }
        assert sum(analyzer_samples.values()) == 8 * len(run_ids)
    except BaseException:
        print(cluster.log_tails())
        raise
    finally:
        if in_process.is_alive():
            in_process.kill()
        cluster.stop()
        _flush(redis_url, 1, 2, IN_PROCESS_DB)
