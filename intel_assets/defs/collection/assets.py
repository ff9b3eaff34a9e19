"""The collection assets: per-game snapshots of YouTube videos and Twitch streams."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import redis

from intel_assets.catalog import effective_catalog
from intel_assets.defs.collection.state import (
    BoundaryReport,
    boundary_report,
    collection_lock_name,
    forget_cached,
    load_states,
    record_failure_quietly,
)
from intel_assets.defs.collection.twitch import collect_twitch, hot_tier_streams, stream_writes
from intel_assets.defs.collection.youtube import (
    DEFAULT_REGIONS,
    CollectionOutcome,
    YouTubeCollectionSettings,
    asset_metadata,
    collect_channels,
    collect_youtube,
    elapsed_since,
    hot_tier_write,
    snapshot_writes,
)
from intel_assets.defs.limits import max_runtime
from intel_assets.freshness import COLLECTION_FRESHNESS
from intel_assets.partitions import games_partitions
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.redis_keys import SNAPSHOT_TTL_SECONDS, snapshot_key
from intel_assets.resources.twitch import TwitchResource
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube import YouTubeResource

COLLECTION_ID_TAG = "intel/collection_id"


class CollectionPolicy(dg.ConfigurableResource):
    """How collection is paced; read by the collection assets and the sensor alike.

    Attributes:
        regions: Chart regions fetched once per window for every game.
        window_minutes: Length of a collection window (charts and details shared within it).
        tracked_days: Videos published within this many days stay tracked.
        target_share: Share of each YouTube bucket's daily limit the day may use (seed: 50%).
        burst_hours: Hours of paced budget a bucket may spend ahead of the pace.
        twitch_interval_minutes: Twitch collection cadence per game.
        uploads_playlists: Uploads playlists of tracked channels read once per window to
            discover new uploads (1 default unit each; 0 turns the discovery off).
    """

    regions: list[str] = list(DEFAULT_REGIONS)
    window_minutes: int = 60
    tracked_days: float = 3.0
    target_share: float = 0.5
    burst_hours: float = 1.0
    twitch_interval_minutes: int = 30
    uploads_playlists: int = 50


class YouTubeCollectionConfig(dg.Config):
    """Run config of one YouTube collection.

    Attributes:
        search_calls: search.list calls it may spend on discovering the game's new uploads (the
            sensor grants them by priority; 0 for manual runs unless given).
    """

    search_calls: int = 0


def collection_id(context: dg.AssetExecutionContext) -> str:
    """The collection's identity: the sensor's slot tag, else the run id.

    A re-execution keeps the run's tags, so re-running a collection replaces its rows instead
    of adding a second snapshot.
    """
    return context.run.tags.get(COLLECTION_ID_TAG) or context.run.run_id


@dg.asset(
    partitions_def=games_partitions,
    group_name="collection",
    kinds={"youtube", "postgres", "redis"},
    pool="youtube_api",
    freshness_policy=COLLECTION_FRESHNESS,
    output_required=False,
)
def youtube_videos(
    context: dg.AssetExecutionContext,
    config: YouTubeCollectionConfig,
    youtube: YouTubeResource,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    collection_policy: CollectionPolicy,
) -> Iterator[dg.MaterializeResult]:
    """One snapshot of one game's YouTube videos: chart matches, tracked videos, new uploads.

    Each row of `video_snapshots` is one video as this collection saw it (details, counts,
    languages, live state); together the snapshots make view velocity and every later tier
    recomputable. A collection that starts while another of the same game runs writes nothing
    and says so (an observation, no materialization): two snapshots seconds apart would corrupt
    velocity.
    """
    game_key = context.partition_key
    with warehouse.session_lock(collection_lock_name("youtube", game_key)) as sole:
        if not sole:
            report_overlap(context, youtube_videos.key, game_key)
            return
        yield _collect_videos(context, config, youtube, warehouse, hot_tier, collection_policy)


def _youtube_settings(
    config: YouTubeCollectionConfig, policy: CollectionPolicy
) -> YouTubeCollectionSettings:
    """How this run collects: the deployment's policy and the search calls the sensor granted."""
    return YouTubeCollectionSettings(
        regions=tuple(policy.regions),
        window_minutes=policy.window_minutes,
        tracked_days=policy.tracked_days,
        search_calls=config.search_calls,
        uploads_playlists=policy.uploads_playlists,
    )


def _collect_videos(
    context: dg.AssetExecutionContext,
    config: YouTubeCollectionConfig,
    youtube: YouTubeResource,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    collection_policy: CollectionPolicy,
) -> dg.MaterializeResult:
    """Collect, store and report one YouTube snapshot; any failure counts in the game's state.

    Writes `video_snapshots`, `channel_snapshots` and the game's collection state in one
    transaction, then the game's hot-tier snapshot (`snapshot_key`); on failure, the failure in the
    game's state, and the shared caches the snapshot came from are forgotten.
    """
    started = time.perf_counter()
    game_key = context.partition_key
    this_collection = collection_id(context)
    settings = _youtube_settings(config, collection_policy)
    outcome: CollectionOutcome | None = None
    try:
        catalog = effective_catalog(warehouse)
        previous = load_states(warehouse, "youtube").get(game_key)
        client = youtube.client(game_key=game_key, run_id=context.run.run_id)
        outcome = collect_youtube(
            catalog.get(game_key), catalog, client, warehouse, hot_tier, settings,
            this_collection, context.log,
        )  # fmt: skip
        channel_ids = sorted(set(outcome.rows["channel_id"].dropna()))
        channels, outcome.fetched["channels"] = collect_channels(client, hot_tier, channel_ids)
        outcome.channels = len(channels)
        client.close()
        warehouse.replace_many(
            snapshot_writes(outcome, channels, game_key, this_collection, previous)
        )
    except Exception as error:
        if outcome is not None:  # a snapshot that cannot be stored must not be served again
            forget_cached(hot_tier.client(), outcome.cached_keys, context.log)
        record_failure_quietly(
            warehouse, game_key, "youtube", datetime.now(UTC), _describe(error), context.log
        )
        raise
    hot = write_hot_tier(context, lambda: hot_tier_write(hot_tier, game_key, outcome))
    report = boundary_report(client, game_key)
    if report.summary:
        context.log.warning(report.summary)
    metadata = asset_metadata(outcome, client.units_spent(), elapsed_since(started))
    metadata.update({f"fetched_{k}": v for k, v in outcome.fetched.items()})
    metadata.update(boundary_metadata(report, hot))
    # The Pacific day's spend so far per bucket, as numbers the UI plots across collections.
    metadata.update(
        {
            f"quota_day_share_{name}": round(b.share_used, 6)
            for name, b in youtube.quota_status().items()
        }
    )
    context.log.info(
        f"{game_key}: {len(outcome.rows)} videos ({outcome.new_videos} new), "
        f"units {client.units_spent()}, changed={outcome.changed}"
    )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    partitions_def=games_partitions,
    group_name="collection",
    kinds={"twitch", "postgres", "redis"},
    pool="twitch_api",
    freshness_policy=COLLECTION_FRESHNESS,
    output_required=False,
)
def twitch_streams(
    context: dg.AssetExecutionContext,
    twitch: TwitchResource,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
) -> Iterator[dg.MaterializeResult]:
    """Every live Twitch stream of one game now: viewers, language, start time, title, tags.

    Twitch keeps no history, so these snapshots are the only record of demand per game and
    language over time. Like `youtube_videos`, a collection overlapping another of the same
    game writes nothing and says so.
    """
    game_key = context.partition_key
    with warehouse.session_lock(collection_lock_name("twitch", game_key)) as sole:
        if not sole:
            report_overlap(context, twitch_streams.key, game_key)
            return
        yield _collect_streams(context, twitch, warehouse, hot_tier)


def _collect_streams(
    context: dg.AssetExecutionContext,
    twitch: TwitchResource,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
) -> dg.MaterializeResult:
    """Collect, store and report one Twitch snapshot; any failure counts in the game's state."""
    started = time.perf_counter()
    game_key = context.partition_key
    this_collection = collection_id(context)
    try:
        game = effective_catalog(warehouse).get(game_key)
        previous = load_states(warehouse, "twitch").get(game_key)
        client = twitch.client(game_key=game_key, run_id=context.run.run_id)
        outcome = collect_twitch(game, client, this_collection)
        client.close()
        warehouse.replace_many(stream_writes(outcome, game_key, this_collection, previous))
    except Exception as error:
        record_failure_quietly(
            warehouse, game_key, "twitch", datetime.now(UTC), _describe(error), context.log
        )
        raise
    hot = write_hot_tier(
        context,
        lambda: hot_tier.put_json(
            {snapshot_key("twitch", game_key): hot_tier_streams(outcome, game_key)},
            SNAPSHOT_TTL_SECONDS,
        ),
    )
    report = boundary_report(client, game_key)
    if report.summary:
        context.log.warning(report.summary)
    rows = outcome.rows
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "streams": len(rows),
            "total_viewers": int(rows["viewer_count"].sum()) if len(rows) else 0,
            "languages": int(rows["language"].nunique()),
            "duplicates_dropped": outcome.duplicates,
            "points": client.points_spent(),
            "content_hash": outcome.content_hash,
            "duration_seconds": elapsed_since(started),
            "collected_at": outcome.collected_at.isoformat(),
            **boundary_metadata(report, hot),
        }
    )


def report_overlap(
    context: dg.AssetExecutionContext, asset_key: dg.AssetKey, game_key: str
) -> None:
    """Say, in the log and as an observation of the asset, that a collection wrote nothing."""
    message = (
        f"{game_key}: another collection of this game is running; this one writes nothing "
        "(two snapshots seconds apart would corrupt velocity)"
    )
    context.log.warning(message)
    context.log_event(
        dg.AssetObservation(
            asset_key=asset_key,
            partition=game_key,
            description=message,
            metadata={"overlapped": True, "run_id": context.run.run_id},
        )
    )


def write_hot_tier(context: dg.AssetExecutionContext, write: Callable[[], None]) -> bool:
    """Run a hot-tier write after Postgres committed; a Redis failure warns instead of failing.

    The snapshot is safe in Postgres; the hot tier is rewritten by the next collection, or
    from Postgres by the collection's hot-tier check.
    """
    try:
        write()
    except (redis.RedisError, OSError) as error:
        context.log.warning(
            f"the snapshot is stored in Postgres but the hot tier could not be written "
            f"({type(error).__name__}); the hot-tier check rewrites it from Postgres"
        )
        return False
    return True


def boundary_metadata(report: BoundaryReport, hot_tier_written: bool) -> dict[str, Any]:
    """Repairs, rejections and whether the hot tier took the snapshot, for the UI to plot."""
    return {
        "repaired_fields": dg.MetadataValue.int(report.repaired_fields),
        "rejected_items": dg.MetadataValue.int(report.rejected_items),
        "hot_tier_written": dg.MetadataValue.bool(hot_tier_written),
        "repairs": dg.MetadataValue.text(report.summary or "none"),
    }


def _describe(error: Exception) -> str:
    """A failure as stored in the collection state: its kind and message (never a secret)."""
    return f"{type(error).__name__}: {error}"


# A collection takes seconds to two minutes; one still running after 15 has lost its worker.
youtube_collection_job = dg.define_asset_job(
    "youtube_collection_job", selection=[youtube_videos], tags=max_runtime(15)
)
twitch_collection_job = dg.define_asset_job(
    "twitch_collection_job", selection=[twitch_streams], tags=max_runtime(15)
)
