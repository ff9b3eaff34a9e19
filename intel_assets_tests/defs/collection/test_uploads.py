import math
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd
import time_machine

from intel_assets.defs.collection.assets import CollectionPolicy, youtube_videos
from intel_assets.defs.collection.uploads import choose_channels, uploads_playlist_id
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import pacific_day
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator.server import RunningSimulator
from intel_assets_tests.clock import pacific_time
from intel_assets_tests.defs.collection.conftest import playlist_uploads

T_A = pacific_time(7, 10)
# The next collection window, past the 10 minutes by which round 1's details outlive their
# window: every detail round 2 needs is paid for again.
T_B = T_A + timedelta(minutes=75)
GAME, OTHER = "fortnite", "minecraft"


def test_channels_are_read_by_weight_times_wait_within_the_horizon():
    now = 100 * 3600.0
    weights = {"UCa": 3, "UCb": 1, "UCc": 2, "UCd": 5}
    looked = {"UCa": now - 2 * 3600, "UCb": now - 90 * 3600, "UCd": now}
    # Scores: a 3 x 2 h = 6; b 1 x min(90, 72) h = 72; c never read: 2 x 72 = 144; d 5 x 0 = 0
    # (read just now: not worth reading again, so never chosen).
    assert choose_channels(weights, looked, now, 3, horizon_hours=72) == ["UCc", "UCb", "UCa"]
    assert choose_channels(weights, looked, now, 10, horizon_hours=72) == ["UCc", "UCb", "UCa"]
    assert choose_channels(weights, {}, now, 2, horizon_hours=72) == ["UCd", "UCa"]
    assert choose_channels(weights, looked, now, 0, horizon_hours=72) == []


def test_the_uploads_playlist_is_the_channels_id_with_uu():
    assert uploads_playlist_id("UCabcdefghijklmnopqrstuv") == "UUabcdefghijklmnopqrstuv"


def _collect(game: str, resources: dict[str, Any], instance: dg.DagsterInstance) -> None:
    result = dg.materialize(
        [youtube_videos], partition_key=game, resources=resources, instance=instance
    )
    assert result.success


def _rows(warehouse: PostgresWarehouse, game: str, after: Any) -> pd.DataFrame:
    return warehouse.fetch_frame(
        b"SELECT video_id, channel_id, source, live_state, published_at FROM video_snapshots "
        b"WHERE game_key = %s AND collected_at >= %s",
        (game, after),
    )


def test_new_uploads_of_tracked_channels_reach_their_games_once_per_window(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
):
    world = simulator.world
    # Round 1: fortnite from the US chart alone, no uploads read: its snapshot's channels are
    # the channels it tracks.
    first_policy = CollectionPolicy(regions=["US"], uploads_playlists=0)
    with time_machine.travel(T_A, tick=False):
        _collect(GAME, {**resources, "collection_policy": first_policy}, instance)
    first = _rows(warehouse, GAME, T_A)
    since = T_B - timedelta(days=3)
    followed = set(first.loc[first["published_at"] >= since, "channel_id"])
    assert followed and simulator.counts()["youtube"]["playlistItems.list"]["calls"] == 0

    # What each followed channel's playlist page shows at T_B, and of it the uploads of the last
    # three days fortnite does not track yet.
    new = playlist_uploads(world, followed, T_B, since) - set(first["video_id"])
    matched = {
        game: {vid for vid in new if game in (world.video(vid).mentioned_games or ())}  # type: ignore[union-attr]
        for game in (GAME, OTHER)
    }
    assert matched[GAME] and matched[OTHER], "the followed channels uploaded both games lately"

    simulator.reset_counts()
    second_policy = CollectionPolicy(regions=[], uploads_playlists=1000)
    with time_machine.travel(T_B, tick=False):
        _collect(GAME, {**resources, "collection_policy": second_policy}, instance)
        _collect(OTHER, {**resources, "collection_policy": second_policy}, instance)
    counts = simulator.counts()["youtube"]
    ours, theirs = _rows(warehouse, GAME, T_B), _rows(warehouse, OTHER, T_B)

    # Discovered uploads are offered to the game's budget beside its tracked videos; minecraft,
    # never collected before, gets exactly its matches (fewer than its budget of 50).
    discovered = hot_tier.client().hkeys(f"youtube:discovered:{GAME}")
    assert set(discovered) == matched[GAME]  # type: ignore[arg-type]
    assert set(ours.loc[ours["source"] == "uploads", "video_id"]) <= matched[GAME]
    assert set(ours.loc[ours["source"] == "uploads", "video_id"])
    assert len(matched[OTHER]) <= 50
    assert set(theirs["video_id"]) == matched[OTHER]
    assert set(theirs["source"]) == {"uploads"}

    # Units, by the simulator's own count: one page per followed channel, read once for both
    # games; details of every new upload (round 1's chart details expired with its window), 50
    # ids a call; statistics only for fortnite's tracked videos (the sweep's answers carried the
    # uploads' counts for this window); no channel is new.
    chart = set(world.chart_ids("US", T_A))
    tracked = ours.loc[ours["source"] == "tracked", "video_id"]
    live_before = set(first.loc[first["live_state"].isin(["upcoming", "live"]), "video_id"])
    assert counts["playlistItems.list"] == {"calls": len(followed), "units": len(followed)}
    assert counts["videos.list"]["calls"] == math.ceil(len(new) / 50) + math.ceil(
        len(set(tracked) & live_before) / 50
    )
    assert counts["videos.batchGetStats"]["calls"] == math.ceil(
        len(set(tracked) - live_before) / 50
    )
    assert counts["channels.list"]["calls"] == 0
    assert counts["search.list"]["calls"] == 0
    with time_machine.travel(T_B, tick=False):
        day = simulator.units_by_bucket(pacific_day(T_B))
    # The day: round 1's chart pages and channels, then round 2's playlists and details.
    assert day["default"] == (
        math.ceil(len(chart) / 50)
        + math.ceil(len(set(first["channel_id"])) / 50)
        + len(followed)
        + counts["videos.list"]["calls"]
    )
