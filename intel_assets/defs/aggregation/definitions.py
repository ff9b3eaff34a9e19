"""The aggregation domain: hourly and daily rollups, the daily performance tables, schedules.

The hourly job runs at :05 for the hour before; the daily job at 00:15 UTC for the day before,
by which time the last hour of the day has been rolled up.
"""

import dagster as dg

from intel_assets.defs.aggregation.checks import daily_tables_checks, hourly_metrics_checks
from intel_assets.defs.aggregation.daily import daily_rollup
from intel_assets.defs.aggregation.hourly import hourly_metrics
from intel_assets.defs.aggregation.performance import (
    duration_performance,
    premiere_performance,
    regional_performance,
)
from intel_assets.defs.limits import max_runtime

DAILY_ASSETS = [daily_rollup, duration_performance, regional_performance, premiere_performance]

# An hour rolls up in seconds and a week's backfill in about a minute.
hourly_metrics_job = dg.define_asset_job(
    "hourly_metrics_job", selection=[hourly_metrics], tags=max_runtime(30)
)
hourly_metrics_schedule = dg.build_schedule_from_partitioned_job(
    hourly_metrics_job,
    name="hourly_metrics_schedule",
    description="Every hour at :05 UTC, rolls up the hour before into hourly_metrics.",
    minute_of_hour=5,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
daily_rollup_job = dg.define_asset_job(
    "daily_rollup_job", selection=DAILY_ASSETS, tags=max_runtime(30)
)
daily_rollup_schedule = dg.build_schedule_from_partitioned_job(
    daily_rollup_job,
    name="daily_rollup_schedule",
    description="Every day at 00:15 UTC, rolls up the day before into daily_rollup and the "
    "duration, regional and premiere tables.",
    hour_of_day=0,
    minute_of_hour=15,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(
    assets=[hourly_metrics, *DAILY_ASSETS],
    asset_checks=[hourly_metrics_checks, daily_tables_checks],
    jobs=[hourly_metrics_job, daily_rollup_job],
    schedules=[hourly_metrics_schedule, daily_rollup_schedule],
)
