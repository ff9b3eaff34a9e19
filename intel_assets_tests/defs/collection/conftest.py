"""Collection fixtures: the simulator over HTTP and the API resources pointed at it."""

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import dagster as dg
import pytest

from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.twitch import TwitchResource
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube import YouTubeResource
from intel_assets.simulator import Simulator, World
from intel_assets.simulator.server import RunningSimulator

REGIONS = ["US", "JP"]


def playlist_uploads(
    world: World, channels: Iterable[str], at: datetime, since: datetime
) -> set[str]:
    """Ids a read of these channels' uploads playlists at `at` shows published after `since`.

    From the simulator's ground truth: a playlist page holds a channel's newest 50 uploads of
    the last 14 days.
    """
    wanted = set(channels)
    pages: dict[str, list[Any]] = {}
    for video in world.videos_at(at, timedelta(days=14)):
        channel = world.channel_of(video).channel_id
        if channel in wanted:
            pages.setdefault(channel, []).append(video)
    found: set[str] = set()
    for uploads in pages.values():
        newest = sorted(uploads, key=lambda v: (-v.published_at, v.video_id))[:50]
        found |= {v.video_id for v in newest if v.published_at > since.timestamp()}
    return found


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    with Simulator(
        seed=11, videos_per_game_per_day=60, channels=800, twitch_streamers_per_category=4000
    ).running() as running:
        yield running


def api_resources(
    sim: RunningSimulator, warehouse: PostgresWarehouse, hot_tier: RedisHotTier
) -> dict[str, Any]:
    """Every resource the collection assets and sensor take, on the simulator."""
    youtube = YouTubeResource(
        api_key="simulator-key",
        api_url=sim.youtube_url,
        redis=hot_tier,
        warehouse=warehouse,
        backoff_base_seconds=0.01,
        backoff_cap_seconds=0.05,
    )
    twitch = TwitchResource(
        client_id="simulator-client",
        client_secret="simulator-secret",
        api_url=sim.twitch_url,
        auth_url=sim.auth_url,
        redis=hot_tier,
        warehouse=warehouse,
        backoff_base_seconds=0.01,
        backoff_cap_seconds=0.05,
    )
    return {
        "youtube": youtube,
        "twitch": twitch,
        "warehouse": warehouse,
        "hot_tier": hot_tier,
        "collection_policy": CollectionPolicy(regions=REGIONS),
    }


@pytest.fixture
def resources(
    simulator: RunningSimulator, warehouse: PostgresWarehouse, hot_tier: RedisHotTier
) -> dict[str, Any]:
    return api_resources(simulator, warehouse, hot_tier)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    from intel_assets.catalog import load_catalog

    with dg.instance_for_test() as test_instance:
        test_instance.add_dynamic_partitions("games", load_catalog().keys)
        yield test_instance
