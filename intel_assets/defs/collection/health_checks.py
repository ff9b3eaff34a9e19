"""Checks both collection assets share: the hot tier against Postgres, and repairs that jump.

- `<asset>_hot_tier_matches_postgres` (warning): the hot tier holds each game's latest stored
  snapshot. Where it does not (Redis failed after Postgres committed), the check rewrites it
  from Postgres and warns, naming the games.
- `<asset>_repairs_are_usual` (warning): the fields a collection repaired plus the items it
  rejected at the model boundary (its `repaired_fields` and `rejected_items` metadata) are at
  most `JUMP_FACTOR` times the average of the game's previous `JUMP_HISTORY` collections plus
  `JUMP_SLACK`. A jump means the API started sending something new that the boundary cleans.
"""

from collections.abc import Sequence

import dagster as dg
import redis

from intel_assets.defs.check_helpers import check_result
from intel_assets.defs.collection.hot_tier import Source, hot_tier_behind, rewrite_hot_tier
from intel_assets.defs.collection.state import load_states
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse

JUMP_HISTORY = 10
JUMP_FACTOR = 3.0
JUMP_SLACK = 5


def hot_tier_spec(asset: dg.AssetsDefinition) -> dg.AssetCheckSpec:
    """The hot-tier check of a collection asset."""
    return dg.AssetCheckSpec(
        f"{asset.key.to_user_string()}_hot_tier_matches_postgres",
        asset=asset,
        description="The hot tier holds each game's latest stored snapshot; a game whose hot "
        "tier is behind (Redis failed after Postgres committed) is rewritten from Postgres.",
    )


def repairs_spec(asset: dg.AssetsDefinition) -> dg.AssetCheckSpec:
    """The repairs check of a collection asset."""
    return dg.AssetCheckSpec(
        f"{asset.key.to_user_string()}_repairs_are_usual",
        asset=asset,
        description=f"Fields repaired plus items rejected at the model boundary are at most "
        f"{JUMP_FACTOR:g} times the average of the game's previous {JUMP_HISTORY} collections "
        f"plus {JUMP_SLACK}.",
    )


def hot_tier_result(
    spec: dg.AssetCheckSpec,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    source: Source,
    game_key: str | None,
) -> dg.AssetCheckResult:
    """Compare the hot tier with the stored snapshots, rewriting the games that are behind."""
    states = load_states(warehouse, source)
    if game_key is not None:
        states = {k: v for k, v in states.items() if k == game_key}
    try:
        behind = hot_tier_behind(hot_tier, states, source)
        for game in behind:
            rewrite_hot_tier(warehouse, hot_tier, source, game)
    except (redis.RedisError, OSError) as error:
        problem = f"the hot tier cannot be read or rewritten yet ({type(error).__name__})"
        return check_result(spec, [problem], {}, severity=dg.AssetCheckSeverity.WARN)
    problems = [
        f"{game}: the hot tier held {held} instead of the snapshot stored at "
        f"{states[game].last_collected_at}; rewritten from Postgres"
        for game, held in behind.items()
    ]
    metadata = {
        "games_checked": dg.MetadataValue.int(len(states)),
        "games_rewritten": dg.MetadataValue.int(len(behind)),
    }
    return check_result(spec, problems, metadata, severity=dg.AssetCheckSeverity.WARN)


def boundary_counts(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, game_key: str
) -> list[int]:
    """Repaired fields plus rejected items of the game's latest collections, newest first."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[game_key]),
        limit=JUMP_HISTORY + 1,
    ).records
    counts = []
    for record in records:
        materialization = record.asset_materialization
        metadata = materialization.metadata if materialization is not None else {}
        counts.append(
            sum(
                int(value.value)  # type: ignore[arg-type]
                for name in ("repaired_fields", "rejected_items")
                if (value := metadata.get(name)) is not None
            )
        )
    return counts


def jumped(counts: Sequence[int]) -> float | None:
    """The usual count the latest of `counts` (newest first) jumped from, or None."""
    if not counts:
        return None
    latest, earlier = counts[0], counts[1:]
    usual = sum(earlier) / len(earlier) if earlier else 0.0
    return usual if latest > JUMP_FACTOR * usual + JUMP_SLACK else None


def repairs_result(
    spec: dg.AssetCheckSpec, instance: dg.DagsterInstance, games: Sequence[str]
) -> dg.AssetCheckResult:
    """Warn for each game whose latest collection repaired or rejected far more than usual."""
    problems = []
    latest: dict[str, int] = {}
    for game in games:
        counts = boundary_counts(instance, spec.asset_key, game)
        if counts:
            latest[game] = counts[0]
        usual = jumped(counts)
        if usual is not None:
            problems.append(
                f"{game}: {counts[0]} fields repaired or items rejected, against "
                f"{usual:.1f} on average over its previous {len(counts) - 1} collections"
            )
    metadata: dict[str, dg.RawMetadataValue] = {"games_checked": dg.MetadataValue.int(len(latest))}
    if len(latest) == 1:
        metadata["repaired_or_rejected"] = dg.MetadataValue.int(next(iter(latest.values())))
    return check_result(spec, problems, metadata, severity=dg.AssetCheckSeverity.WARN)
