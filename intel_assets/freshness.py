"""How fresh each tier must be: the freshness policies the Dagster UI shows on the assets.

The seed promised data fresher than 4 hours; the rollups follow from their schedules (hourly at
:05 for the hour before, daily at 00:15 for the day before), with an hour or two of slack for a
late or retried run. A policy passes while the asset's latest materialization is younger than
its fail window, and warns past its warn window.

Dagster judges a partitioned asset by its latest materialization of any partition; whether each
game's own collection is fresh is what `intel-assets health` reports (from the collection state),
with the same windows: measured from a game's last good collection, and from the end of the
newest hour or day in the rollup tables.
"""

from datetime import timedelta

import dagster as dg

COLLECTION_MAX_AGE = timedelta(hours=4)
COLLECTION_WARN_AGE = timedelta(hours=3)
HOURLY_MAX_AGE = timedelta(hours=2)
HOURLY_WARN_AGE = timedelta(minutes=90)
DAILY_MAX_AGE = timedelta(hours=26)
DAILY_WARN_AGE = timedelta(hours=25)

COLLECTION_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=COLLECTION_MAX_AGE, warn_window=COLLECTION_WARN_AGE
)
"""Collections: a snapshot within the last 4 hours (the seed's promise)."""

HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=HOURLY_MAX_AGE, warn_window=HOURLY_WARN_AGE
)
"""Hourly rollup: the hour before is rolled up at :05, so 2 hours means one run was missed."""

DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=DAILY_MAX_AGE, warn_window=DAILY_WARN_AGE
)
"""Daily tables: rolled up at 00:15 for the day before, so 26 hours means a day was missed."""
