from datetime import UTC, datetime, timedelta

import dagster as dg
import time_machine

from intel_assets.defs.collection.assets import COLLECTION_ID_TAG, twitch_streams
from intel_assets.defs.collection.twitch_channels import (
    TWITCH_CHANNEL_COLUMNS,
    TWITCH_VIDEO_COLUMNS,
    twitch_channels,
    twitch_channels_schedule,
)
from intel_assets.defs.collection.twitch_channels_checks import twitch_channels_checks
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Simulator
from intel_assets_tests.defs.check_results import evaluations, failed
from intel_assets_tests.defs.collection.conftest import api_resources

AT = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)
TOP = 4
VIDEOS = 3


def _materialize(resources: dict, instance: dg.DagsterInstance, at: datetime, assets: list,
                 tag: str, config: dict | None = None) -> dg.ExecuteInProcessResult:  # fmt: skip
    with time_machine.travel(at, tick=False):
        result = dg.materialize(
            assets,
            partition_key="minecraft",
            resources=resources,
            instance=instance,
            tags={COLLECTION_ID_TAG: tag},
            run_config=config,
        )
    assert result.success
    return result


def test_the_top_broadcasters_channels_and_videos_match_the_simulated_world(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier, instance: dg.DagsterInstance
):
    instance.add_dynamic_partitions("games", ["minecraft"])
    config = {"ops": {"twitch_channels": {"config": {
        "top_broadcasters": TOP, "videos_per_broadcaster": VIDEOS}}}}  # fmt: skip
    with Simulator(seed=19, twitch_streamers_per_category=600).running() as simulator:
        resources = api_resources(simulator, warehouse, hot_tier)
        for n, at in enumerate((AT - timedelta(minutes=30), AT)):
            simulator.set_clock(at)
            _materialize(resources, instance, at, [twitch_streams], f"minecraft:tw:{n}")
        later = AT + timedelta(minutes=5)
        simulator.set_clock(later)
        simulator.reset_counts()
        assets = [twitch_channels, twitch_channels_checks]
        result = _materialize(resources, instance, later, assets, "ch:1", config)
        calls = simulator.counts()
        world = simulator.world.twitch

    snapshots = warehouse.fetch_frame(b"SELECT user_id, viewer_count FROM stream_snapshots")
    ranked = (
        snapshots.groupby("user_id")["viewer_count"].sum().reset_index()
        .sort_values(["viewer_count", "user_id"], ascending=[False, True])
    )  # fmt: skip
    expected_top = list(ranked["user_id"][:TOP])
    channels = warehouse.fetch_frame(b"SELECT * FROM twitch_channel_snapshots ORDER BY top_rank")
    assert list(channels.columns) == list(TWITCH_CHANNEL_COLUMNS)
    assert list(channels["broadcaster_id"]) == expected_top
    assert list(channels["top_rank"]) == list(range(1, TOP + 1))
    for row in channels.to_dict("records"):
        streamer = world.streamer(row["broadcaster_id"])
        assert streamer is not None
        assert row["broadcaster_language"] == streamer.language
        assert list(row["tags"]) == list(streamer.tags)
        assert row["broadcaster_login"] == streamer.login
    videos = warehouse.fetch_frame(b"SELECT * FROM twitch_video_snapshots")
    assert list(videos.columns) == list(TWITCH_VIDEO_COLUMNS)
    for user in expected_top:
        streamer = world.streamer(user)
        assert streamer is not None
        # The world's archives of the broadcaster's last 14 days, newest first.
        ended = [s for s in world.ended_sessions(streamer.category, later.timestamp(),
                                                 timedelta(days=14))
                 if s.streamer.user_id == user]  # fmt: skip
        newest = sorted(ended, key=lambda s: (-s.start, s.video_id))[:VIDEOS]
        mine = videos[videos["user_id"] == user].sort_values("created_at", ascending=False)
        assert list(mine["video_id"]) == [s.video_id for s in newest]
        for session, row in zip(newest, mine.to_dict("records"), strict=True):
            assert row["duration_seconds"] == int(session.end - session.start)
            assert row["view_count"] == session.archive_views_at(later.timestamp())
            assert row["created_at"] == datetime.fromtimestamp(session.start, UTC)
    # One /channels call for the four, one /videos call each: five rate-limit points.
    metadata = result.asset_materializations_for_node("twitch_channels")[0].metadata
    assert metadata["points"].value == 1 + TOP
    assert metadata["broadcasters_asked"].value == TOP
    assert calls["twitch"]["videos"]["calls"] == TOP, calls
    assert calls["twitch"]["channels"]["calls"] == 1, calls
    assert set(evaluations(result)) == {"twitch_channels_are_the_games_broadcasters"}
    assert failed(evaluations(result)) == {}

    # A video of a broadcaster the game never had, and a second channel at rank 1.
    with warehouse.connection() as conn:
        conn.execute(
            "INSERT INTO twitch_video_snapshots (game_key, collected_at, collection_id, video_id,"
            " user_id, created_at, duration_seconds) VALUES ('minecraft', %s, 'ch:1', 'v-x',"
            " 'stranger', %s, 60)",
            (later, later),
        )
        conn.execute("UPDATE twitch_channel_snapshots SET top_rank = 1 WHERE top_rank = 2")
    checked = dg.materialize(
        [twitch_channels, twitch_channels_checks],
        selection=dg.AssetSelection.checks(twitch_channels_checks),
        resources=resources,
        instance=instance,
        tags={"dagster/partition": "minecraft"},
        raise_on_error=False,
    )
    assert failed(evaluations(checked)) == {"twitch_channels_are_the_games_broadcasters": 2}


def test_a_game_without_streams_reads_nothing_and_says_so(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier, instance: dg.DagsterInstance
):
    instance.add_dynamic_partitions("games", ["minecraft"])
    with Simulator(seed=19, twitch_streamers_per_category=100).running() as simulator:
        simulator.set_clock(AT)
        resources = api_resources(simulator, warehouse, hot_tier)
        result = _materialize(resources, instance, AT, [twitch_channels], "ch:empty")
    metadata = result.asset_materializations_for_node("twitch_channels")[0].metadata
    assert (metadata["broadcasters_asked"].value, metadata["points"].value) == (0, 0)
    assert warehouse.fetch_dicts("SELECT count(*) AS n FROM twitch_video_snapshots") == [{"n": 0}]


def test_the_schedule_asks_for_one_run_per_game_keyed_by_day(instance: dg.DagsterInstance):
    instance.add_dynamic_partitions("games", ["tetris"])  # a game added while running
    games = sorted(instance.get_dynamic_partitions("games"))
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=datetime(2026, 3, 5, 0, 10, tzinfo=UTC)
    )
    requests = twitch_channels_schedule(context)
    assert isinstance(requests, list)
    assert "tetris" in games and len(games) > 1
    assert [(r.run_key, r.partition_key) for r in requests] == [
        (f"2026-03-05:{game}", game) for game in games
    ]
