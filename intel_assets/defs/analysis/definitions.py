"""The analysis domain: the eight `<name>_intel[game]` assets and the sensor that automates them.

Each asset's automation condition (`after_each_collection`) requests a game's analysis after
each collection of that game; `analysis_automation_sensor` evaluates those conditions and is
on from the start, so analysis follows collection without anyone switching it on.
"""

import dagster as dg

from intel_assets.defs.analysis.assets import ANALYSIS_GROUP, intel_analysis

analysis_automation_sensor = dg.AutomationConditionSensorDefinition(
    "analysis_automation_sensor",
    target=dg.AssetSelection.groups(ANALYSIS_GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    # One plain run per game: a game's analysis neither waits for nor fails with another's.
    emit_backfills=False,
    description="Requests each game's analysis after each collection of the game (or after a "
    "failed one, so the results say they are stale).",
)

defs = dg.Definitions(assets=[intel_analysis], sensors=[analysis_automation_sensor])
