"""The aggregation domain: hourly and daily rollups, the daily performance tables, schedules.

The hourly job runs at :05 for the hour before; the daily job at 00:15 UTC for the day before,
by which time the last hour of the day has been rolled up.
"""

import dagster as dg

from intel_assets.defs.aggregation.broadcaster_checks import twitch_broadcaster_growth_checks
from intel_assets.defs.aggregation.broadcaster_growth import twitch_broadcaster_growth
from intel_assets.defs.aggregation.channel_growth import channel_growth
from intel_assets.defs.aggregation.channel_projections import channel_projections
from intel_assets.defs.aggregation.checks import daily_tables_checks, hourly_metrics_checks
from intel_assets.defs.aggregation.daily import daily_rollup
from intel_assets.defs.aggregation.hourly import hourly_metrics
from intel_assets.defs.aggregation.performance import (
    duration_performance,
    premiere_performance,
    regional_performance,
)
from intel_assets.defs.aggregation.projection_checks import channel_projections_checks
from intel_assets.defs.aggregation.twitch_checks import (
    channel_growth_checks,
    twitch_game_stats_checks,
    twitch_game_stats_monthly_checks,
)
from intel_assets.defs.aggregation.twitch_stats import twitch_game_stats, twitch_game_stats_monthly
from intel_assets.defs.limits import max_runtime

DAILY_ASSETS = [
    daily_rollup,
    duration_performance,
    regional_performance,
    premiere_performance,
    channel_growth,
]

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
# Issue 19's later daily assets run in the daily job but are not in DAILY_ASSETS, which other
# callers materialize with the warehouse alone: the broadcasters' growth also takes the
# collection policy (the Twitch interval).
GROWTH_ASSETS = [twitch_broadcaster_growth, channel_projections]
daily_rollup_job = dg.define_asset_job(
    "daily_rollup_job", selection=[*DAILY_ASSETS, *GROWTH_ASSETS], tags=max_runtime(30)
)
daily_rollup_schedule = dg.build_schedule_from_partitioned_job(
    daily_rollup_job,
    name="daily_rollup_schedule",
    description="Every day at 00:15 UTC, rolls up the day before into daily_rollup, the "
    "duration, regional and premiere tables, channel_growth, channel_projections and "
    "twitch_broadcaster_growth.",
    hour_of_day=0,
    minute_of_hour=15,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

# Jobs of their own: a single-run backfill policy and a monthly partition do not mix with the
# daily rollup's self-dependency in one job.
twitch_game_stats_job = dg.define_asset_job(
    "twitch_game_stats_job", selection=[twitch_game_stats], tags=max_runtime(30)
)
twitch_game_stats_schedule = dg.build_schedule_from_partitioned_job(
    twitch_game_stats_job,
    name="twitch_game_stats_schedule",
    description="Every day at 00:20 UTC, computes the day before's Twitch statistics per game "
    "(hours watched, average and peak viewers and channels, top streamers).",
    hour_of_day=0,
    minute_of_hour=20,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
# After the month's last day (00:20 on the 1st), before the monthly archive (01:00).
twitch_game_stats_monthly_job = dg.define_asset_job(
    "twitch_game_stats_monthly_job", selection=[twitch_game_stats_monthly], tags=max_runtime(30)
)
twitch_game_stats_monthly_schedule = dg.build_schedule_from_partitioned_job(
    twitch_game_stats_monthly_job,
    name="twitch_game_stats_monthly_schedule",
    description="On the 1st at 00:45 UTC, rolls the month before's daily Twitch statistics up "
    "into twitch_game_stats_monthly.",
    day_of_month=1,
    hour_of_day=0,
    minute_of_hour=45,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(
    assets=[
        hourly_metrics,
        *DAILY_ASSETS,
        *GROWTH_ASSETS,
        twitch_game_stats,
        twitch_game_stats_monthly,
    ],
    asset_checks=[
        hourly_metrics_checks,
        daily_tables_checks,
        twitch_game_stats_checks,
        twitch_game_stats_monthly_checks,
        channel_growth_checks,
        twitch_broadcaster_growth_checks,
        channel_projections_checks,
    ],
    jobs=[
        hourly_metrics_job,
        daily_rollup_job,
        twitch_game_stats_job,
        twitch_game_stats_monthly_job,
    ],
    schedules=[
        hourly_metrics_schedule,
        daily_rollup_schedule,
        twitch_game_stats_schedule,
        twitch_game_stats_monthly_schedule,
    ],
)
