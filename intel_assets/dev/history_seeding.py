"""`intel-assets seed-history`: past days of snapshots, collected through the real path.

A new user's warehouse is empty, so there is nothing to backfill in the UI. This replays the
last N days on the simulator: the process clock travels hour by hour (the `time-machine`
package moves `datetime.now()` for our code and for the simulator running in this process),
and at each step the real `collection_sensor` decides what is due and the real collection
assets run for it in process with their checks, followed by the game's analysis. The rows that
land are the ones the live pipeline would have written at those times, so every hourly and
daily partition of those days can be computed from them.

Only for the simulator: real APIs cannot answer for the past.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from intel_assets.catalog import load_catalog
from intel_assets.defs.analysis.assets import intel_analysis
from intel_assets.defs.collection.assets import CollectionPolicy, twitch_streams, youtube_videos
from intel_assets.defs.collection.checks import COLLECTION_CHECKS
from intel_assets.defs.collection.sensors import collection_sensor
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.twitch import TwitchResource
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube import YouTubeResource

log = logging.getLogger(__name__)

SIMULATOR_KEY = "simulator-key"
SIMULATOR_CLIENT_ID = "simulator-client"
SIMULATOR_CLIENT_SECRET = "simulator-secret"


@dataclass(frozen=True)
class FailedCheck:
    """An asset check that failed during a seeding.

    Attributes:
        at: The simulated time of the run.
        partition: The run's game.
        check: The check's name.
        severity: "ERROR" or "WARN".
        description: What the check found.
    """

    at: datetime
    partition: str
    check: str
    severity: str
    description: str


@dataclass
class SeedReport:
    """What a seeding did.

    Attributes:
        start: The first simulated time.
        end: The last simulated time.
        runs: Materializations by asset key.
        failed: Runs that failed (their errors are logged).
        checks: Asset check evaluations by check name, passed or not.
        failed_checks: Asset check evaluations that failed (ERROR ones also fail their run).
    """

    start: datetime
    end: datetime
    runs: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    checks: dict[str, int] = field(default_factory=dict)
    failed_checks: list[FailedCheck] = field(default_factory=list)


def simulator_resources(
    youtube_url: str,
    twitch_url: str,
    auth_url: str,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    policy: CollectionPolicy | None = None,
) -> dict[str, Any]:
    """The collection resources, pointed at a simulator that accepts its default credentials."""
    return {
        "youtube": YouTubeResource(
            api_key=SIMULATOR_KEY, api_url=youtube_url, redis=hot_tier, warehouse=warehouse
        ),
        "twitch": TwitchResource(
            client_id=SIMULATOR_CLIENT_ID,
            client_secret=SIMULATOR_CLIENT_SECRET,
            api_url=twitch_url,
            auth_url=auth_url,
            redis=hot_tier,
            warehouse=warehouse,
        ),
        "warehouse": warehouse,
        "hot_tier": hot_tier,
        "collection_policy": policy or CollectionPolicy(),
    }


_JOBS = {"youtube_collection_job": youtube_videos, "twitch_collection_job": twitch_streams}


def _run_request(
    request: dg.RunRequest,
    at: datetime,
    resources: Mapping[str, Any],
    instance: dg.DagsterInstance,
    with_analysis: bool,
    report: SeedReport,
) -> None:
    """Run one of the sensor's requests in process, with its checks, and count it in `report`.

    Writes what the collection (and the game's analysis after a YouTube collection) writes:
    the snapshot tables, the collection state, the analysis history and the hot tier.
    """
    asset = _JOBS[request.job_name or ""]
    checks = COLLECTION_CHECKS[asset.key]
    followers = [intel_analysis] if with_analysis and asset is youtube_videos else []
    outcome = dg.materialize(
        [asset, checks, *followers],
        partition_key=request.partition_key,
        # A seeding's hundreds of runs would flood the terminal at DEBUG.
        run_config={
            **request.run_config,
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        },
        tags=request.tags,
        resources=dict(resources),
        instance=instance,
        raise_on_error=False,
    )
    if not outcome.success:
        report.failed += 1
        log.warning(f"seeding {request.run_key} failed; see the run's events")
    for event in outcome.get_asset_materialization_events():
        name = event.asset_key.to_user_string() if event.asset_key else "?"
        report.runs[name] = report.runs.get(name, 0) + 1
    for check in outcome.get_asset_check_evaluations():
        report.checks[check.check_name] = report.checks.get(check.check_name, 0) + 1
        if not check.passed:
            report.failed_checks.append(
                FailedCheck(
                    at=at,
                    partition=request.partition_key or "",
                    check=check.check_name,
                    severity=check.severity.value,
                    description=check.description or "",
                )
            )


def seed_history(
    days: float,
    resources: Mapping[str, Any],
    *,
    end: datetime | None = None,
    step: timedelta = timedelta(hours=1),
    on_step: Callable[[datetime], None] | None = None,
    with_analysis: bool = True,
    on_hours: Callable[[datetime, datetime], None] | None = None,
    batch: timedelta = timedelta(hours=6),
) -> SeedReport:
    """Collect the `days` before `end` (default: the start of this hour) through the sensor.

    Args:
        days: How many days to replay.
        resources: The collection (and analysis) resources, on a simulator in this process.
        end: The first time not replayed.
        step: Simulated time between two sensor evaluations.
        on_step: Called with each simulated time (progress output).
        with_analysis: Run the analysis assets after each YouTube collection.
        on_hours: Called on the real clock with each `[start, end)` whose collections are done,
            every `batch` of simulated time and at the end (to backfill them as they land).
        batch: Simulated time between two calls of `on_hours`.
    """
    import time_machine

    stop = end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = stop - timedelta(days=days)
    report = SeedReport(start=start, end=stop)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("games", load_catalog().keys)
    cursor: str | None = None
    at = start
    batch_start = start
    while at < stop:
        # Five minutes past the step: the hour's collections land inside that hour.
        with time_machine.travel(at + timedelta(minutes=5), tick=False):
            if on_step is not None:
                on_step(at)
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=dict(resources)
            ) as context:
                result = collection_sensor(context)
            assert isinstance(result, dg.SensorResult)
            cursor = result.cursor
            for request in result.run_requests or []:
                _run_request(request, at, resources, instance, with_analysis, report)
        at += step
        if on_hours is not None and (at - batch_start >= batch or at >= stop):
            on_hours(batch_start, min(at, stop))
            batch_start = at
    return report
