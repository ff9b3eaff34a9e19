"""What the API client tests share: quick retry settings and a simulator reset between tests."""

from typing import Any

from intel_assets.simulator import DEFAULT_QUOTA_LIMITS, RunningSimulator

# Retries without real waiting (a test asserting a wait sets it through Retry-After).
FAST: dict[str, Any] = {
    "backoff_base_seconds": 0.01,
    "backoff_cap_seconds": 0.05,
    "timeout_seconds": 5.0,
}


def reset_simulator(sim: RunningSimulator) -> RunningSimulator:
    """The simulator as new: no faults, no counts, no quota spent, default limits, wall clock."""
    sim.clear_faults()
    sim.follow_wall_clock()
    sim.reset_counts()
    sim.reset_quota()
    for bucket, units in DEFAULT_QUOTA_LIMITS.items():
        sim.set_quota_limit(bucket, units)
    return sim
