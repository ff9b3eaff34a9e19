import uuid

import dagster as dg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from intel_assets.counters import (
    read_analyzer_outcomes,
    read_run_metrics,
    record_analyzer_outcomes,
)
from intel_assets.defs.operations.sensors import run_outcomes_sensor
from intel_assets.prometheus import build_registry, metrics_text
from intel_assets.resources.hot_tier import RedisHotTier


@dg.asset
def fine() -> int:
    return 1


@dg.asset
def broken() -> int:
    raise ValueError("this asset always fails")


def _tick(instance: dg.DagsterInstance, hot_tier: RedisHotTier, cursor: str | None):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"hot_tier": hot_tier}
    ) as context:
        result = run_outcomes_sensor(context)
        assert isinstance(result, dg.SkipReason)  # it counts; it never launches a run
        return result.skip_message, context.cursor


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_each_ended_run_is_counted_once_with_its_outcome_job_and_duration(redis_url: str):
    hot_tier = RedisHotTier(url=redis_url)
    with dg.instance_for_test() as instance:
        assert dg.materialize([fine], instance=instance).success
        assert not dg.materialize([broken], instance=instance, raise_on_error=False).success
        # A run canceled while queued: it ends without ever starting, so it has no duration.
        queued = dg.DagsterRun(job_name="queued_job", run_id=str(uuid.uuid4()))
        instance.add_run(queued)
        instance.report_run_canceled(queued)
        records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
        durations = [
            r.end_time - r.start_time
            for r in records.values()
            if r.start_time is not None and r.end_time is not None
        ]
        assert len(records) == 3 and len(durations) == 2

        message, cursor = _tick(instance, hot_tier, None)
        assert message == "counted 3 ended runs (0 already counted)"
        # The next tick starts after the cursor: nothing new.
        assert _tick(instance, hot_tier, cursor)[0] == "counted 0 ended runs (0 already counted)"
        # A tick that lost its cursor reads every run again and counts none twice.
        assert _tick(instance, hot_tier, None)[0] == "counted 0 ended runs (3 already counted)"

    job = "__ephemeral_asset_job__"
    metrics = read_run_metrics(hot_tier.client())
    assert metrics.outcomes == {
        (job, "success"): 1,
        (job, "failure"): 1,
        ("queued_job", "canceled"): 1,
    }
    assert metrics.duration_count == {job: 2}
    assert metrics.duration_sum[job] == pytest.approx(sum(durations))

    samples = _samples(metrics_text(build_registry(redis_url, None)).decode())
    for outcome in ("success", "failure"):
        labels = frozenset({("job", job), ("outcome", outcome)})
        assert samples[("intel_run_outcomes_total", labels)] == 1
    canceled = frozenset({("job", "queued_job"), ("outcome", "canceled")})
    assert samples[("intel_run_outcomes_total", canceled)] == 1
    by_job = frozenset({("job", job)})
    assert samples[("intel_run_duration_seconds_count", by_job)] == 2
    # Both runs took well under 5 minutes and over 0 s: the histogram's buckets say so.
    assert samples[("intel_run_duration_seconds_bucket", by_job | {("le", "300")})] == 2
    assert samples[("intel_run_duration_seconds_bucket", by_job | {("le", "+Inf")})] == 2
    for bound in (5, 15, 30, 60):
        expected = sum(d <= bound for d in durations)
        le = by_job | {("le", str(bound))}
        assert samples[("intel_run_duration_seconds_bucket", le)] == expected


def test_analyzer_outcomes_add_up_per_analyzer_and_outcome(redis_url: str):
    client = RedisHotTier(url=redis_url).client()
    assert record_analyzer_outcomes(client, {"viral": "fresh", "title": "rejected"})
    assert record_analyzer_outcomes(client, {"viral": "stale", "title": "rejected"})
    assert read_analyzer_outcomes(client) == {
        ("viral", "fresh"): 1,
        ("viral", "stale"): 1,
        ("title", "rejected"): 2,
    }
    samples = _samples(metrics_text(build_registry(redis_url, None)).decode())
    rejected = frozenset({("analyzer", "title"), ("outcome", "rejected")})
    assert samples[("intel_analyzer_outcomes_total", rejected)] == 2
