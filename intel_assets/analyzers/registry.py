"""The analyzers by name: what the asset factory iterates over to build `<name>_intel[game]`.

Each entry says what the analyzer reads and how its results age and are cached.

`run(name, inputs)` analyses and wraps the result in its `AnalysisResult` envelope (data age,
sample size, confidence; see `decay.py`). Half-lives follow how fast the answer changes: what
is viral changes within hours, which title words work within days. The hot-tier TTL (4-6 h)
is how long a result may be served before it must have been replaced.
"""

from collections.abc import Callable
from dataclasses import dataclass

from intel_assets.analyzers import (
    competition,
    description,
    live,
    regional,
    semantic,
    title,
    viral,
)
from intel_assets.analyzers import format as format_analyzer  # not the builtin format()
from intel_assets.analyzers.base import AnalyzerInputs, IntelResult, Source, json_safe
from intel_assets.analyzers.decay import AnalysisResult, analysis_result

HOUR_SECONDS = 3600


@dataclass(frozen=True)
class AnalyzerSpec:
    """One analyzer and how to run, trust and cache it.

    Attributes:
        name: Registry key, used in asset names (`<name>_intel`), Redis keys
            (`redis_keys.analysis_key`) and `intel_analysis_results.analyzer`.
        analyze: The pure analysis, `AnalyzerInputs -> result` (default thresholds).
        needs: The snapshot frames it reads; their age is the result's data age.
        min_sample: Sample size at which the sample no longer limits confidence.
        half_life_hours: Data age at which confidence has halved.
        ttl_seconds: How long the hot tier serves the result (4-6 hours).
        description: What the analysis answers, for the asset's description.
    """

    name: str
    analyze: Callable[[AnalyzerInputs], IntelResult]
    needs: tuple[Source, ...]
    min_sample: int
    half_life_hours: float
    ttl_seconds: int
    description: str

    @property
    def half_life_seconds(self) -> float:
        """The half-life in seconds."""
        return self.half_life_hours * HOUR_SECONDS


_SPECS = (
    AnalyzerSpec(
        name="viral",
        analyze=viral.analyze,
        needs=("videos",),
        min_sample=30,
        half_life_hours=6,
        ttl_seconds=4 * HOUR_SECONDS,
        description="Which videos gain views fastest now, against the game's own baseline.",
    ),
    AnalyzerSpec(
        name="title",
        analyze=title.analyze,
        needs=("videos",),
        min_sample=50,
        half_life_hours=24,
        ttl_seconds=6 * HOUR_SECONDS,
        description="Which title words, phrases and styles go with views.",
    ),
    AnalyzerSpec(
        name="format",
        analyze=format_analyzer.analyze,
        needs=("videos",),
        min_sample=50,
        half_life_hours=24,
        ttl_seconds=6 * HOUR_SECONDS,
        description="Which durations, Shorts or long-form, HD and captions go with views.",
    ),
    AnalyzerSpec(
        name="description",
        analyze=description.analyze,
        needs=("videos",),
        min_sample=50,
        half_life_hours=24,
        ttl_seconds=6 * HOUR_SECONDS,
        description="Links, social profiles, sponsorship, hashtags and chapters against views.",
    ),
    AnalyzerSpec(
        name="semantic",
        analyze=semantic.analyze,
        needs=("videos",),
        min_sample=50,
        half_life_hours=24,
        ttl_seconds=6 * HOUR_SECONDS,
        description="Tags and topics, their performance and the tags that occur together.",
    ),
    AnalyzerSpec(
        name="regional",
        analyze=regional.analyze,
        needs=("videos", "streams"),
        min_sample=50,
        half_life_hours=12,
        ttl_seconds=6 * HOUR_SECONDS,
        description="Languages on YouTube against Twitch demand per language.",
    ),
    AnalyzerSpec(
        name="live",
        analyze=live.analyze,
        needs=("videos", "streams"),
        min_sample=30,
        half_life_hours=12,
        ttl_seconds=4 * HOUR_SECONDS,
        description="Premieres against uploads, punctuality, best publish times, live audiences.",
    ),
    AnalyzerSpec(
        name="competition",
        analyze=competition.analyze,
        needs=("videos", "streams", "channels"),
        min_sample=50,
        half_life_hours=24,
        ttl_seconds=6 * HOUR_SECONDS,
        description="Channel concentration, room for new channels, Twitch crowding, saturation.",
    ),
)

ANALYZERS: dict[str, AnalyzerSpec] = {spec.name: spec for spec in _SPECS}
"""Every analyzer by name, in the order the design lists them."""


def run(name: str, inputs: AnalyzerInputs, *, stale: bool = False) -> AnalysisResult:
    """Run one analyzer on one game's inputs and wrap its result with age and confidence.

    Args:
        name: A key of `ANALYZERS`.
        inputs: The game's snapshots.
        stale: The game's latest collection failed (the caller knows; the inputs cannot tell).

    Raises:
        KeyError: No analyzer has this name (the message lists those that exist).
    """
    try:
        spec = ANALYZERS[name]
    except KeyError:
        raise KeyError(f"no analyzer {name!r}; known: {', '.join(ANALYZERS)}") from None
    return run_spec(spec, inputs, stale=stale)


def run_spec(spec: AnalyzerSpec, inputs: AnalyzerInputs, *, stale: bool = False) -> AnalysisResult:
    """`run` for a spec in hand (the asset factory builds its assets from any mapping of specs).

    Args:
        spec: The analyzer and how to trust it.
        inputs: The game's snapshots.
        stale: The game's latest collection failed.
    """
    intel = spec.analyze(inputs)
    return analysis_result(
        analyzer=spec.name,
        game_key=inputs.game_key,
        as_of=inputs.as_of,
        data_age_seconds=inputs.data_age_seconds(spec.needs),
        sample_size=intel.sample_size,
        min_sample=spec.min_sample,
        half_life_seconds=spec.half_life_seconds,
        stale=stale,
        result=intel.to_dict(),
        key_figures=json_safe(intel.key_figures()),
    )
