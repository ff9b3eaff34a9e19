"""The checks every `<name>_intel` asset carries, declared beside it and evaluated in its run.

- `<name>_intel_confidence_in_range` (blocking): the confidence is a finite number in [0, 1], and
  0 when the result rests on no observation. Evaluated BEFORE anything is written: a result
  failing it reaches neither tier, is not materialized, and fails the run.
- `<name>_intel_has_a_sample` (warning): the sample size is reported and above zero whenever the
  analyzer's input held snapshots. Viral analysis fails it after a game's first collection (a
  velocity needs two snapshots of a video); the result is then honest but empty (confidence 0).
- `<name>_intel_tiers_agree` (warning): the Redis envelope and the history row, read back after
  writing, carry the same as_of, data age, sample size, confidence, stale flag and result. It
  fails while Redis is down: the history row holds the result, the hot tier does not.
"""

import math

import dagster as dg

from intel_assets.analyzers.decay import AnalysisResult
from intel_assets.defs.analysis.inputs_and_results import StoredResult, tiers_disagree
from intel_assets.partitions import games_partitions

CONFIDENCE_IN_RANGE = "confidence_in_range"
HAS_A_SAMPLE = "has_a_sample"
TIERS_AGREE = "tiers_agree"


def check_name(analyzer: str, predicate: str) -> str:
    """A check's name: the asset's name and the predicate, e.g. `viral_intel_tiers_agree`."""
    return f"{analyzer}_intel_{predicate}"


def check_specs(analyzer: str, asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The three checks of one analyzer's asset."""
    return [
        dg.AssetCheckSpec(
            check_name(analyzer, CONFIDENCE_IN_RANGE),
            asset=asset_key,
            partitions_def=games_partitions,
            blocking=True,
            description="Confidence is finite, in [0, 1], and 0 for an empty sample; a result "
            "failing this is written to neither tier.",
        ),
        dg.AssetCheckSpec(
            check_name(analyzer, HAS_A_SAMPLE),
            asset=asset_key,
            partitions_def=games_partitions,
            description="The sample size is above zero whenever the analyzer's input held "
            "snapshots (warns on results that rest on nothing).",
        ),
        dg.AssetCheckSpec(
            check_name(analyzer, TIERS_AGREE),
            asset=asset_key,
            partitions_def=games_partitions,
            description="The Redis hot-tier envelope and the history row, read back after "
            "writing, hold the same result and envelope fields.",
        ),
    ]


def confidence_in_range(result: AnalysisResult) -> dg.AssetCheckResult:
    """The blocking confidence check of one result."""
    value = result.confidence
    in_range = math.isfinite(value) and 0.0 <= value <= 1.0
    consistent = result.sample_size > 0 or value == 0.0
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(f"{result.analyzer}_intel"),
        check_name=check_name(result.analyzer, CONFIDENCE_IN_RANGE),
        passed=in_range and consistent,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"confidence": value, "sample_size": result.sample_size},
        description=None
        if in_range and consistent
        else "confidence outside [0, 1] or above 0 without a sample",
    )


def has_a_sample(result: AnalysisResult, input_rows: int) -> dg.AssetCheckResult:
    """The sample check: a result from snapshots must rest on some of them.

    A velocity needs two snapshots of a video, so right after a game's first collection the
    viral analysis has every video `without history` and an empty sample by design: that
    passes, and says so.
    """
    waiting = int(result.result.get("videos_without_history") or 0)
    first_collection = result.sample_size == 0 and input_rows > 0 and waiting > 0
    passed = result.sample_size > 0 or input_rows == 0 or first_collection
    description = None
    if first_collection:
        description = f"no video has two snapshots yet ({waiting} seen once)"
    elif not passed:
        description = f"{input_rows} snapshot rows but an empty sample"
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(f"{result.analyzer}_intel"),
        check_name=check_name(result.analyzer, HAS_A_SAMPLE),
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "sample_size": result.sample_size,
            "input_rows": input_rows,
            "videos_without_history": waiting,
        },
        description=description,
    )


def tiers_agree(
    result: AnalysisResult, stored: StoredResult, hot_tier_error: str | None
) -> dg.AssetCheckResult:
    """The agreement check of one result, from what both tiers hold after writing."""
    differing = tiers_disagree(stored)
    metadata: dict[str, dg.RawMetadataValue] = {
        "differing_fields": ", ".join(differing) or "none",
        "hot_tier_present": stored.hot is not None,
        "history_present": stored.history is not None,
    }
    if hot_tier_error is not None:
        metadata["hot_tier_error"] = hot_tier_error
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(f"{result.analyzer}_intel"),
        check_name=check_name(result.analyzer, TIERS_AGREE),
        passed=not differing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=None if not differing else f"tiers differ in: {', '.join(differing)}",
    )
