"""Collecting and analysing every game through a deployment of processes: 1 Celery worker vs 2.

Each round is the deployment `test_scale_out.py` drives (`intel_assets.dev.local_deployment`):
`intel-assets code-server`, `webserver`, `daemon` and N `worker`s with INTEL_EXECUTOR=celery,
on a fresh warehouse and Dagster database of the benchmark's servers, its Redis emptied, against
a simulator frozen at one instant (the same world in every round). One run per game of the
catalog (its YouTube and Twitch collections, their checks and its analysis) is queued through
the webserver as the UI queues it; the daemon launches them under dagster.yaml's limits (4 runs,
2 per API pool). The time is from the first run queued to the last one finished, as an operator
waits for it: the daemon's ticks and each run's process start are in it, the deployment's own
start is not. Rounds go 1, 2, 2, 1 workers, so drift in the machine's load falls on both.
"""

import os
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import psutil
import redis

from benchmarks import environment
from benchmarks.harness import check
from benchmarks.measure import row, seconds
from intel_assets.catalog import load_catalog
from intel_assets.dev import local_deployment as deployment
from intel_assets.dev.history_seeding import (
    SIMULATOR_CLIENT_ID,
    SIMULATOR_CLIENT_SECRET,
    SIMULATOR_KEY,
)
from intel_assets.settings import with_database
from intel_assets.simulator import Simulator

FROZEN_AT = datetime(2026, 6, 15, 18, 0, tzinfo=UTC)
# No worker is killed here, so the visibility timeout only has to exceed every step.
VISIBILITY_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class Round:
    """One timed round.

    Attributes:
        workers: Celery workers in the deployment.
        seconds: First run queued to last run finished.
        step_seconds: The steps' own durations, summed (STEP_START to STEP_SUCCESS).
        run_seconds: The runs' durations (start to end), summed.
        queued_seconds: The runs' waits from queued to started, summed.
        pool_processes: Distinct worker processes that ran steps.
        runs: Runs (one per game).
    """

    workers: int
    seconds: float
    step_seconds: float
    run_seconds: float
    queued_seconds: float
    pool_processes: int
    runs: int


@contextmanager
def _instance_environment(variables: dict[str, str]) -> Iterator[None]:
    """This process's environment with `variables` set (the Dagster instance reads them)."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _flush(redis_url: str) -> None:
    """Empty the hot tier's database and the two Celery takes after it."""
    for database in (0, 1, 2):
        client = redis.Redis.from_url(redis_url.replace("db=0", f"db={database}"))
        client.flushdb()
        client.close()


def _step_seconds(instance: dg.DagsterInstance, run_id: str) -> tuple[float, set[int]]:
    """The run's steps' durations summed, and the processes that ran them."""
    started: dict[str, float] = {}
    total, pids = 0.0, set()
    for entry in instance.all_logs(
        run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    ):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key or ""] = entry.timestamp
        else:
            total += entry.timestamp - started[event.step_key or ""]
            pids.add(event.pid or 0)
    return total, pids


def one_round(workers: int, games: Sequence[str], number: int) -> Round:
    """Start a deployment with `workers` workers, collect and analyse `games`, time it."""
    env = environment.current()
    check(env.redis_url.endswith("?db=0"), f"expected a Redis URL on db 0: {env.redis_url}")
    _flush(env.redis_url)
    state = env.scratch / f"workers-round-{number}"
    with (
        env.database() as warehouse_url,
        env.database(migrated=False) as dagster_url,
        Simulator(seed=11, videos_per_game_per_day=60, channels=800).running() as simulator,
    ):
        simulator.set_clock(FROZEN_AT)
        dagster_url = with_database(
            dagster_url, urlsplit(dagster_url).path.lstrip("/"), driver="psycopg2"
        )
        variables = deployment.environment(
            os.environ,
            state_dir=state,
            warehouse_url=warehouse_url,
            dagster_url=dagster_url,
            redis_url=env.redis_url,
            api={
                "YOUTUBE_API_URL": simulator.youtube_url,
                "TWITCH_API_URL": simulator.twitch_url,
                "TWITCH_AUTH_URL": simulator.auth_url,
                "YOUTUBE_API_KEY": SIMULATOR_KEY,
                "TWITCH_CLIENT_ID": SIMULATOR_CLIENT_ID,
                "TWITCH_CLIENT_SECRET": SIMULATOR_CLIENT_SECRET,
            },
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
        )
        (state / "logs").mkdir(parents=True)
        cluster = deployment.Deployment(env=variables, logs=state / "logs")
        names = [f"bench-{number}-{n}" for n in range(workers)]
        try:
            cluster.start(names)
            home = {
                "DAGSTER_HOME": str(state / "dagster_home"),
                "INTEL_DAGSTER_POSTGRES_URL": dagster_url,
            }
            with _instance_environment(home), dg.DagsterInstance.get() as instance:
                started = time.perf_counter()
                # The first run alone: Dagster creates the pools' limits on the first dequeue
                # that needs them and enforces them from the next one (see test_scale_out.py).
                run_ids = [deployment.launch(cluster.url, games[0], {})]

                def first_dequeued() -> bool:
                    run = instance.get_run_by_id(run_ids[0])
                    return run is not None and run.status != dg.DagsterRunStatus.QUEUED

                cluster.wait("the first run to leave the queue", first_dequeued, 300)
                run_ids += [deployment.launch(cluster.url, game, {}) for game in games[1:]]
                cluster.wait("every run", lambda: deployment.runs_finished(instance, run_ids), 1800)
                elapsed = time.perf_counter() - started
                failed = [
                    run_id
                    for run_id in run_ids
                    if (run := instance.get_run_by_id(run_id)) is None
                    or run.status != dg.DagsterRunStatus.SUCCESS
                ]
                check(not failed, f"runs failed with {workers} workers: {failed}")
                step_total, pids = 0.0, set()
                for run_id in run_ids:
                    run_steps, run_pids = _step_seconds(instance, run_id)
                    step_total += run_steps
                    pids |= run_pids
                records = [instance.get_run_record_by_id(run_id) for run_id in run_ids]
                running = sum((r.end_time or 0) - (r.start_time or 0) for r in records if r)
                queued = sum(
                    (r.start_time or 0) - r.create_timestamp.timestamp() for r in records if r
                )
        except BaseException:
            print(cluster.log_tails())
            raise
        finally:
            cluster.stop()
    worker_pids = len(pids)
    check(worker_pids == workers, f"{workers} workers, but {worker_pids} processes ran steps")
    return Round(workers, elapsed, step_total, running, queued, worker_pids, len(run_ids))


def run(smoke: bool) -> list[dict[str, Any]]:
    """Time the catalog's games with one worker and with two."""
    games = load_catalog().keys
    order = (1, 2) if smoke else (1, 2, 2, 1)
    rounds = [one_round(n, games[:1] if smoke else games, i) for i, n in enumerate(order)]
    by_workers = {
        n: [r for r in rounds if r.workers == n] for n in sorted({r.workers for r in rounds})
    }
    one = statistics.mean(r.seconds for r in by_workers[1])
    two = statistics.mean(r.seconds for r in by_workers[2])
    steps_one = statistics.mean(r.step_seconds for r in by_workers[1])
    steps_two = statistics.mean(r.step_seconds for r in by_workers[2])
    count = rounds[0].runs
    running = statistics.mean(r.run_seconds for r in rounds) / count
    queued = statistics.mean(r.queued_seconds for r in rounds) / count
    listed = "; ".join(
        f"{r.workers} worker{'s' * (r.workers > 1)}: {r.seconds:.1f} s" for r in rounds
    )
    spread = max(
        (max(r.seconds for r in group) - min(r.seconds for r in group))
        / statistics.mean(r.seconds for r in group)
        for group in by_workers.values()
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [
        row(
            f"collect and analyse all {count} games through the deployment, 2 Celery workers vs 1",
            f"2 workers: {seconds(two)} ({steps_two:.0f} s of steps)",
            f"1 worker: {seconds(one)} ({steps_one:.0f} s of steps)",
            f"{one / two:.2f}x",
            "none set: on 2 cores this shows contention, not scaling",
            met=None,
            note=(
                f"One run per game ({count}: YouTube and Twitch collection, their checks, the "
                "eight analyzers), queued through the webserver, launched by the daemon "
                "(4 runs at once, 2 per API pool), every step a Celery task; mean of "
                f"{len(by_workers[1])} rounds each, in the order {listed}; two rounds of the "
                f"same setting differed by up to {spread:.0%}, so the ratio is only as good as "
                "that. On this 2-core machine the two workers share the same two cores with "
                "each other, the run processes, the daemon, the code server, the webserver and "
                "Postgres: a second worker brings no CPU, only the overlap of one step's waits "
                "(HTTP, Postgres) with another's work, so the row mostly shows contention, not "
                "what a second machine gives. The steps (STEP_START to STEP_SUCCESS, summed "
                f"over the runs) took {steps_one:.0f} s with one worker and {steps_two:.0f} s "
                "with two. Most of the wall time is not steps at all: a run waited "
                f"{queued:.0f} s on average from queued to started (the daemon's ticks, the "
                "pool's limit of 2 runs per API, the run's own `dagster` process starting) "
                f"and then ran {running:.0f} s. Load average at the end: {load:.1f} on "
                f"{psutil.cpu_count()} cores, from other work on the machine."
            ),
        )
    ]
