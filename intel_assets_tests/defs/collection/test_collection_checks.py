from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
import time_machine

from intel_assets.defs.collection.assets import CollectionPolicy, twitch_streams, youtube_videos
from intel_assets.defs.collection.checks import twitch_streams_checks, youtube_videos_checks
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import BucketSpec, QuotaLedger
from intel_assets.resources.twitch import TwitchResource
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope
from intel_assets.resources.youtube import YouTubeResource
from intel_assets_tests.clock import pacific_time
from intel_assets_tests.defs.check_results import failed
from intel_assets_tests.defs.snapshot_rows import insert_channels, insert_streams, insert_videos

T = datetime(2026, 3, 4, 5, 10, tzinfo=UTC)
YOUTUBE_NAMES = [
    "youtube_videos_has_unique_video_ids",
    "youtube_videos_has_no_negative_counts",
    "youtube_videos_has_required_fields",
    "youtube_videos_match_the_game",
    "youtube_videos_quota_under_target_share",
    "youtube_videos_hot_tier_matches_postgres",
    "youtube_videos_repairs_are_usual",
]
TWITCH_NAMES = [
    "twitch_streams_has_unique_stream_ids",
    "twitch_streams_has_no_negative_viewers",
    "twitch_streams_has_required_fields",
    "twitch_streams_hot_tier_matches_postgres",
    "twitch_streams_repairs_are_usual",
]


def _state(warehouse: PostgresWarehouse, game: str, source: str, collection: str) -> None:
    warehouse.replace_rows(
        "intel_collection_state",
        ["game_key", "source", "last_collected_at", "last_collection_id", "last_row_count"],
        [(game, source, T, collection, 2)],
        scope=RowScope(equals={"game_key": game, "source": source}),
    )


def _good_youtube(warehouse: PostgresWarehouse) -> None:
    """Fortnite's latest collection c2 (two videos, one channel); an older c1 is not checked."""
    _state(warehouse, "fortnite", "youtube", "c2")
    insert_videos(
        warehouse,
        [
            dict(video_id="v1", game_key="fortnite", collected_at=T, collection_id="c2",
                 title="Fortnite zero build win", view_count=10, like_count=1, comment_count=0,
                 duration_seconds=60),
            dict(video_id="v2", game_key="fortnite", collected_at=T, collection_id="c2",
                 title="best moments", tags=["fortnite"], view_count=0, like_count=None,
                 duration_seconds=None),
            # An older collection with a negative count: not the latest, so not checked.
            dict(video_id="v1", game_key="fortnite", collected_at=T - timedelta(hours=2),
                 collection_id="c1", title="", duration_seconds=-1),
        ],
    )  # fmt: skip
    insert_channels(
        warehouse,
        [dict(channel_id="UC-test", game_key="fortnite", collected_at=T, collection_id="c2",
              subscriber_count=5, video_count=2, view_count=10)],
    )  # fmt: skip


def _resources(warehouse: PostgresWarehouse, hot_tier: RedisHotTier) -> dict[str, Any]:
    return {
        "warehouse": warehouse,
        "hot_tier": hot_tier,
        # Never called: the checks read the quota ledger in Redis only.
        "youtube": YouTubeResource(
            api_key="unused", api_url="http://127.0.0.1:9", redis=hot_tier, warehouse=warehouse
        ),
        "twitch": TwitchResource(
            client_id="unused",
            client_secret="unused",
            api_url="http://127.0.0.1:9",
            auth_url="http://127.0.0.1:9",
            redis=hot_tier,
            warehouse=warehouse,
        ),
        "collection_policy": CollectionPolicy(),
    }


def _run_checks(
    checks: dg.AssetChecksDefinition,
    asset: dg.AssetsDefinition,
    resources: dict[str, Any],
    partition: str | None = None,
) -> dict[str, dg.AssetCheckEvaluation]:
    """Run only the checks (the asset is not materialized) and their evaluations by name.

    The hot tier holds each stored collection, as the collections would have left it.
    """
    states = resources["warehouse"].fetch_dicts(
        b"SELECT game_key, source, last_collected_at FROM intel_collection_state"
    )
    for state in states:
        resources["hot_tier"].put_json(
            {
                f"{state['source']}:games:{state['game_key']}": {
                    "collected_at": state["last_collected_at"]
                }
            },
            3600,
        )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("games", ["fortnite", "valorant"])
        result = dg.materialize(
            [asset, checks],
            selection=dg.AssetSelection.checks(checks),
            resources=resources,
            instance=instance,
            partition_key=partition,
            raise_on_error=False,
        )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_good_latest_snapshot_passes_every_youtube_check(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier
):
    _good_youtube(warehouse)
    evaluations = _run_checks(
        youtube_videos_checks, youtube_videos, _resources(warehouse, hot_tier)
    )

    assert sorted(evaluations) == sorted(YOUTUBE_NAMES)
    assert failed(evaluations) == {}
    unique = evaluations["youtube_videos_has_unique_video_ids"].metadata
    # Only c2, the collection the state points at: one snapshot of 2 rows.
    assert unique["snapshots_checked"].value == 1
    assert unique["rows_checked"].value == 2
    # v1 names Fortnite in its title, v2 in its tags: 2 of 2.
    assert evaluations["youtube_videos_match_the_game"].metadata["matched_share"].value == 1.0


@pytest.mark.parametrize(
    ("bad_rows", "channel_rows", "expected"),
    [
        # v1 again a second later in the same collection: one repeated row.
        (
            [dict(video_id="v1", collected_at=T + timedelta(seconds=1), title="Fortnite again")],
            [],
            {"youtube_videos_has_unique_video_ids": 1},
        ),
        # A negative duration on a video and a negative subscriber count on a channel.
        (
            [dict(video_id="v3", collected_at=T, title="Fortnite", duration_seconds=-5)],
            [dict(channel_id="UC-neg", subscriber_count=-1)],
            {"youtube_videos_has_no_negative_counts": 2},
        ),
        # A blank title and a blank channel id (the table only refuses NULLs).
        (
            [dict(video_id="v3", collected_at=T, title="  ", tags=["fortnite"]),
             dict(video_id="v4", collected_at=T, title="Fortnite", channel_id="")],
            [],
            {"youtube_videos_has_required_fields": 2},
        ),
        # Two videos that match no Fortnite rule: 2 of 4 match, 50% < 90%.
        (
            [dict(video_id="v3", collected_at=T, title="minecraft house"),
             dict(video_id="v4", collected_at=T, title="cooking show")],
            [],
            {"youtube_videos_match_the_game": 1},
        ),
    ],
)  # fmt: skip
def test_bad_rows_in_the_latest_snapshot_fail_their_check(
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    bad_rows: list[dict[str, Any]],
    channel_rows: list[dict[str, Any]],
    expected: dict[str, int],
):
    _good_youtube(warehouse)
    insert_videos(
        warehouse, [{"game_key": "fortnite", "collection_id": "c2", **r} for r in bad_rows]
    )
    if channel_rows:
        insert_channels(
            warehouse,
            [{"game_key": "fortnite", "collection_id": "c2", "collected_at": T, **r}
             for r in channel_rows],
        )  # fmt: skip
    evaluations = _run_checks(
        youtube_videos_checks, youtube_videos, _resources(warehouse, hot_tier)
    )

    assert failed(evaluations) == expected
    if "youtube_videos_match_the_game" in expected:
        match = evaluations["youtube_videos_match_the_game"]
        assert match.severity == dg.AssetCheckSeverity.WARN
        assert match.metadata["matched_share"].value == 0.5


def test_a_collection_run_checks_its_own_game_and_passes_on_the_simulator(
    resources: dict[str, Any], warehouse: PostgresWarehouse
):
    # Valorant's latest snapshot holds a negative duration; fortnite's run must not see it.
    _state(warehouse, "valorant", "youtube", "c9")
    insert_videos(
        warehouse, [dict(video_id="x", game_key="valorant", collection_id="c9", collected_at=T,
                         title="valorant", duration_seconds=-1)]
    )  # fmt: skip
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("games", ["fortnite", "valorant"])
        with time_machine.travel(pacific_time(9), tick=False):
            collected = dg.materialize(
                [youtube_videos, youtube_videos_checks],
                partition_key="fortnite",
                resources=resources,
                instance=instance,
            )
    fortnite = {e.check_name: e for e in collected.get_asset_check_evaluations()}
    every_game = _run_checks(youtube_videos_checks, youtube_videos, resources)

    metadata = collected.asset_materializations_for_node("youtube_videos")[0].metadata
    videos = metadata["videos"]
    # The day's first collection in a fresh Redis: the day's share is this run's units / limit.
    units = metadata["units_default"].value
    assert isinstance(units, int) and units > 0
    assert metadata["quota_day_share_default"].value == units / 10_000
    assert sorted(fortnite) == sorted(YOUTUBE_NAMES)
    assert failed(fortnite) == {}
    assert fortnite["youtube_videos_has_unique_video_ids"].metadata["snapshots_checked"].value == 1
    assert fortnite["youtube_videos_has_unique_video_ids"].metadata["rows_checked"] == videos
    # Every video the collection kept matched the game's rules when it was found.
    assert fortnite["youtube_videos_match_the_game"].metadata["matched_share"].value == 1.0
    # Run alone, the checks read every game's latest snapshot: valorant's fails.
    assert (
        every_game["youtube_videos_has_unique_video_ids"].metadata["snapshots_checked"].value == 2
    )
    assert failed(every_game) == {"youtube_videos_has_no_negative_counts": 1}


def test_quota_spent_over_the_target_share_warns(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier
):
    _good_youtube(warehouse)
    now = pacific_time(10)
    ledger = QuotaLedger(
        hot_tier.client(),
        platform="youtube",
        buckets=[BucketSpec("default", 10_000), BucketSpec("search", 100)],
        clock=lambda: now,
    )
    ledger.reserve("default", "videos.list", 4_000)
    ledger.reserve("search", "search.list", 60)
    with time_machine.travel(now, tick=False):
        evaluations = _run_checks(
            youtube_videos_checks, youtube_videos, _resources(warehouse, hot_tier)
        )

    quota = evaluations["youtube_videos_quota_under_target_share"]
    # default: 4000 / 10000 = 40% <= 50%; search: 60 / 100 = 60% > 50%.
    assert failed(evaluations) == {"youtube_videos_quota_under_target_share": 1}
    assert quota.severity == dg.AssetCheckSeverity.WARN
    assert quota.metadata["share_used_default"].value == 0.4
    assert quota.metadata["share_used_search"].value == 0.6
    assert quota.metadata["units_used_search"].value == 60


def test_twitch_checks_pass_on_good_rows_and_fail_on_bad_ones(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier
):
    _state(warehouse, "fortnite", "twitch", "s1")
    insert_streams(
        warehouse,
        [dict(stream_id="a", game_key="fortnite", collected_at=T, collection_id="s1",
              viewer_count=5),
         dict(stream_id="b", game_key="fortnite", collected_at=T, collection_id="s1",
              viewer_count=0)],
    )  # fmt: skip
    resources = _resources(warehouse, hot_tier)
    good = _run_checks(twitch_streams_checks, twitch_streams, resources)
    insert_streams(
        warehouse,
        [dict(stream_id="a", game_key="fortnite", collected_at=T + timedelta(seconds=1),
              collection_id="s1", viewer_count=5),
         dict(stream_id="c", game_key="fortnite", collected_at=T, collection_id="s1",
              viewer_count=1, user_id=" ")],
    )  # fmt: skip
    bad = _run_checks(twitch_streams_checks, twitch_streams, resources)

    assert sorted(good) == sorted(TWITCH_NAMES)
    assert failed(good) == {}
    assert failed(bad) == {
        "twitch_streams_has_unique_stream_ids": 1,
        "twitch_streams_has_required_fields": 1,
    }


def test_negative_viewers_fail_where_the_table_lacks_its_constraint(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier
):
    # The table refuses negative viewers; a copy restored without its constraints would not.
    # This test's own database drops it, so the check is seen to catch what it guards.
    with warehouse.connection() as conn:
        conn.execute(
            "ALTER TABLE stream_snapshots DROP CONSTRAINT stream_snapshots_viewer_count_check"
        )
    _state(warehouse, "fortnite", "twitch", "s1")
    insert_streams(
        warehouse,
        [dict(stream_id="a", game_key="fortnite", collected_at=T, collection_id="s1",
              viewer_count=-3)],
    )  # fmt: skip

    evaluations = _run_checks(
        twitch_streams_checks, twitch_streams, _resources(warehouse, hot_tier)
    )

    assert failed(evaluations) == {"twitch_streams_has_no_negative_viewers": 1}
