"""The partitions every asset is keyed by.

Games are dynamic: the catalog (`games.toml`) seeds them and the discovery sensor may add more
while the instance runs. Time partitions are UTC and start on `INTEL_PARTITIONS_START`
(a date, `YYYY-MM-DD`), the first day the project's data can cover; `intel-assets dev` sets it
to the first day it seeds (or to the day of its first start) unless the user set it, so the
UI's partition bars are not months of grey before the data. The monthly partitions start on
the first of that day's month, so the month holding the start is archivable.
"""

import os
from collections.abc import Mapping
from datetime import date

import dagster as dg

PARTITIONS_START_VARIABLE = "INTEL_PARTITIONS_START"
DEFAULT_PARTITIONS_START = date(2026, 1, 1)


def partitions_start(environ: Mapping[str, str]) -> date:
    """The first day of the time partitions: `INTEL_PARTITIONS_START`, else the project's default.

    Raises:
        ValueError: When the variable is set but is not a `YYYY-MM-DD` date.
    """
    value = (environ.get(PARTITIONS_START_VARIABLE) or "").strip()
    if not value:
        return DEFAULT_PARTITIONS_START
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(
            f"{PARTITIONS_START_VARIABLE}={value!r} is not a date (YYYY-MM-DD)"
        ) from error


# Read at import, unlike every other setting: the asset decorators take their partitions
# definitions when their modules load, and Dagster has no EnvVar for a partitions start. Every
# process of one deployment (webserver, daemon, run workers) gets the same environment.
START = partitions_start(os.environ)
PARTITIONS_START = START.isoformat()

games_partitions = dg.DynamicPartitionsDefinition(name="games")
hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=f"{PARTITIONS_START}-00:00", timezone="UTC"
)
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=START.replace(day=1).isoformat(), timezone="UTC"
)
