import math
from datetime import datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import time_machine

from intel_assets.analyzers.regional import detect_language
from intel_assets.catalog import load_catalog
from intel_assets.defs.collection.assets import (
    COLLECTION_ID_TAG,
    CollectionPolicy,
    twitch_streams,
    youtube_videos,
)
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import pacific_day
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Fault
from intel_assets.simulator.server import RunningSimulator
from intel_assets_tests.clock import pacific_time
from intel_assets_tests.defs.collection.conftest import REGIONS, playlist_uploads

T0 = pacific_time(7, 10)


def _collect(
    game: str,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    *,
    tags: dict[str, str] | None = None,
    search_calls: int = 0,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [youtube_videos],
        partition_key=game,
        resources=resources,
        instance=instance,
        tags=tags,
        run_config={"ops": {"youtube_videos": {"config": {"search_calls": search_calls}}}},
    )


def _snapshot(warehouse: PostgresWarehouse, game: str, collected_after: datetime) -> pd.DataFrame:
    return warehouse.fetch_frame(
        b"SELECT video_id, channel_id, source, live_state, view_count, collected_at, published_at "
        b"FROM video_snapshots WHERE game_key = %s AND collected_at >= %s",
        (game, collected_after),
    )


def _pages(ids: list[str]) -> int:
    return math.ceil(len(ids) / 50)


def _calls_for_new(groups: list[set[str]]) -> int:
    """Calls of at most 50 ids when each group pays only for ids no earlier group paid for."""
    paid: set[str] = set()
    calls = 0
    for ids in groups:
        new = ids - paid
        calls += math.ceil(len(new) / 50)
        paid |= new
    return calls


def test_all_games_once_share_the_charts_and_pay_for_each_video_once(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
):
    games = load_catalog().keys
    # Every followed channel's uploads playlist is read (at most 1,000), so the reads are known.
    resources = {
        **resources,
        "collection_policy": CollectionPolicy(regions=REGIONS, uploads_playlists=1000),
    }
    with time_machine.travel(T0, tick=False):
        for game in games:
            assert _collect(game, resources, instance).success
    counts = simulator.counts()["youtube"]

    # Round 1: the charts of both regions, paged to their end once, shared by all eight games.
    chart_pages = sum(_pages(simulator.world.chart_ids(region, T0)) for region in REGIONS)
    assert counts["videos.list"]["calls"] == chart_pages
    first = {game: _snapshot(warehouse, game, T0) for game in games}
    assert all(set(frame["source"]) <= {"chart"} for frame in first.values())
    # Channels: each game pays only for channels no earlier game fetched (50 ids a call).
    channel_calls = _calls_for_new([set(first[g]["channel_id"]) for g in games])
    assert counts["channels.list"]["calls"] == channel_calls
    assert counts["videos.batchGetStats"]["calls"] == 0
    assert counts["search.list"]["calls"] == 0
    assert sum(len(f) for f in first.values()) > 0
    # No game tracked anything before: no channel to follow, no playlist read.
    assert counts["playlistItems.list"]["calls"] == 0

    simulator.reset_counts()
    t1 = T0 + timedelta(minutes=61)
    with time_machine.travel(t1, tick=False):
        for game in games:
            assert _collect(game, resources, instance).success
    counts = simulator.counts()["youtube"]
    second = {game: _snapshot(warehouse, game, t1) for game in games}

    # Round 2, a new window: the charts again, and the tracked videos off the chart refreshed
    # through batchGetStats, each video's stats paid once however many games track it; tracked
    # broadcasts (upcoming/live) are re-read through videos.list instead. Once for all games,
    # the uploads playlist of every channel behind round 1's snapshots is read (one page each)
    # and the details of its uploads of the last three days that no game tracks are fetched,
    # except those cached from either round's charts; those counts also serve as this window's
    # statistics, so uploads cost no batchGetStats.
    chart_pages = sum(_pages(simulator.world.chart_ids(region, t1)) for region in REGIONS)
    since = t1 - timedelta(days=3)
    followed = {
        c
        for frame in first.values()
        for c, published in zip(frame["channel_id"], frame["published_at"], strict=True)
        if published >= since
    }
    charts = {
        vid
        for at in (T0, t1)
        for region in REGIONS
        for vid in simulator.world.chart_ids(region, at)
    }
    tracked_before = set().union(*(set(f["video_id"]) for f in first.values()))
    new_uploads = playlist_uploads(simulator.world, followed, t1, since) - tracked_before
    assert counts["playlistItems.list"]["calls"] == len(followed) > 0
    uploads = [set(second[g].loc[second[g]["source"] == "uploads", "video_id"]) for g in games]
    assert any(uploads) and set().union(*uploads) <= new_uploads
    live_before = {
        vid
        for frame in first.values()
        for vid, state in zip(frame["video_id"], frame["live_state"], strict=True)
        if state in ("upcoming", "live")
    }
    tracked = [set(second[g].loc[second[g]["source"] == "tracked", "video_id"]) for g in games]
    assert any(tracked), "round 2 refreshes some tracked videos"
    assert counts["videos.batchGetStats"]["calls"] == _calls_for_new(
        [ids - live_before for ids in tracked]
    )
    assert counts["videos.list"]["calls"] == chart_pages + _pages(
        sorted(new_uploads - charts)
    ) + _calls_for_new([ids & live_before for ids in tracked])
    new_channels = [set(second[g]["channel_id"]) for g in games]
    already = set().union(*(set(f["channel_id"]) for f in first.values()))
    assert counts["channels.list"]["calls"] == _calls_for_new(
        [ids - already for ids in new_channels]
    )

    # The ledger counted exactly what the simulator charged, bucket by bucket, that day.
    with time_machine.travel(t1, tick=False):
        ledger = {name: b.used for name, b in resources["youtube"].quota_status().items()}
    charged = simulator.units_by_bucket(pacific_day(t1))
    assert ledger["default"] > 0 and ledger["batch_stats"] > 0
    assert ledger == {bucket: charged.get(bucket, 0) for bucket in ledger}


def test_a_snapshot_lands_with_its_state_and_hot_tier_entry(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
):
    with time_machine.travel(T0, tick=False):
        result = _collect("minecraft", resources, instance, tags={COLLECTION_ID_TAG: "mc:1"})
    assert result.success
    rows = _snapshot(warehouse, "minecraft", T0)
    budget = load_catalog().get("minecraft").video_budget
    assert 0 < len(rows) <= budget
    assert rows["video_id"].is_unique
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["videos"].value == len(rows)
    assert metadata["new_videos"].value == len(rows)
    assert metadata["changed"].value is True

    state = warehouse.fetch_dicts(
        b"SELECT last_collection_id, last_row_count, unchanged_streak, failures_in_row "
        b"FROM intel_collection_state WHERE game_key = 'minecraft' AND source = 'youtube'"
    )
    assert state == [
        {
            "last_collection_id": "mc:1",
            "last_row_count": len(rows),
            "unchanged_streak": 0,
            "failures_in_row": 0,
        }
    ]
    hot = hot_tier.get_json("youtube:games:minecraft")
    assert hot is not None and hot["video_count"] == len(rows)
    assert sorted(v["video_id"] for v in hot["videos"]) == sorted(rows["video_id"])
    ttl = int(hot_tier.client().ttl("youtube:games:minecraft"))  # type: ignore[arg-type]
    assert 5 * 3600 - 60 <= ttl <= 5 * 3600

    # Every row's language was resolved as it was stored: the declared audio language's base
    # code, else the metadata language's, else what detection reads in title and description.
    languages = warehouse.fetch_dicts(
        b"SELECT default_audio_language AS audio, default_language AS meta, title, description, "
        b"language, language_source FROM video_snapshots WHERE game_key = 'minecraft'"
    )
    assert len(languages) == len(rows)
    for row in languages:
        declared = [
            (code.split("-")[0].lower(), source)
            for code, source in ((row["audio"], "audio"), (row["meta"], "default"))
            if code and code.split("-")[0].lower() not in ("zxx", "und", "mul")
        ]
        detected = detect_language(f"{row['title']}\n{row['description']}")
        expected = declared[0] if declared else (detected, "detected" if detected else "unknown")
        assert (row["language"], row["language_source"]) == expected, row


def test_an_unchanged_snapshot_extends_the_quiet_streak(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
):
    simulator.set_clock(T0)
    with time_machine.travel(T0, tick=False):
        assert _collect("roblox", resources, instance, tags={COLLECTION_ID_TAG: "r:1"}).success
    # Same simulator time, same counts: the content hash cannot change.
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        second = _collect("roblox", resources, instance, tags={COLLECTION_ID_TAG: "r:2"})
    metadata = second.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["changed"].value is False
    streak = warehouse.fetch_dicts(
        b"SELECT unchanged_streak FROM intel_collection_state WHERE game_key = 'roblox' "
        b"AND source = 'youtube'"
    )
    assert streak == [{"unchanged_streak": 1}]


def test_re_running_a_collection_replaces_its_snapshot(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
):
    tags = {COLLECTION_ID_TAG: "valorant:slot-1"}
    with time_machine.travel(T0, tick=False):
        assert _collect("valorant", resources, instance, tags=tags).success
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        assert _collect("valorant", resources, instance, tags=tags).success
    snapshots = warehouse.fetch_dicts(
        b"SELECT collected_at, count(*) AS n FROM video_snapshots "
        b"WHERE game_key = 'valorant' GROUP BY collected_at"
    )
    assert len(snapshots) == 1
    assert snapshots[0]["collected_at"] == T0 + timedelta(minutes=3)


def test_a_call_failing_after_its_retries_fails_cleanly_and_keeps_the_last_snapshot(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
):
    with time_machine.travel(T0, tick=False):
        assert _collect("warzone", resources, instance, tags={COLLECTION_ID_TAG: "w:1"}).success
    before = warehouse.fetch_dicts(b"SELECT count(*) AS n FROM video_snapshots")[0]["n"]

    # A new window re-fetches the charts; every videos.list answer is a 503 now.
    simulator.inject(
        Fault(kind="status", api="youtube", path_prefix="/youtube/v3/videos", count=50)
    )
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        failed = dg.materialize(
            [youtube_videos],
            partition_key="warzone",
            resources=resources,
            instance=instance,
            tags={COLLECTION_ID_TAG: "w:2"},
            raise_on_error=False,
        )
    assert not failed.success
    assert warehouse.fetch_dicts(b"SELECT count(*) AS n FROM video_snapshots")[0]["n"] == before
    state = warehouse.fetch_dicts(
        b"SELECT last_collection_id, failures_in_row, last_error, "
        b"last_failure_at > last_collected_at AS stale "
        b"FROM intel_collection_state WHERE game_key = 'warzone' AND source = 'youtube'"
    )[0]
    assert state["last_collection_id"] == "w:1"
    assert state["failures_in_row"] == 1
    assert state["stale"] is True
    assert "simulator-key" not in state["last_error"]


def test_twitch_streams_keeps_every_live_stream_once(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
):
    simulator.set_clock(T0)
    result = dg.materialize(
        [twitch_streams],
        partition_key="fortnite",
        resources=resources,
        instance=instance,
        tags={COLLECTION_ID_TAG: "f:tw:1"},
    )
    assert result.success
    truth = simulator.world.live_streams("fortnite", T0)
    rows = warehouse.fetch_frame(
        b"SELECT stream_id, viewer_count FROM stream_snapshots WHERE game_key = 'fortnite'"
    )
    assert len(rows) == len(truth) > 100  # more than one page of 100
    assert rows["stream_id"].is_unique
    assert int(rows["viewer_count"].sum()) == sum(s.viewers_at(T0.timestamp()) for s in truth)


@pytest.mark.parametrize("game", ["tetris"])
def test_an_unknown_game_fails_with_a_clear_error(
    game: str, resources: dict[str, Any], instance: dg.DagsterInstance
):
    instance.add_dynamic_partitions("games", [game])
    result = dg.materialize(
        [youtube_videos],
        partition_key=game,
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and failure.cause is not None
    assert failure.cause.cls_name == "CatalogError"
    assert "unknown game 'tetris'" in failure.cause.message


def test_channel_counts_keep_the_time_they_were_fetched_while_cached(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
):
    later = T0 + timedelta(hours=2)
    simulator.set_clock(T0)
    with time_machine.travel(T0, tick=False):
        assert _collect("fortnite", resources, instance).success
    simulator.set_clock(later)
    with time_machine.travel(later, tick=False):
        assert _collect("fortnite", resources, instance).success

    rows = warehouse.fetch_frame(
        b"SELECT channel_id, collected_at, fetched_at FROM channel_snapshots"
        b" WHERE game_key = 'fortnite' ORDER BY collected_at, channel_id"
    )
    first = rows[rows["collected_at"] == T0]
    second = rows[rows["collected_at"] == later]
    assert len(first) > 0
    assert (first["fetched_at"] == T0).all()
    # Channels the first collection fetched come from the cache two hours later: their counts
    # are still the ones fetched at T0, and say so.
    cached = second[second["channel_id"].isin(set(first["channel_id"]))]
    assert len(cached) > 0
    assert (cached["fetched_at"] == T0).all()
    assert (second["fetched_at"] <= later).all()
