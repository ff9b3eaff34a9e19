"""The checks of `twitch_broadcaster_growth`, read back from Postgres for the run's days.

- `twitch_broadcaster_growth_is_consistent` (blocking): no figure is negative or not a number,
  `avg_viewers` x `hours_streamed` is `hours_watched`, the average is at most the peak (an
  average of snapshots' viewers cannot beat the largest), and each game's day ranks its
  broadcasters 1, 2, ... by hours watched.
- `twitch_broadcaster_growth_covers_every_broadcaster` (blocking): one row per game, day and
  broadcaster with stream snapshots that day, none for any other, and `snapshot_count` is the
  number of their snapshots.
"""

import math
from collections.abc import Iterator
from typing import Any

import dagster as dg

from intel_assets.defs.aggregation.broadcaster_growth import (
    CHANGE_DAYS,
    CHANGED,
    twitch_broadcaster_growth,
)
from intel_assets.defs.aggregation.twitch_checks import close
from intel_assets.defs.check_helpers import (
    check_result,
    is_selected,
    not_evaluated,
    run_time_window,
)
from intel_assets.partitions import daily_partitions
from intel_assets.resources.warehouse import PostgresWarehouse

CONSISTENT = dg.AssetCheckSpec(
    "twitch_broadcaster_growth_is_consistent",
    asset=twitch_broadcaster_growth,
    partitions_def=daily_partitions,
    blocking=True,
    description="No negative or NaN figure; average viewers x hours streamed is hours watched "
    "and at most the peak; each game's day ranks its broadcasters 1, 2, ...",
)
COVERED = dg.AssetCheckSpec(
    "twitch_broadcaster_growth_covers_every_broadcaster",
    asset=twitch_broadcaster_growth,
    partitions_def=daily_partitions,
    blocking=True,
    description="One row per game, day and broadcaster with stream snapshots that day, none "
    "other, and snapshot_count is their snapshots.",
)
CHECKS = (CONSISTENT, COVERED)

_NOT_NEGATIVE = ("hours_streamed", "hours_watched", "avg_viewers", "peak_viewers")
_FINITE = (*_NOT_NEGATIVE, *(f"{f}_change_{d}d" for f in CHANGED for d in CHANGE_DAYS))


def _row_problems(row: dict[str, Any]) -> list[str]:
    label = f"{row['game_key']} {row['day']} {row['user_id']}"
    problems = []
    for column in _FINITE:
        value = row[column]
        if value is None:
            continue
        if not math.isfinite(float(value)) or (column in _NOT_NEGATIVE and float(value) < 0):
            problems.append(f"{label}: {column} {value}")
    if not close(row["avg_viewers"] * row["hours_streamed"], float(row["hours_watched"])):
        problems.append(f"{label}: avg_viewers x hours_streamed is not hours_watched")
    if float(row["avg_viewers"]) > row["peak_viewers"] * (1 + 1e-9):
        problems.append(f"{label}: avg_viewers {row['avg_viewers']} above peak")
    return problems


def consistency_problems(rows: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the stored rows on their own (see the module docstring)."""
    problems = [p for r in rows for p in _row_problems(r)]
    ranks: dict[tuple[str, Any], list[int]] = {}
    for r in rows:
        ranks.setdefault((r["game_key"], r["day"]), []).append(int(r["rank_hours_watched"]))
    for (game, day), found in sorted(ranks.items()):
        if sorted(found) != list(range(1, len(found) + 1)):
            problems.append(f"{game} {day}: ranks are not 1..{len(found)}")
    return problems


_COVERAGE = """
WITH seen AS (
    SELECT game_key, (collected_at AT TIME ZONE 'UTC')::date AS day, user_id,
        count(*) AS snapshots
    FROM stream_snapshots WHERE collected_at >= %s AND collected_at < %s GROUP BY 1, 2, 3
),
stored AS (SELECT * FROM twitch_broadcaster_growth WHERE day >= %s AND day < %s)
SELECT coalesce(s.game_key, g.game_key) AS game_key, coalesce(s.day, g.day) AS day,
    coalesce(s.user_id, g.user_id) AS user_id, s.snapshots, g.snapshot_count
FROM seen AS s FULL JOIN stored AS g USING (game_key, day, user_id)
WHERE s.snapshots IS DISTINCT FROM g.snapshot_count
ORDER BY 1, 2, 3
"""


@dg.multi_asset_check(specs=list(CHECKS), can_subset=True, name="twitch_broadcaster_growth_checks")
def twitch_broadcaster_growth_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
) -> Iterator[dg.AssetCheckResult]:
    """The broadcasters' rows of the run's days, on their own and against the snapshots."""
    window = run_time_window(context, twitch_broadcaster_growth.key, daily_partitions)
    selected = [spec for spec in CHECKS if is_selected(context, spec)]
    if window is None:
        for spec in selected:
            yield not_evaluated(spec, "twitch_broadcaster_growth has no materialized day")
        return
    first, end = window.start.date(), window.end.date()
    if CONSISTENT in selected:
        rows = warehouse.fetch_dicts(
            "SELECT * FROM twitch_broadcaster_growth WHERE day >= %s AND day < %s", (first, end)
        )
        scope = {"rows_checked": dg.MetadataValue.int(len(rows))}
        yield check_result(CONSISTENT, consistency_problems(rows), scope)
    if COVERED in selected:
        wrong = warehouse.fetch_dicts(_COVERAGE, (window.start, window.end, first, end))
        problems = [
            f"{r['game_key']} {r['day']} {r['user_id']}: "
            + ("no row" if r["snapshot_count"] is None else
               "a row but no snapshot" if r["snapshots"] is None else
               f"snapshot_count {r['snapshot_count']}, snapshots {r['snapshots']}")
            for r in wrong
        ]  # fmt: skip
        days = dg.MetadataValue.int((end - first).days)
        yield check_result(COVERED, problems, {"days_checked": days})
