"""The partitions every asset is keyed by.

Games are dynamic: the catalog (`games.toml`) seeds them and the discovery sensor may add more
while the instance runs. Time partitions are UTC; the first partition is the project's start.
"""

import dagster as dg

PARTITIONS_START = "2026-01-01"

games_partitions = dg.DynamicPartitionsDefinition(name="games")
hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=f"{PARTITIONS_START}-00:00", timezone="UTC"
)
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
