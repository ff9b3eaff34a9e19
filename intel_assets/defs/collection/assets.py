"""The collection assets: per-game snapshots of YouTube videos and Twitch streams."""

import time
from datetime import UTC, datetime

import dagster as dg

from intel_assets.defs.collection.store import (
    HOT_TIER_TTL_SECONDS,
    effective_catalog,
    load_states,
    record_failure,
)
from intel_assets.defs.collection.twitch import collect_twitch, hot_tier_streams, stream_writes
from intel_assets.defs.collection.youtube import (
    DEFAULT_REGIONS,
    YouTubeCollectionSettings,
    asset_metadata,
    collect_channels,
    collect_youtube,
    elapsed_since,
    hot_tier_write,
    snapshot_writes,
)
from intel_assets.freshness import COLLECTION_FRESHNESS
from intel_assets.partitions import games_partitions
from intel_assets.resources.hot_tier import RedisHotTier
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
)
def youtube_videos(
    context: dg.AssetExecutionContext,
    config: YouTubeCollectionConfig,
    youtube: YouTubeResource,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    collection_policy: CollectionPolicy,
) -> dg.MaterializeResult:
    """One snapshot of one game's YouTube videos: chart matches, tracked videos, new uploads.

    Each row of `video_snapshots` is one video as this collection saw it (details, counts,
    languages, live state); together the snapshots make view velocity and every later tier
    recomputable.
    """
    started = time.perf_counter()
    game_key = context.partition_key
    catalog = effective_catalog(warehouse)
    game = catalog.get(game_key)
    this_collection = collection_id(context)
    previous = load_states(warehouse, "youtube").get(game_key)
    settings = YouTubeCollectionSettings(
        regions=tuple(collection_policy.regions),
        window_minutes=collection_policy.window_minutes,
        tracked_days=collection_policy.tracked_days,
        search_calls=config.search_calls,
        uploads_playlists=collection_policy.uploads_playlists,
    )
    client = youtube.client(game_key=game_key, run_id=context.run.run_id)
    try:
        outcome = collect_youtube(
            game, catalog, client, warehouse, hot_tier, settings, this_collection, context.log
        )
        channel_ids = sorted(set(outcome.rows["channel_id"].dropna()))
        channels, paid_channels = collect_channels(client, hot_tier, channel_ids)
        outcome.fetched["channels"] = paid_channels
        outcome.channels = len(channels)
        client.close()
    except Exception as error:
        record_failure(warehouse, game_key, "youtube", datetime.now(UTC), _describe(error))
        raise
    warehouse.replace_many(snapshot_writes(outcome, channels, game_key, this_collection, previous))
    hot_tier_write(hot_tier, game_key, outcome)
    metadata = asset_metadata(outcome, client.units_spent(), elapsed_since(started))
    metadata.update({f"fetched_{k}": v for k, v in outcome.fetched.items()})
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
)
def twitch_streams(
    context: dg.AssetExecutionContext,
    twitch: TwitchResource,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
) -> dg.MaterializeResult:
    """Every live Twitch stream of one game now: viewers, language, start time, title, tags.

    Twitch keeps no history, so these snapshots are the only record of demand per game and
    language over time.
    """
    started = time.perf_counter()
    game_key = context.partition_key
    game = effective_catalog(warehouse).get(game_key)
    this_collection = collection_id(context)
    previous = load_states(warehouse, "twitch").get(game_key)
    client = twitch.client(game_key=game_key, run_id=context.run.run_id)
    try:
        outcome = collect_twitch(game, client, this_collection)
        client.close()
    except Exception as error:
        record_failure(warehouse, game_key, "twitch", datetime.now(UTC), _describe(error))
        raise
    warehouse.replace_many(stream_writes(outcome, game_key, this_collection, previous))
    hot_tier.put_json(
        {f"twitch:games:{game_key}": hot_tier_streams(outcome, game_key)}, HOT_TIER_TTL_SECONDS
    )
    rows = outcome.rows
    return dg.MaterializeResult(
        metadata={
            "streams": len(rows),
            "total_viewers": int(rows["viewer_count"].sum()) if len(rows) else 0,
            "languages": int(rows["language"].nunique()),
            "duplicates_dropped": outcome.duplicates,
            "points": client.points_spent(),
            "content_hash": outcome.content_hash,
            "duration_seconds": elapsed_since(started),
            "collected_at": outcome.collected_at.isoformat(),
        }
    )


def _describe(error: Exception) -> str:
    """A failure as stored in the collection state: its kind and message (never a secret)."""
    return f"{type(error).__name__}: {error}"


youtube_collection_job = dg.define_asset_job("youtube_collection_job", selection=[youtube_videos])
twitch_collection_job = dg.define_asset_job("twitch_collection_job", selection=[twitch_streams])
