"""Analysis inputs and outputs on real Postgres and Redis, from rows written by hand."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from intel_assets.analyzers.base import AnalyzerInputs, IntelResult
from intel_assets.analyzers.decay import AnalysisResult
from intel_assets.analyzers.registry import ANALYZERS, AnalyzerSpec
from intel_assets.defs.analysis.assets import build_analysis_assets
from intel_assets.defs.analysis.checks import confidence_in_range
from intel_assets.defs.analysis.inputs_and_results import (
    load_freshness,
    load_snapshots,
    write_history,
)
from intel_assets.defs.collection.state import record_failure
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.redis_keys import analysis_key
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.snapshot_rows import insert_channels, insert_streams, insert_videos

NEWEST = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _video(video_id: str, at: datetime, views: int, game: str = "fortnite") -> dict[str, object]:
    return {"video_id": video_id, "game_key": game, "collected_at": at, "view_count": views}


def test_each_table_is_read_over_the_lookback_before_its_own_newest_row(
    warehouse: PostgresWarehouse,
):
    insert_videos(
        warehouse,
        [
            _video("v1", NEWEST - 49 * HOUR, 10),  # older than 48 h before the newest row
            _video("v1", NEWEST - 48 * HOUR, 20),  # exactly 48 h: inside
            _video("v1", NEWEST - HOUR, 30),
            _video("v1", NEWEST, 40),
            _video("v2", NEWEST, 5),
            _video("m1", NEWEST + 2 * HOUR, 7, game="minecraft"),  # another game's newer row
        ],
    )
    stream_newest = NEWEST - 10 * HOUR
    insert_streams(
        warehouse,
        [
            {"stream_id": "s1", "game_key": "fortnite", "collected_at": at, "viewer_count": n}
            for at, n in ((stream_newest - 49 * HOUR, 1), (stream_newest, 2))
        ],
    )
    insert_channels(
        warehouse,
        [
            {"channel_id": "A", "game_key": "fortnite", "collected_at": at, "subscriber_count": n}
            for at, n in ((NEWEST - 2 * HOUR, 100), (NEWEST, 200))
        ]
        + [
            {
                "channel_id": "B",
                "game_key": "fortnite",
                "collected_at": NEWEST - 50 * HOUR,
                "subscriber_count": 9,
            }
        ],
    )

    frames = load_snapshots(
        warehouse, "fortnite", ["videos", "streams", "channels"], timedelta(hours=48)
    )

    videos = frames["videos"].sort_values(["video_id", "collected_at"])
    assert list(zip(videos["video_id"], videos["view_count"], strict=True)) == [
        ("v1", 20),
        ("v1", 30),
        ("v1", 40),
        ("v2", 5),
    ]
    # Streams' window ends at the newest stream row, 10 h before the newest video row.
    assert frames["streams"]["viewer_count"].tolist() == [2]
    # Channels: each channel's newest row in the window (B's only row is 50 h old).
    channels = frames["channels"]
    assert list(zip(channels["channel_id"], channels["subscriber_count"], strict=True)) == [
        ("A", 200)
    ]
    inputs = AnalyzerInputs.from_frames("fortnite", **frames)
    assert inputs.as_of == NEWEST
    assert inputs.data_age_seconds(["videos", "streams"]) == 10 * 3600


def test_a_game_without_rows_reads_empty_frames_with_every_column(warehouse: PostgresWarehouse):
    frames = load_snapshots(warehouse, "tetris", ["videos", "streams"], timedelta(hours=48))
    assert frames["videos"].empty and frames["streams"].empty
    AnalyzerInputs.from_frames("tetris", **frames, as_of=NEWEST)  # the columns validate


def test_staleness_follows_the_collection_that_writes_each_table(warehouse: PostgresWarehouse):
    record_failure(warehouse, "fortnite", "twitch", NEWEST, "ApiUnavailableError: 503")
    freshness = load_freshness(warehouse, "fortnite")
    assert freshness.stale_sources(["videos", "channels"]) == []
    assert freshness.stale_sources(["videos", "streams"]) == ["twitch"]
    assert freshness.last_attempt(["streams"]) == NEWEST
    assert freshness.last_attempt(["videos"]) is None
    assert freshness.describe("twitch").startswith("twitch: 1 failed collection(s) in a row")


def _result(**changes: object) -> AnalysisResult:
    fields: dict[str, object] = {
        "analyzer": "viral",
        "game_key": "fortnite",
        "as_of": NEWEST,
        "data_age_seconds": 0.0,
        "sample_size": 10,
        "confidence": 0.5,
        "stale": False,
        "result": {"viral_video_count": 1},
        "half_life_seconds": 6 * 3600.0,
    }
    fields.update(changes)
    return AnalysisResult(**fields)  # type: ignore[arg-type]


def test_writing_the_same_result_twice_leaves_one_identical_row(warehouse: PostgresWarehouse):
    write_history(warehouse, [_result()])
    write_history(warehouse, [_result(), _result(analyzer="format", result={"a": [1, None]})])
    rows = warehouse.fetch_dicts(
        b"SELECT analyzer, as_of, sample_size, confidence, stale, result "
        b"FROM intel_analysis_results ORDER BY analyzer"
    )
    assert rows == [
        {
            "analyzer": "format",
            "as_of": NEWEST,
            "sample_size": 10,
            "confidence": 0.5,
            "stale": False,
            "result": {"a": [1, None]},
        },
        {
            "analyzer": "viral",
            "as_of": NEWEST,
            "sample_size": 10,
            "confidence": 0.5,
            "stale": False,
            "result": {"viral_video_count": 1},
        },
    ]


@pytest.mark.parametrize(
    ("confidence", "sample_size", "passed"),
    [(0.5, 10, True), (0.0, 0, True), (1.0, 3, True), (1.5, 10, False), (-0.1, 10, False),
     (float("nan"), 10, False), (0.3, 0, False)],
)  # fmt: skip
def test_confidence_in_range_holds_for_a_finite_share_backed_by_a_sample(
    confidence: float, sample_size: int, passed: bool
):
    verdict = confidence_in_range(_result(confidence=confidence, sample_size=sample_size))
    assert verdict.passed is passed
    assert verdict.check_name == "viral_intel_confidence_in_range"


def _broken(inputs: AnalyzerInputs) -> IntelResult:
    raise ValueError(f"cannot analyse {inputs.game_key}")


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        ephemeral.add_dynamic_partitions("games", ["fortnite"])
        yield ephemeral


def test_an_analyzer_that_raises_costs_the_others_nothing(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier, instance: dg.DagsterInstance
):
    insert_videos(warehouse, [_video("v1", NEWEST - HOUR, 100), _video("v1", NEWEST, 400)])
    broken = AnalyzerSpec(
        name="broken",
        analyze=_broken,
        needs=("videos",),
        min_sample=1,
        half_life_hours=1,
        ttl_seconds=4 * 3600,
        description="Always fails.",
    )
    assets = build_analysis_assets({"viral": ANALYZERS["viral"], "broken": broken})

    result = dg.materialize(
        [assets],
        partition_key="fortnite",
        resources={"warehouse": warehouse, "hot_tier": hot_tier},
        instance=instance,
        raise_on_error=False,
    )

    assert not result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {dg.AssetKey("viral_intel")}
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and "broken" in failure.message
    rows = warehouse.fetch_dicts(b"SELECT analyzer, sample_size FROM intel_analysis_results")
    # One video, two snapshots an hour apart: one velocity, (400 - 100) / 1 h.
    assert rows == [{"analyzer": "viral", "sample_size": 1}]
    viral = hot_tier.get_json(analysis_key("viral", "fortnite"))
    assert viral is not None and viral["result"]["max_velocity"] == 300.0
    assert hot_tier.get_json(analysis_key("broken", "fortnite")) is None
