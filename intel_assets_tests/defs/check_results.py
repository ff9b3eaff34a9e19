"""Reading asset check results out of an in-process run, for the checks' tests."""

import dagster as dg


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """The run's check evaluations by check name."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def failed(found: dict[str, dg.AssetCheckEvaluation]) -> dict[str, int]:
    """The checks that failed, each with the number of problems it reported."""
    return {
        name: int(e.metadata["problems"].value)  # type: ignore[arg-type]
        for name, e in found.items()
        if not e.passed
    }
