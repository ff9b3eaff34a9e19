"""The check of `channel_projections`, read back from Postgres for the run's day.

`channel_projections_are_consistent` (blocking): one row per game and channel with a channel
snapshot that day, none other; a projection exactly where at least 14 days of history are,
inside its own prediction interval, with a standard error that is not negative and an R² in
[0, 1].
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from intel_assets.defs.aggregation.channel_projections import (
    MIN_HISTORY_DAYS,
    channel_projections,
)
from intel_assets.defs.check_helpers import check_result, not_evaluated, run_time_window
from intel_assets.partitions import daily_partitions
from intel_assets.resources.warehouse import PostgresWarehouse

CONSISTENT = dg.AssetCheckSpec(
    "channel_projections_are_consistent",
    asset=channel_projections,
    partitions_def=daily_partitions,
    blocking=True,
    description="A row per channel seen that day; a projection exactly where 14 days of "
    "history are, inside its interval, with a stderr >= 0 and R² in [0, 1].",
)

_ROWS = """
WITH seen AS (SELECT DISTINCT game_key, channel_id FROM channel_snapshots
    WHERE collected_at >= %s AND collected_at < %s),
stored AS (SELECT * FROM channel_projections WHERE day >= %s AND day < %s)
SELECT coalesce(s.game_key, p.game_key) AS game_key,
    coalesce(s.channel_id, p.channel_id) AS channel_id, s.channel_id IS NOT NULL AS seen,
    p.channel_id IS NOT NULL AS stored, p.history_days, p.subscribers_per_day_stderr,
    p.r_squared, p.projected_subscribers_30d AS mid, p.projected_subscribers_30d_low AS low,
    p.projected_subscribers_30d_high AS high
FROM seen AS s FULL JOIN stored AS p USING (game_key, channel_id)
ORDER BY 1, 2
"""


def _problem(r: dict[str, Any]) -> str | None:
    if not r["stored"]:
        return "seen that day but no row"
    if not r["seen"]:
        return "a row but no snapshot that day"
    if (r["mid"] is not None) != (r["history_days"] >= MIN_HISTORY_DAYS):
        return f"projection {r['mid']} with {r['history_days']} days of history"
    if r["mid"] is None:
        return None
    if not r["low"] <= r["mid"] <= r["high"]:
        return f"projection {r['mid']} outside [{r['low']}, {r['high']}]"
    if r["subscribers_per_day_stderr"] < 0:
        return f"standard error {r['subscribers_per_day_stderr']}"
    if r["r_squared"] is not None and not 0 <= r["r_squared"] <= 1 + 1e-12:
        return f"R² {r['r_squared']}"
    return None


@dg.multi_asset_check(specs=[CONSISTENT], can_subset=True, name="channel_projections_checks")
def channel_projections_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
) -> Iterator[dg.AssetCheckResult]:
    """The day's projections against the day's channel snapshots and themselves."""
    window = run_time_window(context, channel_projections.key, daily_partitions)
    if window is None:
        yield not_evaluated(CONSISTENT, "channel_projections has no materialized day")
        return
    rows = warehouse.fetch_dicts(
        _ROWS, (window.start, window.end, window.start.date(), window.end.date())
    )
    problems = []
    for r in rows:
        problem = _problem(r)
        if problem:
            problems.append(f"{r['game_key']} {r['channel_id']}: {problem}")
    yield check_result(CONSISTENT, problems, {"rows_checked": dg.MetadataValue.int(len(rows))})
