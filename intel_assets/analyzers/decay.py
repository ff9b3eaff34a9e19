"""The decay manager: how far to trust an analysis, given how much data it had and how old it is.

Every analysis result is wrapped in an `AnalysisResult` envelope carrying its data age, sample
size and a confidence in [0, 1]:

    confidence = sample_factor * age_factor * stale_factor
    sample_factor = min(1, sample_size / min_sample) ** 0.5     (0 for an empty sample)
    age_factor = 0.5 ** (age_seconds / half_life_seconds)
    stale_factor = STALE_CONFIDENCE_FACTOR (0.5) when the game's latest collection failed, else 1

The square root makes confidence grow quickly with the first observations and flatten as the
sample nears `min_sample`; the half-life halves trust for every half-life the data ages. The
serving side applies the remaining decay from `as_of` to the time it serves
(`current_confidence`), so a result read from the hot tier hours later says it is older.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from intel_assets.analyzers.base import FLOAT_DECIMALS, json_safe

STALE_CONFIDENCE_FACTOR = 0.5
"""Confidence multiplier of a result computed while the game's latest collection had failed."""


def confidence(
    sample_size: int, *, min_sample: int, age_seconds: float, half_life_seconds: float
) -> float:
    """Trust in an analysis of `sample_size` observations that are `age_seconds` old, in [0, 1].

    Args:
        sample_size: Observations the analysis rests on; 0 gives 0.
        min_sample: Sample size at which the sample no longer limits confidence.
        age_seconds: Age of the data; negative ages (clock skew) count as 0.
        half_life_seconds: Age at which confidence has halved.

    Raises:
        ValueError: min_sample < 1 or half_life_seconds <= 0.
    """
    if min_sample < 1:
        raise ValueError(f"min_sample must be at least 1, got {min_sample}")
    if half_life_seconds <= 0:
        raise ValueError(f"half_life_seconds must be positive, got {half_life_seconds}")
    if sample_size <= 0:
        return 0.0
    sample_factor = min(1.0, sample_size / min_sample) ** 0.5
    age_factor = 0.5 ** (max(0.0, age_seconds) / half_life_seconds)
    return min(1.0, max(0.0, sample_factor * age_factor))


@dataclass(frozen=True)
class AnalysisResult:
    """One analyzer's result for one game, with what is needed to judge it.

    The first eight fields are the columns of `intel_analysis_results`; the other two are
    derived (the half-life from the registry, the key figures from the result).

    Attributes:
        analyzer: Registry name, e.g. `viral`.
        game_key: The game analysed.
        as_of: `collected_at` of the newest snapshot analysed (tz-aware UTC).
        data_age_seconds: Age at `as_of` of the stalest source the analyzer read.
        sample_size: Observations the result rests on.
        confidence: Trust in [0, 1] at `as_of` (see the module docstring).
        stale: The game's latest collection failed, so the data may be older than it looks;
            the confidence is then multiplied by `STALE_CONFIDENCE_FACTOR`.
        result: The analyzer's `to_dict()`.
        half_life_seconds: The half-life the confidence decays with, kept so that
            `current_confidence` needs nothing else.
        key_figures: The analyzer's `key_figures()` (for Dagster metadata), JSON-safe.
    """

    analyzer: str
    game_key: str
    as_of: datetime
    data_age_seconds: float
    sample_size: int
    confidence: float
    stale: bool
    result: dict[str, Any]
    half_life_seconds: float
    key_figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The envelope as JSON (what the hot tier stores)."""
        return json_safe(
            {
                "analyzer": self.analyzer,
                "game_key": self.game_key,
                "as_of": self.as_of,
                "data_age_seconds": self.data_age_seconds,
                "sample_size": self.sample_size,
                "confidence": self.confidence,
                "stale": self.stale,
                "half_life_seconds": self.half_life_seconds,
                "key_figures": self.key_figures,
                "result": self.result,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AnalysisResult":
        """The envelope back from `to_dict()` output (e.g. read from the hot tier)."""
        return cls(
            analyzer=str(data["analyzer"]),
            game_key=str(data["game_key"]),
            as_of=datetime.fromisoformat(data["as_of"]),
            data_age_seconds=float(data["data_age_seconds"]),
            sample_size=int(data["sample_size"]),
            confidence=float(data["confidence"]),
            stale=bool(data["stale"]),
            result=dict(data["result"]),
            half_life_seconds=float(data["half_life_seconds"]),
            key_figures=dict(data.get("key_figures", {})),
        )


def analysis_result(
    *,
    analyzer: str,
    game_key: str,
    as_of: datetime,
    data_age_seconds: float,
    sample_size: int,
    min_sample: int,
    half_life_seconds: float,
    stale: bool,
    result: dict[str, Any],
    key_figures: dict[str, Any] | None = None,
) -> AnalysisResult:
    """Wrap an analyzer's output in its envelope, computing the confidence at `as_of`.

    Confidence and data age are rounded as `to_dict()` rounds them, so the Postgres row, the
    hot-tier JSON and this object carry the same numbers.
    """
    trust = confidence(
        sample_size,
        min_sample=min_sample,
        age_seconds=data_age_seconds,
        half_life_seconds=half_life_seconds,
    )
    if stale:
        trust *= STALE_CONFIDENCE_FACTOR
    return AnalysisResult(
        analyzer=analyzer,
        game_key=game_key,
        as_of=as_of,
        data_age_seconds=round(max(0.0, data_age_seconds), FLOAT_DECIMALS),
        sample_size=sample_size,
        confidence=round(trust, FLOAT_DECIMALS),
        stale=stale,
        result=result,
        half_life_seconds=half_life_seconds,
        key_figures=key_figures or {},
    )


def current_confidence(result: AnalysisResult, now: datetime) -> float:
    """The result's confidence at `now`: decayed further for the time since `as_of`.

    A `now` before `as_of` (clock skew) leaves the confidence as it was.
    """
    elapsed = max(0.0, (now - result.as_of).total_seconds())
    decayed = result.confidence * 0.5 ** (elapsed / result.half_life_seconds)
    return decayed if math.isfinite(decayed) else 0.0
