"""Each tier's schedule requests the partition that has just closed."""

from datetime import UTC, datetime

import dagster as dg
import pytest

from intel_assets.definitions import defs
from intel_assets.defs.archive.definitions import retention_schedule


@pytest.mark.parametrize(
    ("name", "cron", "tick", "partition"),
    [
        # At 10:05 the hour 09:00-10:00 is complete.
        ("hourly_metrics_schedule", "5 * * * *", datetime(2026, 3, 4, 10, 5), "2026-03-04-09:00"),
        # At 00:15 on 1 March the day before is complete (2026 is not a leap year).
        ("daily_rollup_schedule", "15 0 * * *", datetime(2026, 3, 1, 0, 15), "2026-02-28"),
        ("twitch_game_stats_schedule", "20 0 * * *", datetime(2026, 3, 1, 0, 20), "2026-02-28"),
        # On the 1st, after the month's last day has its statistics (00:20).
        (
            "twitch_game_stats_monthly_schedule",
            "45 0 1 * *",
            datetime(2026, 5, 1, 0, 45),
            "2026-04-01",
        ),
        # At 00:30 the snapshot tables' day before is complete: its parts are archived.
        ("daily_archive_schedule", "30 0 * * *", datetime(2026, 3, 1, 0, 30), "2026-02-28"),
        # On the 1st at 01:00 the month before is complete.
        ("monthly_archive_schedule", "0 1 1 * *", datetime(2026, 5, 1, 1, 0), "2026-04-01"),
    ],
)
def test_a_schedule_requests_the_period_that_just_ended(
    name: str, cron: str, tick: datetime, partition: str
):
    # The jobs take their partitions from their assets, so the schedules resolve in `defs`.
    schedule = defs().resolve_schedule_def(name)
    context = dg.build_schedule_context(scheduled_execution_time=tick.replace(tzinfo=UTC))
    result = schedule.evaluate_tick(context)

    assert schedule.cron_schedule == cron
    assert schedule.execution_timezone == "UTC"
    assert [r.partition_key for r in result.run_requests or []] == [partition]


def test_retention_runs_daily_after_the_monthly_archive():
    assert retention_schedule.cron_schedule == "30 2 * * *"
    assert retention_schedule.execution_timezone == "UTC"
