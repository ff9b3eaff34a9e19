"""How fresh each tier must be: the freshness policies the Dagster UI shows on the assets.

The seed promised data fresher than 4 hours; the rollups follow from their schedules (hourly at
:05 for the hour before, daily at 00:15 for the day before), with an hour or two of slack for a
late or retried run. A policy passes while the asset's latest materialization is younger than
its fail window, and warns past its warn window.

Dagster judges a partitioned asset by its latest materialization of any partition; whether each
game's own collection is fresh is what `intel-assets health` reports (from the collection state).
"""

from datetime import timedelta

import dagster as dg

COLLECTION_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=4), warn_window=timedelta(hours=3)
)
"""Collections: a snapshot within the last 4 hours (the seed's promise)."""

HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=2), warn_window=timedelta(minutes=90)
)
"""Hourly rollup: the hour before is rolled up at :05, so 2 hours means one run was missed."""

DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)
"""Daily tables: rolled up at 00:15 for the day before, so 26 hours means a day was missed."""
