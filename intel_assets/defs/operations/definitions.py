"""The operations domain: what the deployment reports about itself (run outcomes)."""

import dagster as dg

from intel_assets.defs.operations.sensors import run_outcomes_sensor

defs = dg.Definitions(sensors=[run_outcomes_sensor])
