"""What every domain's asset checks share: which partitions a check covers, and its result.

Each domain declares its checks in a `checks.py` beside its assets, as one `dg.multi_asset_check`
per asset (or per group of assets materialized together): every predicate is its own named
check, but they are evaluated in one step, since each step of a run is a process of its own in
a deployment. The checks read the stored tables themselves, not what the asset meant to write,
so they verify what downstream assets and other tools will read, and can be run again alone.

A check evaluates the partitions of the run it is part of (the asset's run: one game, one hour,
or the whole range of a single-run backfill). The checks of time-partitioned and analysis
assets are partitioned too, so a run of one partition records each result on that partition and
the UI's partition view shows it; run alone they are given a partition, as the UI asks for one.
The collection checks are not: run alone with no game, the hot-tier check repairs every game.
A single-run backfill's checks cover its whole range in one evaluation, which Dagster records
without a partition: it shows on the check's page, and each partition shows the check
SKIPPED. Run alone with no partition (the collection and retention checks), a check evaluates
what it documents (every game's latest snapshot, every month).
"""

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

MAX_PROBLEMS_SHOWN = 5
"""Problems a failed check names in its description (the metadata counts all of them)."""


def run_partition_key(context: dg.AssetCheckExecutionContext) -> str | None:
    """The partition key of the check's run, or None when the run has no single partition."""
    op_context = context.op_execution_context
    return op_context.partition_key if op_context.has_partition_key else None


def run_time_window(
    context: dg.AssetCheckExecutionContext,
    asset_key: dg.AssetKey,
    partitions_def: dg.TimeWindowPartitionsDefinition,
) -> dg.TimeWindow | None:
    """The time window a check of a time-partitioned asset covers.

    The run's window (one partition, or the range of a single-run backfill); for a check run
    alone, the window of the asset's latest materialized partition; None if it has none.
    """
    op_context = context.op_execution_context
    if op_context.has_partition_key or op_context.has_partition_key_range:
        return op_context.partition_time_window
    event = context.instance.get_latest_materialization_event(asset_key)
    materialization = event.asset_materialization if event is not None else None
    if materialization is None or materialization.partition is None:
        return None
    return partitions_def.time_window_for_partition_key(materialization.partition)


def is_selected(context: dg.AssetCheckExecutionContext, spec: dg.AssetCheckSpec) -> bool:
    """Whether the run asked for this check (a multi-check step may run a subset)."""
    return spec.key in context.selected_asset_check_keys


def check_result(
    spec: dg.AssetCheckSpec,
    problems: Sequence[str],
    metadata: Mapping[str, Any],
    *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """The result of one check: passed when there are no problems.

    Args:
        spec: The check.
        problems: One line per violation found (empty: the check passed).
        metadata: Numbers the UI plots (counts, shares); `problems` is added.
        severity: ERROR for checks that must stop downstream, WARN for those that report.
    """
    shown = list(problems[:MAX_PROBLEMS_SHOWN])
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return dg.AssetCheckResult(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=not problems,
        severity=severity,
        metadata={**metadata, "problems": dg.MetadataValue.int(len(problems))},
        description="; ".join(shown) if shown else None,
    )


def not_evaluated(spec: dg.AssetCheckSpec, reason: str) -> dg.AssetCheckResult:
    """A passing result that says there was nothing to check (e.g. nothing materialized yet)."""
    return dg.AssetCheckResult(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=True,
        metadata={"problems": dg.MetadataValue.int(0)},
        description=f"nothing to check: {reason}",
    )
