"""The archive domain: the daily parts, the monthly Parquet archive and retention, scheduled.

The snapshot tables' day parts are written every day at 00:30 UTC for the day before; the
monthly archive runs on the 1st at 01:00 UTC for the month before, compacting those parts;
retention daily at 02:30 UTC, pruning only what a verified archive holds.
"""

import dagster as dg

from intel_assets.defs.archive.checks import monthly_archive_checks, retention_checks
from intel_assets.defs.archive.daily import daily_archive
from intel_assets.defs.archive.monthly import monthly_archive
from intel_assets.defs.archive.retention import retention
from intel_assets.defs.limits import max_runtime

# A day of the snapshot tables (under a million rows) archives in well under a minute.
daily_archive_job = dg.define_asset_job(
    "daily_archive_job", selection=[daily_archive], tags=max_runtime(60)
)
daily_archive_schedule = dg.build_schedule_from_partitioned_job(
    daily_archive_job,
    name="daily_archive_schedule",
    description="Every day at 00:30 UTC, archives the day before of every snapshot table as a "
    "verified Parquet part.",
    hour_of_day=0,
    minute_of_hour=30,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
# A month of 20 million rows archives in about ten minutes on two cores.
monthly_archive_job = dg.define_asset_job(
    "monthly_archive_job", selection=[monthly_archive], tags=max_runtime(120)
)
monthly_archive_schedule = dg.build_schedule_from_partitioned_job(
    monthly_archive_job,
    name="monthly_archive_schedule",
    description="On the 1st at 01:00 UTC, archives the month before as Parquet.",
    day_of_month=1,
    hour_of_day=1,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
retention_job = dg.define_asset_job("retention_job", selection=[retention], tags=max_runtime(60))
retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    description="Every day at 02:30 UTC, prunes the warehouse to its retention windows, "
    "never past what the archive verifiably holds.",
    job=retention_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(
    assets=[daily_archive, monthly_archive, retention],
    asset_checks=[monthly_archive_checks, retention_checks],
    jobs=[daily_archive_job, monthly_archive_job, retention_job],
    schedules=[daily_archive_schedule, monthly_archive_schedule, retention_schedule],
)
