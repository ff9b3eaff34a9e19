"""Poisoned payloads, failed writes, overlapping and killed collections, a Redis that fails late.

Everything runs against the simulator over HTTP, real Postgres and real Redis; faults are the
simulator's (a `poison` fault puts any JSON value into one item of an answer) or real ones (a
killed process, a Redis port nobody listens on, a Postgres trigger that refuses a write).
"""

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import redis
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intel_assets.catalog import load_catalog
from intel_assets.defs.collection.assets import (
    COLLECTION_ID_TAG,
    CollectionPolicy,
    twitch_streams,
    youtube_videos,
)
from intel_assets.defs.collection.checks import twitch_streams_checks, youtube_videos_checks
from intel_assets.defs.collection.state import window_start
from intel_assets.dev.history_seeding import simulator_resources
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.redis_keys import chart_key
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Fault
from intel_assets.simulator.server import RunningSimulator
from intel_assets_tests.conftest import free_port
from intel_assets_tests.defs.check_results import evaluations, failed
from intel_assets_tests.defs.collection.conftest import REGIONS

T = datetime(2026, 11, 18, 15, 5, tzinfo=UTC)
GAME = "fortnite"
CHART = "/youtube/v3/videos"


def _collect(
    resources: dict[str, Any], collection: str, *, game: str = GAME
) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("games", load_catalog().keys)
        return dg.materialize(
            [youtube_videos],
            partition_key=game,
            resources=resources,
            instance=instance,
            tags={COLLECTION_ID_TAG: collection},
            raise_on_error=False,
        )


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    event = result.get_asset_materialization_events()[0]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _rows(warehouse: PostgresWarehouse, collection: str) -> pd.DataFrame:
    return warehouse.fetch_frame(
        b"SELECT video_id, title, view_count, like_count, comment_count, duration_seconds, "
        b"is_short FROM video_snapshots WHERE collection_id = %s ORDER BY video_id",
        (collection,),
    ).set_index("video_id")


def _poisoned_item(simulator: RunningSimulator) -> tuple[int, str]:
    """Position (on the US chart's first page) and id of the game's most viewed chart video."""
    game = load_catalog().get(GAME)
    first_page = simulator.world.chart_ids("US", T)[:50]
    views = {
        vid: video.views_at(T.timestamp())
        for vid in first_page
        if (video := simulator.world.video(vid)) is not None
        and (text := simulator.world.text(vid)) is not None
        and game.matches(text.title, list(text.tags), text.description)
    }
    chosen = max(views, key=lambda vid: views[vid])
    return first_page.index(chosen), chosen


def _truth(simulator: RunningSimulator, video_ids: list[str]) -> pd.DataFrame:
    """What the simulator's API says of each video at T: its title and counts."""
    rows = []
    for vid in video_ids:
        video = simulator.world.video(vid)
        assert video is not None
        at = T.timestamp()
        rows.append(
            {
                "video_id": vid,
                "title": simulator.world.text(vid).title,
                "view_count": video.views_at(at),
                "like_count": video.likes_at(at),
                "comment_count": video.comments_at(at),
            }
        )
    return pd.DataFrame(rows).set_index("video_id")


POISONS = {
    # The values: a count beyond BIGINT, a NUL, a lone surrogate, an endless duration.
    "count_beyond_bigint": ("statistics.likeCount", "99999999999999999999", "like_count"),
    "nul_in_title": ("snippet.title", "Fortnite\x00 clutch \x00win", "title"),
    "lone_surrogate": ("snippet.title", "Fortnite \ud800 clutch", "title"),
    "endless_duration": ("contentDetails.duration", "PT99999999999H", "duration_seconds"),
}
STORED = {
    "like_count": None,
    "title": {"nul_in_title": "Fortnite clutch win", "lone_surrogate": "Fortnite \ufffd clutch"},
    "duration_seconds": None,
}


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_a_poisoned_value_is_repaired_and_the_rest_stored_exactly(
    poison: str,
    simulator: RunningSimulator,
    resources: dict[str, Any],
    warehouse: PostgresWarehouse,
    caplog: pytest.LogCaptureFixture,
):
    field, value, column = POISONS[poison]
    position, poisoned = _poisoned_item(simulator)
    simulator.set_clock(T)
    simulator.inject(
        Fault(kind="poison", api="youtube", path_prefix=CHART, field=field, value=value,
              item=position)
    )  # fmt: skip
    with time_machine.travel(T, tick=False):
        result = _collect(resources, "poisoned")
    assert result.success
    assert simulator.faults() == []  # the poison was served
    metadata = _metadata(result)
    assert (metadata["repaired_fields"], metadata["rejected_items"]) == (1, 0)
    assert f"repaired item {poisoned}: {column}" in caplog.text
    assert metadata["repairs"] == (
        f"{GAME}: repaired 1 fields of 1 items ({poisoned}: {column}); rejected 0 items"
    )

    rows = _rows(warehouse, "poisoned")
    assert poisoned in rows.index
    expected = STORED[column]
    stored: Any = rows.loc[poisoned, column]
    if isinstance(expected, dict):
        assert stored == expected[poison]
    else:
        assert pd.isna(stored)
    if column == "duration_seconds":
        assert not rows.loc[poisoned, "is_short"]
    # Every other value of every video is what the API said, to the unit.
    truth = _truth(simulator, list(rows.index))
    others = rows.drop(index=poisoned)
    assert list(others["title"]) == list(truth.loc[others.index, "title"])
    kept = [c for c in ("view_count", "like_count", "comment_count") if c != column]
    pd.testing.assert_frame_equal(
        rows[kept].astype("Float64"), truth.loc[rows.index, kept].astype("Float64")
    )

    # A second collection within the hour is served the chart as it was stored: cleaned.
    with time_machine.travel(T + timedelta(minutes=20), tick=False):
        again = _collect(resources, "again")
    assert again.success
    assert _metadata(again)["repaired_fields"] == 0
    stored_again: Any = _rows(warehouse, "again").loc[poisoned, column]
    if isinstance(expected, dict):
        assert stored_again == expected[poison]
    else:
        assert pd.isna(stored_again)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    item=st.fixed_dictionaries(
        {"id": st.just("vidFUZZ00001")},
        optional={
            "snippet": st.fixed_dictionaries(
                {},
                optional={
                    "title": st.one_of(st.text(max_size=8), st.integers()),
                    "channelId": st.one_of(st.just("UCfuzz"), st.none(), st.integers()),
                    "publishedAt": st.one_of(st.just("2026-11-18T10:00:00Z"), st.text(max_size=4)),
                    "tags": st.one_of(st.lists(st.text(max_size=4), max_size=3), st.integers()),
                },
            ),
            "statistics": st.fixed_dictionaries(
                {},
                optional={
                    "viewCount": st.one_of(st.integers(-(2**70), 2**70).map(str), st.text()),
                    "likeCount": st.one_of(st.integers(-(2**70), 2**70), st.none()),
                },
            ),
            "contentDetails": st.fixed_dictionaries(
                {}, optional={"duration": st.sampled_from(["PT99999999999H", "P1M", "x", "PT3M"])}
            ),
        },
    )
)
def test_fuzzed_chart_items_never_fail_a_collection(
    item: dict[str, Any],
    simulator: RunningSimulator,
    resources: dict[str, Any],
    warehouse: PostgresWarehouse,
):
    """A chart item generated from the model's fields replaces the game's top chart video."""
    position, _ = _poisoned_item(simulator)
    simulator.set_clock(T)
    simulator.clear_faults()
    redis.Redis.from_url(resources["hot_tier"].url).flushdb()
    simulator.inject(Fault(kind="poison", api="youtube", path_prefix=CHART, item=position,
                           value=item))  # fmt: skip
    with time_machine.travel(T, tick=False):
        result = _collect(resources, "fuzz")
    assert result.success
    rows = _rows(warehouse, "fuzz")
    metadata = _metadata(result)
    assert metadata["rejected_items"] in (0, 1)
    truth = _truth(simulator, [v for v in rows.index if v != "vidFUZZ00001"])
    counts = ["view_count", "like_count", "comment_count"]
    pd.testing.assert_frame_equal(
        rows.loc[truth.index, counts].astype("Float64"), truth[counts].astype("Float64")
    )
    assert list(rows.loc[truth.index, "title"]) == list(truth["title"])


_REFUSE_TITLE = """
CREATE FUNCTION refuse_title() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.title = 'refused by the test' THEN RAISE EXCEPTION 'refused'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_title BEFORE INSERT ON video_snapshots
    FOR EACH ROW EXECUTE FUNCTION refuse_title();
"""


def test_a_snapshot_that_fails_to_store_counts_as_a_failure_and_its_chart_is_not_served_again(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
):
    position, poisoned = _poisoned_item(simulator)
    with warehouse.connection() as conn:
        conn.execute(_REFUSE_TITLE.encode())
    simulator.set_clock(T)
    simulator.inject(
        Fault(kind="poison", api="youtube", path_prefix=CHART, field="snippet.title",
              value="refused by the test", item=position)
    )  # fmt: skip
    with time_machine.travel(T, tick=False):
        failed_run = _collect(resources, "refused")
    assert not failed_run.success
    state = warehouse.fetch_dicts(
        b"SELECT failures_in_row, last_error FROM intel_collection_state "
        b"WHERE game_key = %s AND source = 'youtube'",
        (GAME,),
    )
    assert state[0]["failures_in_row"] == 1
    assert "refused" in state[0]["last_error"]
    window = window_start(T, 60)
    assert hot_tier.client().exists(*(chart_key(r, window) for r in REGIONS)) == 0

    charts_before = simulator.counts()["youtube"]["videos.list"]["calls"]
    with time_machine.travel(T + timedelta(minutes=5), tick=False):
        retried = _collect(resources, "retried")
    assert retried.success
    # The chart was fetched again, not served from the cache that failed: the title is real.
    assert simulator.counts()["youtube"]["videos.list"]["calls"] > charts_before
    assert _rows(warehouse, "retried").loc[poisoned, "title"] != "refused by the test"


def _first_collection_in_child(urls: dict[str, str], done: Any) -> None:
    with time_machine.travel(T, tick=False):
        warehouse = PostgresWarehouse(url=urls["warehouse"])
        resources = simulator_resources(
            urls["youtube"], urls["twitch"], urls["auth"], warehouse,
            RedisHotTier(url=urls["redis"]), CollectionPolicy(regions=REGIONS),
        )  # fmt: skip
        done.put(_collect(resources, "first").success)


def test_a_collection_overlapping_one_of_the_same_game_writes_nothing(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    warehouse: PostgresWarehouse,
    warehouse_url: str,
    redis_url: str,
):
    simulator.set_clock(T)
    # The first collection (its own process, as a second `dagster asset materialize` would
    # be) is slow in channels.list, after its charts, before its write.
    simulator.inject(Fault(kind="slow", api="youtube", path_prefix="/youtube/v3/channels",
                           delay_seconds=4))  # fmt: skip
    urls = {
        "warehouse": warehouse_url, "redis": redis_url, "youtube": simulator.youtube_url,
        "twitch": simulator.twitch_url, "auth": simulator.auth_url,
    }  # fmt: skip
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    child = context.Process(target=_first_collection_in_child, args=(urls, done))
    child.start()
    deadline = time.monotonic() + 120
    while simulator.counts()["youtube"]["channels.list"]["calls"] == 0:
        assert time.monotonic() < deadline and child.is_alive()
        time.sleep(0.05)
    with time_machine.travel(T, tick=False):
        second = _collect(resources, "second")
    first_succeeded = done.get(timeout=120)
    child.join(timeout=60)
    with time_machine.travel(T + timedelta(minutes=2), tick=False):
        third = _collect(resources, "third")

    assert first_succeeded and second.success and third.success
    assert second.get_asset_materialization_events() == []
    observed = second.get_asset_observation_events()
    assert len(observed) == 1
    assert "another collection of this game is running" in (
        observed[0].asset_observation_data.asset_observation.description or ""
    )
    snapshots = warehouse.fetch_dicts(
        b"SELECT collection_id, count(*) AS n, count(DISTINCT video_id) AS videos "
        b"FROM video_snapshots GROUP BY 1 ORDER BY 1"
    )
    # One after the other, both write; at once, only the first.
    assert [s["collection_id"] for s in snapshots] == ["first", "third"]
    assert all(s["n"] == s["videos"] > 0 for s in snapshots)


def _collect_in_child(urls: dict[str, str]) -> None:
    with time_machine.travel(T, tick=False):
        warehouse = PostgresWarehouse(url=urls["warehouse"])
        resources = simulator_resources(
            urls["youtube"], urls["twitch"], urls["auth"], warehouse,
            RedisHotTier(url=urls["redis"]), CollectionPolicy(regions=REGIONS),
        )  # fmt: skip
        _collect(resources, "killed", game="valorant")


@pytest.mark.long
def test_a_collection_killed_holding_the_chart_lock_delays_the_next_by_seconds(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    warehouse: PostgresWarehouse,
    warehouse_url: str,
    redis_url: str,
):
    simulator.set_clock(T)
    # The child's first chart page takes a minute: it holds the chart lock while it waits.
    simulator.inject(Fault(kind="slow", api="youtube", path_prefix=CHART, delay_seconds=60))
    urls = {
        "warehouse": warehouse_url, "redis": redis_url, "youtube": simulator.youtube_url,
        "twitch": simulator.twitch_url, "auth": simulator.auth_url,
    }  # fmt: skip
    child = multiprocessing.get_context("spawn").Process(target=_collect_in_child, args=(urls,))
    child.start()
    client = redis.Redis.from_url(redis_url)
    lock = chart_key(REGIONS[0], window_start(T, 60)) + ":lock"
    deadline = time.monotonic() + 120
    while not client.exists(lock):
        assert time.monotonic() < deadline and child.is_alive(), "the child never took the lock"
        time.sleep(0.05)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)
    killed_at = time.monotonic()

    with time_machine.travel(T + timedelta(minutes=1), tick=False):
        result = _collect(resources, "next", game="valorant")
    waited = time.monotonic() - killed_at
    client.close()
    assert result.success
    print(f"the next collection completed {waited:.1f} s after its predecessor was killed")
    assert waited < 30
    assert len(_rows(warehouse, "next")) > 0


def test_redis_failing_after_postgres_committed_is_repaired_from_postgres(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
):
    simulator.set_clock(T)
    # Collection itself reaches Redis (ledger, token); only the hot-tier write meets a dead port.
    dead = RedisHotTier(url=f"redis://127.0.0.1:{free_port()}/0")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("games", [GAME])
        result = dg.materialize(
            [twitch_streams],
            partition_key=GAME,
            resources={**resources, "hot_tier": dead},
            instance=instance,
            tags={COLLECTION_ID_TAG: "tw:1"},
        )
        assert result.success
        assert _metadata(result)["hot_tier_written"] is False
        assert hot_tier.get_json(f"twitch:games:{GAME}") is None
        stored = warehouse.fetch_frame(
            b"SELECT stream_id, viewer_count FROM stream_snapshots WHERE collection_id = 'tw:1'"
        )
        assert len(stored) > 0

        checks = dg.materialize(  # the checks alone look at every game's latest snapshot
            [twitch_streams, twitch_streams_checks],
            selection=dg.AssetSelection.checks(twitch_streams_checks),
            resources=resources,
            instance=instance,
        )
    found = evaluations(checks)
    assert failed(found) == {"twitch_streams_hot_tier_matches_postgres": 1}
    assert found["twitch_streams_hot_tier_matches_postgres"].metadata["games_rewritten"].value == 1
    hot = hot_tier.get_json(f"twitch:games:{GAME}")
    assert hot is not None
    assert hot["stream_count"] == len(stored)
    assert hot["total_viewers"] == int(stored["viewer_count"].sum())
    assert sorted(s["stream_id"] for s in hot["streams"]) == sorted(stored["stream_id"])


def test_a_lost_youtube_hot_tier_entry_is_rewritten_as_the_collection_wrote_it(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    hot_tier: RedisHotTier,
):
    simulator.set_clock(T)
    with time_machine.travel(T, tick=False), dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("games", [GAME])
        assert dg.materialize(
            [youtube_videos], partition_key=GAME, resources=resources, instance=instance
        ).success
        written = hot_tier.get_json(f"youtube:games:{GAME}")
        hot_tier.client().delete(f"youtube:games:{GAME}")
        checks = dg.materialize(
            [youtube_videos, youtube_videos_checks],
            selection=dg.AssetSelection.checks(youtube_videos_checks),
            resources=resources,
            instance=instance,
        )
    assert failed(evaluations(checks)) == {"youtube_videos_hot_tier_matches_postgres": 1}
    rewritten = hot_tier.get_json(f"youtube:games:{GAME}")
    assert written is not None and rewritten is not None
    key = lambda v: v["video_id"]  # noqa: E731
    assert {k: v for k, v in rewritten.items() if k != "videos"} == {
        k: v for k, v in written.items() if k != "videos"
    }
    assert sorted(rewritten["videos"], key=key) == sorted(written["videos"], key=key)
