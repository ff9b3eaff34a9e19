"""`<name>_intel[game]`: the eight analyzers as assets, built by one factory from the registry.

The factory makes ONE `dg.multi_asset` (`intel_analysis`) whose specs are the eight assets
`viral_intel`, `title_intel`, `format_intel`, `description_intel`, `semantic_intel`,
`regional_intel`, `live_intel` and `competition_intel`, each its own asset key with its own
dependencies, description, checks and automation condition. It can be subset: a run
materializes any selection of them, and the analyzers selected for one game share one read of
the game's snapshots (each snapshot table read once, not once per analyzer).

A run, for one game:
1. reads the snapshots the selected analyzers need over the lookback window and the game's
   collection state (`inputs_and_results.py`);
2. runs each analyzer on the frames it needs (`registry.run`), marked stale when a collection
   feeding it failed last; its `as_of` is the newest snapshot among those frames;
3. drops results failing the blocking confidence check, writes the others' history rows in one
   transaction, counts each analyzer's outcome for Prometheus, then writes the results'
   hot-tier envelopes (a Redis failure is reported, not fatal);
4. reads both tiers back to check they agree and reports each result as metadata.

An analyzer that raises does not cost the others their results: they are written and
materialized, and the run then fails naming it.
"""

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd

from intel_assets.analyzers.base import AnalyzerInputs, Source
from intel_assets.analyzers.decay import AnalysisResult
from intel_assets.analyzers.registry import ANALYZERS, AnalyzerSpec, run_spec
from intel_assets.contracts.tables import SNAPSHOT_FRAME_COLUMNS
from intel_assets.counters import record_analyzer_outcomes
from intel_assets.defs.analysis.checks import (
    check_specs,
    confidence_in_range,
    has_a_sample,
    tiers_agree,
)
from intel_assets.defs.analysis.inputs_and_results import (
    CollectionSource,
    Freshness,
    StoredResult,
    load_freshness,
    load_snapshots,
    read_back,
    write_history,
    write_hot_tier,
)
from intel_assets.defs.collection.assets import twitch_streams, youtube_videos
from intel_assets.partitions import games_partitions
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.redis_keys import analysis_key
from intel_assets.resources.warehouse import PostgresWarehouse

ANALYSIS_GROUP = "analysis"
ANALYSIS_POOL = "analysis"

COLLECTION_ASSETS: Mapping[Source, dg.AssetKey] = {
    "videos": youtube_videos.key,
    "channels": youtube_videos.key,
    "streams": twitch_streams.key,
}
"""The collection asset that writes each snapshot table."""


class AnalysisConfig(dg.Config):
    """Run config of an analysis.

    Attributes:
        lookback_hours: Hours of snapshots each table contributes, ending at the game's newest
            snapshot in it: enough for velocities between hourly collections and for the
            languages and formats of two days of uploads.
    """

    lookback_hours: float = 48.0


def intel_asset_key(analyzer: str) -> dg.AssetKey:
    """The asset key of an analyzer, e.g. `viral_intel`."""
    return dg.AssetKey(f"{analyzer}_intel")


def after_each_collection() -> dg.AutomationCondition:
    """Run a game's analysis after each collection of the game that feeds it, or fails.

    `eager()`'s trigger (newly missing, or a dependency updated since the analysis was last
    requested or updated), or a collection run that newly FAILED, so the result says it is
    stale as soon as the collection is (with `eager()` alone the analysis would wait for the
    next successful collection, which clears the staleness). The failure is true on the one
    tick that sees it, so it needs no `since_last_handled` (which would drop it on a tick that
    also sees the analysis' own update). Analyses wait while a collection they read is missing
    or in progress.
    """
    updated = (
        dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()
    ).since_last_handled()
    collection_failed = (
        dg.AutomationCondition.any_deps_match(dg.AutomationCondition.execution_failed())
        .newly_true()
        .with_label("any_collection_newly_failed")
    )
    return (
        (updated | collection_failed)
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("after_each_collection")


def _description(spec: AnalyzerSpec) -> str:
    return (
        f"{spec.description}\n\n"
        f"Reads the game's {', '.join(spec.needs)} snapshots of the lookback window. The result "
        f"goes to Redis `{analysis_key(spec.name, '<game>')}` for "
        f"{spec.ttl_seconds / 3600:g} h and to `intel_analysis_results`; its confidence "
        f"halves every {spec.half_life_hours:g} h of data age, grows with the sample up to "
        f"{spec.min_sample}, and halves again while a collection it reads is failing."
    )


def _asset_spec(spec: AnalyzerSpec) -> dg.AssetSpec:
    deps = sorted({COLLECTION_ASSETS[source] for source in spec.needs}, key=str)
    return dg.AssetSpec(
        intel_asset_key(spec.name),
        deps=deps,
        description=_description(spec),
        group_name=ANALYSIS_GROUP,
        kinds={"pandas", "postgres", "redis"},
        automation_condition=after_each_collection(),
        # A result failing its blocking check, or an analyzer that raises, is not materialized
        # while the others of the run are.
        skippable=True,
        metadata={
            "hot_tier_ttl_seconds": spec.ttl_seconds,
            "half_life_hours": spec.half_life_hours,
            "min_sample": spec.min_sample,
        },
    )


@dataclass(frozen=True)
class _Outcome:
    """One analyzer's result and what its input held."""

    result: AnalysisResult
    input_rows: int
    stale_sources: list[CollectionSource]
    seconds: float


def _inputs(
    spec: AnalyzerSpec,
    game_key: str,
    frames: Mapping[Source, pd.DataFrame],
    freshness: Freshness,
) -> AnalyzerInputs:
    """The analyzer's inputs: only the frames it reads, so `as_of` is their newest snapshot.

    With no snapshot at all the analysis is dated by the latest collection attempt feeding it
    (a collection that found nothing), else, for a game never collected, by the present.
    """
    needed: dict[Source, pd.DataFrame] = {source: frames[source] for source in spec.needs}
    as_of = None
    if all(frame.empty for frame in needed.values()):
        as_of = freshness.last_attempt(spec.needs) or datetime.now(UTC).replace(microsecond=0)
    return AnalyzerInputs.from_frames(
        game_key,
        videos=needed.get("videos"),
        streams=needed.get("streams"),
        channels=needed.get("channels"),
        as_of=as_of,
    )


def _metadata(
    outcome: _Outcome, hot_tier_error: str | None, ttl_seconds: int, freshness: Freshness
) -> dict[str, dg.MetadataValue]:
    result = outcome.result
    metadata: dict[str, dg.MetadataValue] = {
        # One result is one row of intel_analysis_results.
        "dagster/row_count": dg.MetadataValue.int(1),
        "as_of": dg.MetadataValue.timestamp(result.as_of),
        "sample_size": dg.MetadataValue.int(result.sample_size),
        "confidence": dg.MetadataValue.float(result.confidence),
        "data_age_seconds": dg.MetadataValue.float(result.data_age_seconds),
        "stale": dg.MetadataValue.bool(result.stale),
        "input_rows": dg.MetadataValue.int(outcome.input_rows),
        "analysis_seconds": dg.MetadataValue.float(round(outcome.seconds, 3)),
        "hot_tier_key": dg.MetadataValue.text(analysis_key(result.analyzer, result.game_key)),
        "hot_tier_ttl_seconds": dg.MetadataValue.int(ttl_seconds),
        "hot_tier_written": dg.MetadataValue.bool(hot_tier_error is None),
    }
    if hot_tier_error is not None:
        metadata["hot_tier_error"] = dg.MetadataValue.text(hot_tier_error)
    if outcome.stale_sources:
        metadata["stale_sources"] = dg.MetadataValue.text(
            "; ".join(freshness.describe(s) for s in outcome.stale_sources)
        )
    for name, value in result.key_figures.items():
        figure = _figure(value)
        if figure is not None and name not in metadata:
            metadata[name] = figure
    metadata["preview"] = _preview(result, hot_tier_error)
    return metadata


def _figure(value: object) -> dg.MetadataValue | None:
    """A key figure as typed metadata (numbers plot in the UI); None for an unknown value."""
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if isinstance(value, str):
        return dg.MetadataValue.text(value)
    return None


def _preview(result: AnalysisResult, hot_tier_error: str | None) -> dg.MetadataValue:
    lines = [
        f"**{result.analyzer}** of `{result.game_key}` as of {result.as_of.isoformat()}: "
        f"confidence {result.confidence:.2f}, sample {result.sample_size}, "
        f"data age {result.data_age_seconds:.0f} s"
        + (" — **stale**: the latest collection failed" if result.stale else ""),
    ]
    if hot_tier_error is not None:
        lines.append(f"\nHot tier NOT written ({hot_tier_error}); the history row holds it.")
    lines += ["", "| figure | value |", "|---|---|"]
    lines += [
        f"| {name} | {'—' if value is None else value} |"
        for name, value in result.key_figures.items()
    ]
    return dg.MetadataValue.md("\n".join(lines))


@dataclass
class _Run:
    """What running the analyzers on one game gave, before anything is stored.

    Attributes:
        outcomes: The results that passed their blocking check, to be written.
        rejected: The failed blocking checks of results that are not written.
        errors: Analyzer name to the error it raised.
        counted: Analyzer name to its outcome (fresh, stale, rejected, failed) for Prometheus.
    """

    outcomes: list[_Outcome] = field(default_factory=list)
    rejected: list[dg.AssetCheckResult] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    counted: dict[str, str] = field(default_factory=dict)


def _read_inputs(
    context: dg.AssetExecutionContext,
    analyzers: Sequence[AnalyzerSpec],
    lookback: timedelta,
    warehouse: PostgresWarehouse,
) -> tuple[dict[Source, pd.DataFrame], Freshness]:
    """The game's snapshot frames every analyzer needs, and its collections' freshness."""
    started = time.perf_counter()
    game_key = context.partition_key
    needed: set[Source] = {source for spec in analyzers for source in spec.needs}
    sources: list[Source] = [source for source in SNAPSHOT_FRAME_COLUMNS if source in needed]
    frames = load_snapshots(warehouse, game_key, sources, lookback)
    freshness = load_freshness(warehouse, game_key)
    context.log.info(
        f"{game_key}: read "
        + ", ".join(f"{len(frames[s])} {s} rows" for s in sources)
        + f" in {time.perf_counter() - started:.2f} s"
    )
    return frames, freshness


def _run_analyzers(
    context: dg.AssetExecutionContext,
    analyzers: Sequence[AnalyzerSpec],
    frames: Mapping[Source, pd.DataFrame],
    freshness: Freshness,
) -> _Run:
    """Run each analyzer on the game's frames; one analyzer's failure costs only its result."""
    game_key = context.partition_key
    run = _Run()
    for spec in analyzers:
        analysis_started = time.perf_counter()
        try:
            stale_sources = freshness.stale_sources(spec.needs)
            inputs = _inputs(spec, game_key, frames, freshness)
            result = run_spec(spec, inputs, stale=bool(stale_sources))
        except Exception as error:  # one analyzer's bug must not cost the others their results
            context.log.error(f"{spec.name} failed on {game_key}: {type(error).__name__}: {error}")
            run.errors[spec.name] = f"{type(error).__name__}: {error}"
            run.counted[spec.name] = "failed"
            continue
        verdict = confidence_in_range(result)
        if not verdict.passed:
            context.log.error(f"{spec.name} on {game_key}: {verdict.description}; not written")
            run.counted[spec.name] = "rejected"
            run.rejected.append(verdict)
            continue
        run.counted[spec.name] = "stale" if stale_sources else "fresh"
        rows = sum(len(frames[source]) for source in spec.needs)
        seconds = time.perf_counter() - analysis_started
        run.outcomes.append(_Outcome(result, rows, list(stale_sources), seconds))
        if stale_sources:
            context.log.warning(
                f"{spec.name} on {game_key} is stale: "
                + "; ".join(freshness.describe(s) for s in stale_sources)
            )
    return run


def _store_results(
    context: dg.AssetExecutionContext,
    run: _Run,
    ttls: Mapping[str, int],
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
) -> tuple[str | None, dict[str, StoredResult], str | None]:
    """Write the results to both tiers, count the outcomes in Redis, and read both tiers back.

    Returns:
        The hot tier's write error (None when written), what each tier holds now per analyzer,
        and the error of reading it back (None when read).
    """
    results = [o.result for o in run.outcomes]
    write_history(warehouse, results)
    record_analyzer_outcomes(hot_tier.client(), run.counted)
    hot_tier_error = write_hot_tier(hot_tier, results, ttls)
    if hot_tier_error is not None:
        context.log.warning(
            f"hot tier not written for {context.partition_key} ({hot_tier_error}); "
            "the history rows hold the results"
        )
    stored, read_error = read_back(warehouse, hot_tier, results)
    return hot_tier_error, stored, read_error


def analyse_game(
    context: dg.AssetExecutionContext,
    analyzers: Sequence[AnalyzerSpec],
    lookback: timedelta,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Run `analyzers` on one game (the partition) and store and report their results.

    Writes each result that passes its blocking check to `intel_analysis_results` and to the
    hot tier (`redis_keys.analysis_key`), and counts every outcome in Redis.
    """
    game_key = context.partition_key
    frames, freshness = _read_inputs(context, analyzers, lookback, warehouse)
    run = _run_analyzers(context, analyzers, frames, freshness)
    yield from run.rejected
    ttls = {spec.name: spec.ttl_seconds for spec in analyzers}
    hot_tier_error, stored, read_error = _store_results(context, run, ttls, warehouse, hot_tier)
    for outcome in run.outcomes:
        result = outcome.result
        yield dg.MaterializeResult(
            asset_key=intel_asset_key(result.analyzer),
            metadata=_metadata(outcome, hot_tier_error, ttls[result.analyzer], freshness),
            check_results=[
                confidence_in_range(result),
                has_a_sample(result, outcome.input_rows),
                tiers_agree(
                    result,
                    stored.get(result.analyzer, StoredResult(None, None)),
                    hot_tier_error or read_error,
                ),
            ],
        )
    if run.errors:
        raise dg.Failure(
            description=f"{len(run.errors)} analyzer(s) failed on {game_key}: "
            + ", ".join(run.errors),
            metadata={name: dg.MetadataValue.text(text) for name, text in run.errors.items()},
        )


def build_analysis_assets(
    analyzers: Mapping[str, AnalyzerSpec] = ANALYZERS,
) -> dg.AssetsDefinition:
    """The one factory: every registered analyzer as its own asset `<name>_intel[game]`.

    Args:
        analyzers: The analyzers by name (the registry's eight by default).

    Returns:
        One subsettable multi-asset holding the `<name>_intel` assets and their checks.
    """
    specs = list(analyzers.values())

    @dg.multi_asset(
        name="intel_analysis",
        specs=[_asset_spec(spec) for spec in specs],
        check_specs=[
            check for spec in specs for check in check_specs(spec.name, intel_asset_key(spec.name))
        ],
        partitions_def=games_partitions,
        can_subset=True,
        pool=ANALYSIS_POOL,
    )
    def intel_analysis(
        context: dg.AssetExecutionContext,
        config: AnalysisConfig,
        warehouse: PostgresWarehouse,
        hot_tier: RedisHotTier,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        selected = [s for s in specs if intel_asset_key(s.name) in context.selected_asset_keys]
        yield from analyse_game(
            context, selected, timedelta(hours=config.lookback_hours), warehouse, hot_tier
        )

    return intel_analysis


intel_analysis = build_analysis_assets()
"""The eight `<name>_intel[game]` assets."""
