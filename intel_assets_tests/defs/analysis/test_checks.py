from datetime import UTC, datetime

import pytest

from intel_assets.analyzers.decay import AnalysisResult
from intel_assets.defs.analysis.checks import has_a_sample


def _result(sample: int, result: dict) -> AnalysisResult:
    return AnalysisResult(
        analyzer="viral", game_key="fortnite", as_of=datetime(2026, 5, 1, tzinfo=UTC),
        data_age_seconds=0.0, sample_size=sample, confidence=0.0, stale=False, result=result,
        half_life_seconds=21_600.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sample", "input_rows", "result", "passed"),
    [
        (12, 40, {}, True),  # a sample from the snapshots
        (0, 0, {}, True),  # no snapshots at all: nothing to sample
        (0, 40, {"videos_without_history": 40}, True),  # first collection: no velocity yet
        (0, 40, {"videos_without_history": 0}, False),  # rows, history, and still nothing
        (0, 40, {}, False),
    ],
)
def test_an_empty_sample_fails_unless_explained(sample, input_rows, result, passed):
    check = has_a_sample(_result(sample, result), input_rows)
    assert check.passed is passed
    if not passed:
        assert check.description == f"{input_rows} snapshot rows but an empty sample"
