"""`run_outcomes_sensor`: every run that ends, counted for Prometheus by the daemon.

Runs end in many processes on many machines (run workers, Celery workers, Kubernetes pods), but
every run's end is an event in the instance's event log, and the daemon sees them all. Each tick
reads the run-status events (success, failure, canceled) after the cursor in pages, looks up the
runs' start and end times, and counts each run once in Redis (`intel_assets.counters`),
where `intel-assets metrics` reads it. A first tick starts from the beginning of the event log,
so runs that ended before the sensor existed are counted too, a page per tick.
"""

import json
from collections.abc import Mapping, Sequence

import dagster as dg

from intel_assets.counters import RunOutcome, record_run_outcomes
from intel_assets.resources.hot_tier import RedisHotTier

RUN_EVENTS: Mapping[str, dg.DagsterEventType] = {
    "success": dg.DagsterEventType.RUN_SUCCESS,
    "failure": dg.DagsterEventType.RUN_FAILURE,
    "canceled": dg.DagsterEventType.RUN_CANCELED,
}
PAGE_SIZE = 200
"""Run-status events read per outcome and tick."""


def _durations(
    instance: dg.DagsterInstance, run_ids: Sequence[str]
) -> dict[str, tuple[str, float | None]]:
    """Run id to (job name, seconds from start to end; None if the run never started)."""
    if not run_ids:
        return {}
    records = instance.get_run_records(dg.RunsFilter(run_ids=list(run_ids)))
    found: dict[str, tuple[str, float | None]] = {}
    for record in records:
        run = record.dagster_run
        start, end = record.start_time, record.end_time
        seconds = end - start if start is not None and end is not None else None
        found[run.run_id] = (run.job_name, seconds)
    return found


def outcomes_after(
    instance: dg.DagsterInstance, cursors: Mapping[str, str | None]
) -> tuple[list[RunOutcome], dict[str, str | None], bool]:
    """The runs that ended after the cursors: (outcomes, new cursors, whether more are left)."""
    outcomes: list[RunOutcome] = []
    new_cursors: dict[str, str | None] = {}
    more = False
    for outcome, event_type in RUN_EVENTS.items():
        result = instance.fetch_run_status_changes(
            event_type, limit=PAGE_SIZE, cursor=cursors.get(outcome), ascending=True
        )
        new_cursors[outcome] = result.cursor if result.records else cursors.get(outcome)
        more = more or result.has_more
        entries = [record.event_log_entry for record in result.records]
        runs = _durations(instance, [entry.run_id for entry in entries])
        for entry in entries:
            job, seconds = runs.get(entry.run_id, (entry.job_name or "unknown", None))
            outcomes.append(RunOutcome(entry.run_id, job, outcome, seconds))
    return outcomes, new_cursors, more


@dg.sensor(
    name="run_outcomes_sensor",
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Counts every run that ends (outcome per job, duration) in Redis for the "
    "Prometheus metrics of intel-assets metrics; launches nothing.",
)
def run_outcomes_sensor(
    context: dg.SensorEvaluationContext, hot_tier: RedisHotTier
) -> dg.SkipReason:
    """Count the runs that ended since the last tick; the cursor moves only once they are."""
    cursors: dict[str, str | None] = json.loads(context.cursor) if context.cursor else {}
    outcomes, new_cursors, more = outcomes_after(context.instance, cursors)
    counted = record_run_outcomes(hot_tier.client(), outcomes) if outcomes else 0
    context.update_cursor(json.dumps(new_cursors, sort_keys=True))
    return dg.SkipReason(
        f"counted {counted} ended runs ({len(outcomes) - counted} already counted)"
        + ("; more to read next tick" if more else "")
    )
