"""The `<name>_intel[game]` assets against the simulator over HTTP, real Postgres and Redis.

One module-wide world: fortnite and minecraft are collected in five hourly windows (each a new
collection window, so every collection brings fresh statistics), fortnite's Twitch streams five
minutes after its last YouTube collection. The tests analyse those snapshots; analysis is
idempotent, so they do not depend on each other's order. The stale test collects a game of its
own and comes last, since it leaves a failed collection (and a YouTube breaker) behind.
"""

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import redis
import time_machine

from intel_assets.analyzers.decay import STALE_CONFIDENCE_FACTOR
from intel_assets.analyzers.registry import ANALYZERS
from intel_assets.catalog import load_catalog
from intel_assets.defs.analysis.assets import intel_analysis
from intel_assets.defs.collection.assets import twitch_streams, youtube_videos
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.redis_keys import analysis_key
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.services import Endpoints
from intel_assets.simulator import Fault, Simulator
from intel_assets.simulator.server import RunningSimulator
from intel_assets_tests.conftest import create_test_database, drop_test_database, free_port
from intel_assets_tests.defs.collection.conftest import api_resources

# A fixed day (a 24-hour Pacific day, in the future as the quota ledger needs): the simulator's
# world depends on the day, so a fixed one makes the measured detection figures reproducible.
T0 = datetime(2030, 3, 4, 6, 10, tzinfo=ZoneInfo("America/Los_Angeles")).astimezone(UTC)
WINDOWS = 5
WINDOW_STEP = timedelta(minutes=61)
LAST_YOUTUBE = T0 + (WINDOWS - 1) * WINDOW_STEP
LAST_TWITCH = LAST_YOUTUBE + timedelta(minutes=5)
ANALYSED_AT = LAST_TWITCH + timedelta(minutes=5)
VIRAL_GAMES = ("fortnite", "minecraft")
YOUTUBE_ONLY = {name for name, spec in ANALYZERS.items() if spec.needs == ("videos",)}
ALL_INTEL = {dg.AssetKey(f"{name}_intel") for name in ANALYZERS}


@dataclass
class World:
    """The module's collected world."""

    simulator: RunningSimulator
    warehouse: PostgresWarehouse
    hot_tier: RedisHotTier
    instance: dg.DagsterInstance
    resources: dict[str, Any]


def _collect_youtube(world: World, game: str, *, raise_on_error: bool = True) -> bool:
    result = dg.materialize(
        [youtube_videos],
        partition_key=game,
        resources=world.resources,
        instance=world.instance,
        run_config={"ops": {"youtube_videos": {"config": {"search_calls": 1}}}},
        raise_on_error=raise_on_error,
    )
    return result.success


@pytest.fixture(scope="module")
def world(endpoints: Endpoints, template_database: str) -> Iterator[World]:
    url = create_test_database(endpoints, template_database)
    warehouse = PostgresWarehouse(url=url)
    redis.Redis.from_url(endpoints.redis_url).flushdb()
    hot_tier = RedisHotTier(url=endpoints.redis_url)
    simulator = Simulator(
        seed=11, videos_per_game_per_day=60, channels=800, twitch_streamers_per_category=4000
    )
    with simulator.running() as sim, dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("games", load_catalog().keys)
        built = World(sim, warehouse, hot_tier, instance, api_resources(sim, warehouse, hot_tier))
        for window in range(WINDOWS):
            with time_machine.travel(T0 + window * WINDOW_STEP, tick=False):
                for game in VIRAL_GAMES:
                    assert _collect_youtube(built, game)
        with time_machine.travel(LAST_TWITCH, tick=False):
            assert dg.materialize(
                [twitch_streams],
                partition_key="fortnite",
                resources=built.resources,
                instance=instance,
            ).success
        yield built
    warehouse.close()
    drop_test_database(endpoints, url)


def _analyse(
    world: World,
    game: str,
    selection: Sequence[str] | None = None,
    *,
    hot_tier: RedisHotTier | None = None,
    at: datetime = ANALYSED_AT,
) -> dg.ExecuteInProcessResult:
    resources = {"warehouse": world.warehouse, "hot_tier": hot_tier or world.hot_tier}
    with time_machine.travel(at, tick=False):
        return dg.materialize(
            [intel_analysis],
            partition_key=game,
            selection=list(selection) if selection is not None else None,
            resources=resources,
            instance=world.instance,
            raise_on_error=False,
        )


def _history(warehouse: PostgresWarehouse, game: str) -> dict[str, dict[str, Any]]:
    """The game's history rows by analyzer (these tests write one as_of per analyzer)."""
    rows = warehouse.fetch_dicts(
        b"SELECT analyzer, as_of, data_age_seconds, sample_size, confidence, stale, result "
        b"FROM intel_analysis_results WHERE game_key = %s ORDER BY analyzer",
        (game,),
    )
    by_analyzer = {row["analyzer"]: row for row in rows}
    assert len(by_analyzer) == len(rows), "one row per analyzer"
    return by_analyzer


def _materialized(result: dg.ExecuteInProcessResult) -> dict[dg.AssetKey, dict[str, Any]]:
    return {
        event.materialization.asset_key: {
            k: v.value for k, v in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {check.check_name: check for check in result.get_asset_check_evaluations()}


def test_all_eight_write_both_tiers_and_a_rerun_writes_the_same_values(world: World):
    first = _analyse(world, "fortnite")
    assert first.success
    assert set(_materialized(first)) == ALL_INTEL
    assert all(check.passed for check in _checks(first).values())
    rows = _history(world.warehouse, "fortnite")
    assert sorted(rows) == sorted(ANALYZERS)

    client = world.hot_tier.client()
    for row in rows.values():
        spec = ANALYZERS[row["analyzer"]]
        # YouTube (videos, channels) was last collected at LAST_YOUTUBE, Twitch 5 min later:
        # an analysis reading streams is as of LAST_TWITCH, its videos 300 s old by then.
        reads_streams = "streams" in spec.needs
        assert row["as_of"] == (LAST_TWITCH if reads_streams else LAST_YOUTUBE)
        assert row["data_age_seconds"] == (300.0 if reads_streams else 0.0)
        assert row["stale"] is False
        # confidence = min(1, n / min_sample) ** 0.5 * 0.5 ** (age / half-life), 4 decimals.
        expected = min(1.0, row["sample_size"] / spec.min_sample) ** 0.5 * 0.5 ** (
            row["data_age_seconds"] / spec.half_life_seconds
        )
        assert row["confidence"] == pytest.approx(round(expected, 4), abs=1e-9)
        assert row["sample_size"] > 0

        key = analysis_key(spec.name, "fortnite")
        hot = world.hot_tier.get_json(key)
        assert hot is not None
        assert datetime.fromisoformat(hot["as_of"]) == row["as_of"]
        assert hot["result"] == row["result"]
        assert (hot["confidence"], hot["sample_size"]) == (row["confidence"], row["sample_size"])
        ttl = int(client.ttl(key))  # type: ignore[arg-type]
        assert spec.ttl_seconds - 60 <= ttl <= spec.ttl_seconds
        assert 4 * 3600 <= spec.ttl_seconds <= 6 * 3600

    hot_before = {
        name: world.hot_tier.get_json(analysis_key(name, "fortnite")) for name in ANALYZERS
    }
    second = _analyse(world, "fortnite", at=ANALYSED_AT + timedelta(minutes=20))
    assert second.success
    assert _history(world.warehouse, "fortnite") == rows
    hot_after = {
        name: world.hot_tier.get_json(analysis_key(name, "fortnite")) for name in ANALYZERS
    }
    assert hot_after == hot_before

    metadata = _materialized(second)[dg.AssetKey("viral_intel")]
    viral = rows["viral"]
    assert metadata["sample_size"] == viral["sample_size"]
    assert metadata["confidence"] == viral["confidence"]
    assert metadata["stale"] is False
    assert metadata["hot_tier_written"] is True
    assert isinstance(metadata["viral_video_count"], int)
    assert "confidence" in metadata["preview"]


def _viral_truth(world: World, game: str, as_of: datetime) -> tuple[set[str], set[str]]:
    """The viral videos we could measure (two snapshots with views) and all we measured."""
    counts = world.warehouse.fetch_frame(
        b"SELECT video_id FROM video_snapshots WHERE game_key = %s AND view_count IS NOT NULL "
        b"GROUP BY video_id HAVING count(*) >= 2",
        (game,),
    )
    measured = set(counts["video_id"])
    viral = set(world.simulator.world.viral_video_ids(game, as_of, timedelta(days=7)))
    return viral & measured, measured


def _true_language(world: World, video_id: str) -> str:
    video = world.simulator.world.video(video_id)
    assert video is not None, f"the simulator does not know {video_id}"
    return video.language


def test_viral_videos_and_language_shares_match_the_simulator(world: World):
    true_positives = found_total = truth_total = 0
    for game in VIRAL_GAMES:
        assert _analyse(world, game, ["viral_intel", "regional_intel"]).success
        history = _history(world.warehouse, game)
        viral = history["viral"]["result"]
        # The list is cut at top_n: only an uncut list can be scored.
        assert viral["viral_video_count"] == len(viral["viral_videos"])
        found = {v["video_id"] for v in viral["viral_videos"]}
        truth, measured = _viral_truth(world, game, history["viral"]["as_of"])
        assert found <= measured
        true_positives += len(found & truth)
        found_total += len(found)
        truth_total += len(truth)
        print(f"{game}: {len(found & truth)} of {len(found)} found viral, {len(truth)} true")

        regional = history["regional"]["result"]
        counts = regional["language_distribution"]
        ours = {code: n / sum(counts.values()) for code, n in counts.items()}
        tracked = world.warehouse.fetch_frame(
            b"SELECT DISTINCT video_id FROM video_snapshots WHERE game_key = %s", (game,)
        )["video_id"]
        true_languages = Counter(_true_language(world, video_id) for video_id in tracked)
        of_tracked = {code: n / len(tracked) for code, n in true_languages.items()}
        at = history["regional"]["as_of"]
        uploads = world.simulator.world.language_shares(game, at, timedelta(days=3))
        codes = set(ours) | set(of_tracked) | set(uploads)
        tracked_error = {c: abs(ours.get(c, 0) - of_tracked.get(c, 0)) for c in codes}
        upload_error = {c: abs(ours.get(c, 0) - uploads.get(c, 0)) for c in codes}
        print(
            f"{game}: language share error, max over languages: {max(tracked_error.values()):.3f}"
            f" against the tracked videos' true languages, {max(upload_error.values()):.3f} "
            "against all the game's uploads of three days"
        )
        # Our videos' languages: the declared audio or metadata language is the truth when
        # present; the rest is detected from title and description, which may miss one video
        # of the ~60 a game tracks (1/60 < 0.02).
        assert max(tracked_error.values()) <= 0.02
        # All uploads: what we track is a sample (US and JP charts, searched uploads, the
        # budget's fastest 50), in which English ran up to 0.18 high on the days measured;
        # sampling, not analysis, makes that error.
        assert max(upload_error.values()) <= 0.25
        assert max(ours, key=lambda c: ours[c]) == max(uploads, key=lambda c: uploads[c])

    precision = true_positives / found_total
    recall = true_positives / truth_total
    print(f"viral detection: precision {precision:.2f}, recall {recall:.2f}")
    # Measured on T0's day: precision 0.85 (11 of 13), recall 1.00 (11 of 11). The same two
    # games collected from five other days measured 0.55-0.82 and 1.00. The false positives are
    # young uploads of big channels, whose ordinary launch is as fast as a small channel's
    # viral curve: a velocity against the game's median cannot tell them apart.
    assert precision >= 0.6
    assert recall >= 0.9


def test_with_redis_down_the_history_keeps_the_result_and_the_run_says_so(world: World):
    for name in ("viral", "format"):
        world.hot_tier.client().delete(analysis_key(name, "minecraft"))
    dead = RedisHotTier(url=f"redis://127.0.0.1:{free_port()}")
    down = _analyse(world, "minecraft", ["viral_intel", "format_intel"], hot_tier=dead)

    assert down.success
    materialized = _materialized(down)
    assert set(materialized) == {dg.AssetKey("viral_intel"), dg.AssetKey("format_intel")}
    for metadata in materialized.values():
        assert metadata["hot_tier_written"] is False
        assert "ConnectionError" in metadata["hot_tier_error"]
        assert "NOT written" in metadata["preview"]
    checks = _checks(down)
    assert checks["viral_intel_tiers_agree"].passed is False
    assert checks["viral_intel_tiers_agree"].severity == dg.AssetCheckSeverity.WARN
    assert checks["viral_intel_confidence_in_range"].passed is True
    assert world.hot_tier.get_json(analysis_key("viral", "minecraft")) is None
    written = _history(world.warehouse, "minecraft")
    assert set(written) >= {"viral", "format"}

    # Redis back: the same analysis lands in the hot tier, the history rows stay as they were.
    up = _analyse(world, "minecraft", ["viral_intel", "format_intel"])
    assert all(check.passed for check in _checks(up).values())
    assert _history(world.warehouse, "minecraft") == written
    hot = world.hot_tier.get_json(analysis_key("viral", "minecraft"))
    assert hot is not None
    assert hot["result"] == written["viral"]["result"]


def test_a_game_never_collected_gets_empty_results_with_zero_confidence(world: World):
    at = ANALYSED_AT + timedelta(minutes=1)
    result = _analyse(world, "roblox", at=at)
    assert result.success
    assert set(_materialized(result)) == ALL_INTEL
    rows = _history(world.warehouse, "roblox")
    assert len(rows) == len(ANALYZERS)
    # No snapshot and no collection attempt: the analysis is dated by the present.
    assert {row["as_of"] for row in rows.values()} == {at}
    assert {row["sample_size"] for row in rows.values()} == {0}
    assert {row["confidence"] for row in rows.values()} == {0.0}
    assert all(check.passed for check in _checks(result).values())


def test_a_failed_collection_makes_the_next_analysis_stale(world: World):
    game = "warzone"
    from intel_assets.definitions import defs as project_defs

    definitions = project_defs()
    first_collection = ANALYSED_AT + WINDOW_STEP
    with time_machine.travel(first_collection, tick=False):
        # The first evaluation only starts the cursor (nothing is new to it).
        start = dg.evaluate_automation_conditions(definitions, world.instance)
        assert _collect_youtube(world, game)
        before = dg.evaluate_automation_conditions(definitions, world.instance, cursor=start.cursor)
    # A collection requests the game's analyses that read nothing else (Twitch never ran).
    requested = {k for k in ALL_INTEL if game in before.get_requested_partitions(k)}
    assert requested == {dg.AssetKey(f"{name}_intel") for name in YOUTUBE_ONLY}
    fresh = _analyse(world, game, [k.path[0] for k in requested], at=first_collection)
    assert fresh.success
    fresh_rows = _history(world.warehouse, game)
    assert not any(row["stale"] for row in fresh_rows.values())

    failed_at = first_collection + WINDOW_STEP
    world.simulator.inject(
        Fault(kind="status", api="youtube", path_prefix="/youtube/v3/videos", count=50)
    )
    try:
        with time_machine.travel(failed_at, tick=False):
            assert not _collect_youtube(world, game, raise_on_error=False)
            after = dg.evaluate_automation_conditions(
                definitions, world.instance, cursor=before.cursor
            )
    finally:
        world.simulator.clear_faults()
    # The failed collection alone requests the analyses again.
    requested = {k for k in ALL_INTEL if game in after.get_requested_partitions(k)}
    assert requested == {dg.AssetKey(f"{name}_intel") for name in YOUTUBE_ONLY}

    stale = _analyse(world, game, [k.path[0] for k in requested], at=failed_at)
    assert stale.success
    rows = _history(world.warehouse, game)
    # Same snapshots, so the same as_of: the row is replaced, now stale, confidence halved.
    assert set(rows) == set(fresh_rows) == YOUTUBE_ONLY
    assert all(row["stale"] for row in rows.values())
    for name in YOUTUBE_ONLY:
        assert rows[name]["as_of"] == fresh_rows[name]["as_of"] == first_collection
        halved = fresh_rows[name]["confidence"] * STALE_CONFIDENCE_FACTOR
        assert math.isclose(rows[name]["confidence"], halved, abs_tol=1e-4)
        metadata = _materialized(stale)[dg.AssetKey(f"{name}_intel")]
        assert metadata["stale"] is True
        assert metadata["stale_sources"].startswith("youtube: 1 failed collection(s) in a row")
        hot = world.hot_tier.get_json(analysis_key(name, game))
        assert hot is not None and hot["stale"] is True
