import json
from datetime import timedelta
from typing import Any

import dagster as dg
import pytest
import time_machine

from intel_assets.defs.collection.sensors import collection_sensor
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope
from intel_assets.resources.youtube import YouTubeResource
from intel_assets_tests.clock import pacific_time

# 10:00 in Los Angeles: 10/24 of the quota day has passed.
NOW = pacific_time(10)
PRIORITY_ORDER = [
    "fortnite", "minecraft", "valorant", "apex_legends", "gta", "roblox", "warzone",
    "league_of_legends",
]  # fmt: skip


def _tick(resources: dict[str, Any], instance: dg.DagsterInstance, cursor: str | None = None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = collection_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _youtube(result: dg.SensorResult) -> list[dg.RunRequest]:
    return [r for r in result.run_requests or [] if r.job_name == "youtube_collection_job"]


def _twitch(result: dg.SensorResult) -> list[dg.RunRequest]:
    return [r for r in result.run_requests or [] if r.job_name == "twitch_collection_job"]


def _set_state(warehouse: PostgresWarehouse, source: str, rows: list[tuple]) -> None:
    warehouse.replace_rows(
        "intel_collection_state",
        ["game_key", "source", "last_collected_at", "unchanged_streak", "last_row_count"],
        [(game, source, at, streak, 40) for game, at, streak in rows],
        scope=RowScope(equals={"source": source}),
    )


@pytest.fixture
def fresh_instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_first_tick_adds_the_games_and_requests_every_one_highest_priority_first(
    resources: dict[str, Any], fresh_instance: dg.DagsterInstance
):
    with time_machine.travel(NOW, tick=False):
        result = _tick(resources, fresh_instance)

    assert isinstance(result, dg.SensorResult)
    added = result.dynamic_partitions_requests or []
    assert [sorted(r.partition_keys) for r in added] == [sorted(PRIORITY_ORDER)]
    youtube = _youtube(result)
    assert [r.partition_key for r in youtube] == PRIORITY_ORDER
    assert [r.run_key for r in youtube] == [f"youtube_videos:{g}:first" for g in PRIORITY_ORDER]
    # search budget: 50 calls a day by 1/priority; fortnite's fair share 50 x 1/5.33 = 9.4,
    # paced to 10/24 of the day plus one: 4.9 > 0 used, so every game may search once.
    assert {r.run_config["ops"]["youtube_videos"]["config"]["search_calls"] for r in youtube} == {1}
    slot = NOW.replace(minute=0).isoformat()
    assert [r.run_key for r in _twitch(result)] == [
        f"twitch_streams:{g}:{slot}" for g in PRIORITY_ORDER
    ]
    cursor = json.loads(result.cursor or "{}")
    assert cursor["ticks"] == 1
    assert cursor["youtube"] == dict.fromkeys(PRIORITY_ORDER, "first")


def test_nothing_due_skips_with_the_reason(
    resources: dict[str, Any], instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    recent = NOW - timedelta(minutes=20)
    _set_state(warehouse, "youtube", [(g, recent, 0) for g in PRIORITY_ORDER])
    # Twitch collects every 30 minutes: collected at the start of the current slot.
    _set_state(warehouse, "twitch", [(g, NOW.replace(minute=0), 0) for g in PRIORITY_ORDER])
    with time_machine.travel(NOW, tick=False):
        result = _tick(resources, instance)

    assert not result.run_requests
    assert result.skip_reason is not None
    reason = result.skip_reason.skip_message or ""
    assert reason.startswith("nothing to collect:")
    assert "not due until" in reason
    assert "collected in the slot" in reason


def test_a_nearly_spent_budget_requests_only_what_fits(
    resources: dict[str, Any], instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    youtube: YouTubeResource = resources["youtube"]
    old = NOW - timedelta(hours=10)
    _set_state(warehouse, "youtube", [(g, old, 0) for g in PRIORITY_ORDER])
    # Paced allowance of the default bucket at 10:00 Pacific: 5,000 x 11/24 = 2,291.67.
    # Each collection of a 40-video game costs ceil(40 x 0.2 / 50) = 1 unit plus, with its
    # search, 1 for the details of 50 results; the first also pays 2 regions x 4 chart pages
    # and the window's uploads sweep: 50 playlists + ceil(50 x 5 / 50) = 5 for their details.
    ledger = youtube._ledger()
    with time_machine.travel(NOW, tick=False):
        ledger.reserve("default", "videos.list", 2_224)
        result = _tick(resources, instance)
    # 67.67 units of room: fortnite 1 + 8 charts + 55 sweep + 1 search = 65, minecraft 2,
    # valorant would need 1 without its search but 2,224 + 67 + 1 = 2,292 > 2,291.67.
    youtube_requests = _youtube(result)
    assert [r.partition_key for r in youtube_requests] == ["fortnite", "minecraft"]
    assert [r.tags["intel/search_calls"] for r in youtube_requests] == ["1", "1"]


def test_an_open_breaker_requests_no_youtube_collection(
    resources: dict[str, Any], instance: dg.DagsterInstance
):
    youtube: YouTubeResource = resources["youtube"]
    with time_machine.travel(NOW, tick=False):
        breaker = youtube.breaker("youtube")
        for _ in range(3):
            breaker.record_failure()
        result = _tick(resources, instance)
    assert _youtube(result) == []
    assert len(_twitch(result)) == 8  # Twitch has a breaker of its own
    assert json.loads(result.cursor or "{}")["youtube"] == {}


def test_quiet_games_are_collected_less_often(
    resources: dict[str, Any], instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    two_and_a_half = NOW - timedelta(hours=2.5)
    rows = [(g, NOW - timedelta(minutes=30), 0) for g in PRIORITY_ORDER]
    rows[0] = ("fortnite", two_and_a_half, 0)  # every 2 h: due
    rows[1] = ("minecraft", two_and_a_half, 3)  # 3 unchanged: every 3 h, not due
    rows[2] = ("valorant", NOW - timedelta(hours=3.5), 6)  # 6 unchanged: every 4 h, not due
    _set_state(warehouse, "youtube", rows)
    with time_machine.travel(NOW, tick=False):
        result = _tick(resources, instance)
    assert [r.partition_key for r in _youtube(result)] == ["fortnite"]


def test_cursor_round_trips_and_run_keys_stay_stable(
    resources: dict[str, Any], instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    _set_state(warehouse, "youtube", [("gta", NOW - timedelta(hours=5), 0)])
    with time_machine.travel(NOW, tick=False):
        first = _tick(resources, instance)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        second = _tick(resources, instance, cursor=first.cursor)
    keys_first = {r.partition_key: r.run_key for r in _youtube(first)}
    keys_second = {r.partition_key: r.run_key for r in _youtube(second)}
    assert keys_first == keys_second
    assert keys_first["gta"] == f"youtube_videos:gta:{(NOW - timedelta(hours=1)).isoformat()}"
    assert json.loads(second.cursor or "{}")["ticks"] == 2


def _run_with_key(instance: dg.DagsterInstance, job_name: str, run_key: str) -> None:
    """A running run in the instance, as Dagster records one it started from a run request."""
    instance.add_run(
        dg.DagsterRun(
            job_name=job_name,
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/run_key": run_key},
        )
    )


def test_the_first_tick_again_while_its_runs_wait_skips_with_the_reason(
    resources: dict[str, Any], instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    # Every game collected on YouTube 20 minutes ago (not due); none on Twitch yet, and the
    # first tick's Twitch runs of this slot are still running.
    _set_state(warehouse, "youtube", [(g, NOW - timedelta(minutes=20), 0) for g in PRIORITY_ORDER])
    slot = NOW.replace(minute=0).isoformat()
    for game in PRIORITY_ORDER:
        _run_with_key(instance, "twitch_collection_job", f"twitch_streams:{game}:{slot}")
    with time_machine.travel(NOW, tick=False):
        result = _tick(resources, instance)

    assert not result.run_requests
    assert result.skip_reason is not None
    reason = result.skip_reason.skip_message or ""
    # The first three keys in order, then how many more: 8 games in all.
    apex, fortnite, gta = (
        f"twitch_streams:{g}:{slot}" for g in ("apex_legends", "fortnite", "gta")
    )
    assert reason.startswith(
        f"nothing to collect: waiting for runs requested before to land: {apex}, {fortnite}, "
        f"{gta} (+5 more)"
    )
    assert "not due until" in reason


def test_a_tick_requests_only_the_run_keys_not_used_yet(
    resources: dict[str, Any], instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    _set_state(warehouse, "youtube", [(g, NOW - timedelta(minutes=20), 0) for g in PRIORITY_ORDER])
    slot = NOW.replace(minute=0).isoformat()
    _run_with_key(instance, "twitch_collection_job", f"twitch_streams:fortnite:{slot}")
    with time_machine.travel(NOW, tick=False):
        result = _tick(resources, instance)

    assert [r.partition_key for r in _twitch(result)] == [
        g for g in PRIORITY_ORDER if g != "fortnite"
    ]


def test_live_collection_waits_while_another_process_seeds_history(
    resources: dict[str, Any], instance: dg.DagsterInstance
):
    client = resources["hot_tier"].client()
    client.set("intel:seeding", "elsewhere:4242", ex=120)
    with time_machine.travel(NOW, tick=False):
        waiting = _tick(resources, instance, cursor='{"ticks": 3}')
    client.delete("intel:seeding")
    with time_machine.travel(NOW, tick=False):
        after = _tick(resources, instance, cursor=waiting.cursor)

    assert not waiting.run_requests
    assert waiting.skip_reason is not None
    assert waiting.skip_reason.skip_message == (
        "history seeding in progress (elsewhere:4242): live collection starts when it ends"
    )
    assert waiting.cursor == '{"ticks": 3}'
    # Once the seeding is over, the games are due again: every one on Twitch.
    assert [r.partition_key for r in _twitch(after)] == PRIORITY_ORDER
