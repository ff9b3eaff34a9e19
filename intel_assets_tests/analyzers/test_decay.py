from datetime import timedelta

import pytest

from intel_assets.analyzers.decay import (
    AnalysisResult,
    analysis_result,
    confidence,
    current_confidence,
)
from intel_assets_tests.analyzers.frames import HOUR, T0


def test_confidence_is_zero_without_data_and_one_for_a_full_fresh_sample():
    assert confidence(0, min_sample=10, age_seconds=0, half_life_seconds=3600) == 0.0
    assert confidence(10, min_sample=10, age_seconds=0, half_life_seconds=3600) == 1.0
    assert confidence(500, min_sample=10, age_seconds=0, half_life_seconds=3600) == 1.0


def test_confidence_falls_as_the_sample_thins_and_the_data_ages():
    # sqrt(25/100) = 0.5
    assert confidence(25, min_sample=100, age_seconds=0, half_life_seconds=3600) == 0.5
    # two half-lives: 0.5 ** 2
    assert confidence(100, min_sample=100, age_seconds=7200, half_life_seconds=3600) == 0.25
    # both: 0.5 * 0.5 ** (1800/3600) = 0.5 * 0.7071
    assert confidence(
        25, min_sample=100, age_seconds=1800, half_life_seconds=3600
    ) == pytest.approx(0.353553, abs=1e-6)
    # clock skew: a negative age counts as fresh
    assert confidence(100, min_sample=100, age_seconds=-60, half_life_seconds=3600) == 1.0


def test_confidence_rejects_meaningless_parameters():
    with pytest.raises(ValueError):
        confidence(1, min_sample=0, age_seconds=0, half_life_seconds=1)
    with pytest.raises(ValueError):
        confidence(1, min_sample=1, age_seconds=0, half_life_seconds=0)


def _result(*, stale: bool) -> AnalysisResult:
    return analysis_result(
        analyzer="viral",
        game_key="fortnite",
        as_of=T0,
        data_age_seconds=3600,
        sample_size=100,
        min_sample=100,
        half_life_seconds=3600,
        stale=stale,
        result={"viral_video_count": 2},
    )


def test_a_stale_result_says_so_and_its_confidence_is_halved():
    fresh, stale = _result(stale=False), _result(stale=True)
    # full sample, one half-life old: 0.5; stale: 0.5 * 0.5
    assert fresh.confidence == 0.5
    assert stale.confidence == 0.25
    assert stale.stale and stale.to_dict()["stale"] is True


def test_current_confidence_decays_from_as_of_to_now():
    result = _result(stale=False)
    # 0.5 at as_of, one more half-life later 0.25; before as_of unchanged
    assert current_confidence(result, T0 + HOUR) == 0.25
    assert current_confidence(result, T0 - timedelta(minutes=5)) == 0.5


def test_the_envelope_round_trips_through_its_dict():
    result = _result(stale=True)
    data = result.to_dict()
    assert data["as_of"] == "2026-03-02T12:00:00+00:00"
    assert set(data) == {
        "analyzer", "game_key", "as_of", "data_age_seconds", "sample_size", "confidence",
        "stale", "half_life_seconds", "key_figures", "result",
    }  # fmt: skip
    assert AnalysisResult.from_dict(data) == result
