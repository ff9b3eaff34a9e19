"""The circuit breaker's states, shared through a real Redis server."""

from datetime import UTC, datetime

import pytest
import redis

from intel_assets.resources.breaker import CircuitBreaker
from intel_assets.resources.errors import CircuitOpenError


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def breaker(url: str, clock: Clock, api: str = "youtube") -> CircuitBreaker:
    return CircuitBreaker(
        redis.Redis.from_url(url, decode_responses=True),
        api=api,
        failure_threshold=3,
        open_seconds=900,
        probe_seconds=60,
        clock=clock,
    )


def test_three_consecutive_failures_open_it_for_900_seconds(redis_url: str):
    clock = Clock(1_800_000_000.0)
    first = breaker(redis_url, clock)
    other = breaker(redis_url, clock)  # another process's view of the same API
    first.record_failure()
    first.record_failure()
    assert other.status().state == "closed" and other.status().failures == 2
    opened = first.record_failure()
    assert opened.state == "open"
    assert opened.open_until == datetime.fromtimestamp(1_800_000_900, UTC)  # now + 900 s

    status = other.status()
    assert (status.state, status.failures) == ("open", 3)
    with pytest.raises(CircuitOpenError) as refused:
        other.allow()
    assert refused.value.open_until == datetime.fromtimestamp(1_800_000_900, UTC)
    # other APIs are not affected
    breaker(redis_url, clock, api="twitch").allow()


def test_a_success_resets_the_count(redis_url: str):
    clock = Clock(1_800_000_000.0)
    guard = breaker(redis_url, clock)
    guard.record_failure()
    guard.record_failure()
    guard.record_success(guard.allow())  # the permit saw 2 failures: the success writes
    guard.record_failure()
    guard.record_failure()
    assert guard.status().state == "closed"  # 2 consecutive, not 4


def test_after_the_open_time_one_probe_goes_through(redis_url: str):
    clock = Clock(1_800_000_000.0)
    first, second = breaker(redis_url, clock), breaker(redis_url, clock)
    for _ in range(3):
        first.record_failure()
    clock.now += 900  # the open time is over
    assert second.status().state == "half_open"
    probe = first.allow()
    assert probe.probe
    with pytest.raises(CircuitOpenError):
        second.allow()  # only one probe at a time
    first.record_success(probe)
    assert second.status().state == "closed"
    assert not second.allow().probe


def test_a_failed_probe_opens_it_again(redis_url: str):
    clock = Clock(1_800_000_000.0)
    guard = breaker(redis_url, clock)
    for _ in range(3):
        guard.record_failure()
    clock.now += 901
    assert guard.allow().probe
    reopened = guard.record_failure()
    assert reopened.state == "open"
    assert reopened.open_until == datetime.fromtimestamp(1_800_000_901 + 900, UTC)


def test_a_stuck_probe_is_replaced_after_its_time(redis_url: str):
    clock = Clock(1_800_000_000.0)
    guard = breaker(redis_url, clock)
    for _ in range(3):
        guard.record_failure()
    clock.now += 900
    assert guard.allow().probe
    clock.now += 61  # the probe's 60 s are over without an outcome
    assert guard.allow().probe
