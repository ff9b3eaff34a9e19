"""The YouTube client against the simulator over real HTTP, with real Redis and Postgres."""

import multiprocessing
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from intel_assets.counters import read_api_metrics
from intel_assets.resources.errors import (
    ApiUnavailableError,
    CircuitOpenError,
    ConfigurationError,
    MalformedResponseError,
    QuotaExceededError,
    QuotaExhaustedError,
    StateUnavailableError,
)
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube import YouTubeResource
from intel_assets.simulator import Fault, RunningSimulator, Simulator
from intel_assets_tests.resources.api_helpers import FAST, reset_simulator

KEY = "simulator-key"
FROZEN = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    with Simulator(seed=7, youtube_api_key=KEY).running() as sim:
        yield sim


@pytest.fixture
def sim(running: RunningSimulator) -> RunningSimulator:
    """The module's simulator, reset: no faults, no counts, no quota spent, wall clock."""
    return reset_simulator(running)


def youtube_resource(
    sim: RunningSimulator, redis_url: str, warehouse: PostgresWarehouse, **settings: Any
) -> YouTubeResource:
    config: dict[str, Any] = {
        "api_key": KEY,
        "api_url": sim.youtube_url,
        "redis": RedisHotTier(url=redis_url),
        "warehouse": warehouse,
        **FAST,
    }
    config.update(settings)
    return YouTubeResource(**config)


@pytest.fixture
def youtube(
    sim: RunningSimulator, redis_url: str, warehouse: PostgresWarehouse
) -> Iterator[YouTubeResource]:
    resource = youtube_resource(sim, redis_url, warehouse)
    yield resource
    resource.close()


def calls(sim: RunningSimulator, method: str) -> int:
    return sim.counts()["youtube"][method]["calls"]


def ledger_units(resource: YouTubeResource) -> dict[str, int]:
    return {name: status.used for name, status in resource.quota_status().items()}


def test_chart_pages_to_the_end(sim: RunningSimulator, youtube: YouTubeResource):
    sim.set_clock(FROZEN)  # the chart is recomputed on a grid; hold it still while paging
    expected = sim.world.chart_ids("US", FROZEN)
    assert len(expected) == 200  # the simulator's chart length, like the real one
    with youtube.client(game_key="fortnite") as client:
        videos = client.chart(region_code="US")
    assert [v.video_id for v in videos] == expected
    # 200 videos at 50 a page: 4 calls, the last without a next page token
    assert calls(sim, "videos.list") == 4
    assert client.calls["videos.list"] == 4


def test_no_call_carries_more_than_50_ids(sim: RunningSimulator, youtube: YouTubeResource):
    sim.set_clock(FROZEN)
    ids = sim.world.chart_ids("US", FROZEN)[:120]
    client = youtube.client()
    with pytest.raises(ValueError, match="at most 50"):
        client.videos(ids[:51])
    with pytest.raises(ValueError, match="at most 50"):
        client.batch_stats(ids[:51])
    assert calls(sim, "videos.list") == 0  # refused before any call
    # the simulator answers 400 to more than 50 ids, so 120 ids succeed only in calls of <= 50
    videos = client.videos_many(ids + ids[:10])  # duplicates are asked once
    assert [v.video_id for v in videos] == ids
    stats = client.batch_stats_many(ids)
    assert [s.video_id for s in stats] == ids
    # ceil(120 / 50) = 3 calls each
    assert calls(sim, "videos.list") == 3
    assert calls(sim, "videos.batchGetStats") == 3
    by_id = {v.video_id: v for v in videos}
    for stat in stats:
        assert stat.view_count is not None
        assert stat.duration_seconds == by_id[stat.video_id].duration_seconds


def test_ledger_units_equal_the_simulators_count(
    sim: RunningSimulator, youtube: YouTubeResource, warehouse: PostgresWarehouse
):
    with youtube.client(game_key="minecraft", run_id="run-7") as client:
        chart = client.chart(region_code="US", max_pages=2)  # 2 default units
        ids = [v.video_id for v in chart]
        client.videos_many(ids)  # 100 ids: 2 default units
        client.batch_stats_many(ids)  # 2 batch_stats units
        page = client.search(q="minecraft", published_after=datetime(2026, 1, 1, tzinfo=UTC))
        client.search(q="minecraft", page_token=page.next_page_token)  # 2 search units
        channels = client.channels([v.channel_id for v in chart])  # <= 100 channels: 2 units
        client.playlist_items(channels[0].uploads_playlist_id or "")  # 1 unit
        client.video_categories("US")  # 1 unit
        # faults: each failed attempt reached the API and is charged, like the real one
        sim.inject(Fault(kind="status", api="youtube", status=503, count=2))
        client.video_categories("DE")  # 2 failed attempts + 1 success: 3 units
        sim.inject(Fault(kind="malformed_json", api="youtube", count=1))
        client.video_categories("FR")  # 2 units
        sim.inject(Fault(kind="truncated", api="youtube", count=1))
        client.batch_stats(ids[:5])  # 2 batch_stats units
        sim.set_quota_limit("search", 2)
        with pytest.raises(QuotaExceededError):
            client.search(q="roblox")  # answered quotaExceeded: not charged
    # default: 2 + 2 + 2 + 1 + 1 + 3 + 2 = 13; search: 2; batch_stats: 2 + 2 = 4
    assert sim.units_by_bucket() == {"default": 13, "search": 2, "batch_stats": 4}
    assert ledger_units(youtube) == sim.units_by_bucket()
    assert client.units_spent() == {"default": 13, "search": 2, "batch_stats": 4}
    logged = warehouse.fetch_dicts(
        "SELECT bucket, sum(units_used)::int AS units, count(*)::int AS attempts, "
        "min(category_key) AS game, min(run_id) AS run FROM intel_quota_log GROUP BY bucket"
    )
    by_bucket = {row["bucket"]: row for row in logged}
    assert {b: row["units"] for b, row in by_bucket.items()} == sim.units_by_bucket()
    # one row per attempt: the refused search is logged with 0 units
    assert by_bucket["search"]["attempts"] == 3
    assert by_bucket["default"]["game"] == "minecraft" and by_bucket["default"]["run"] == "run-7"


def test_429_waits_as_long_as_retry_after_says(sim: RunningSimulator, youtube: YouTubeResource):
    sim.inject(Fault(kind="rate_limit", api="youtube", retry_after_seconds=1.5, count=1))
    client = youtube.client()
    started = time.monotonic()
    categories = client.video_categories("US")
    elapsed = time.monotonic() - started
    assert len(categories) == 32
    # the simulator rounds Retry-After up to whole seconds: ceil(1.5) = 2
    assert elapsed >= 2.0
    assert calls(sim, "videoCategories.list") == 2
    assert youtube.breaker_status().failures == 0  # a 429 is no failure of the API


def _other_process_view(redis_url: str, youtube_url: str) -> tuple[str, str]:
    """In a fresh process: the breaker state it sees and what a call there raises."""
    resource = YouTubeResource(
        api_key=KEY,
        api_url=youtube_url,
        redis=RedisHotTier(url=redis_url),
        warehouse=PostgresWarehouse(url="postgresql://unused"),
    )
    state = resource.breaker_status().state
    try:
        resource.client().video_categories("US")
    except CircuitOpenError as error:
        return state, type(error).__name__
    return state, "no error"


def test_5xx_burst_is_retried_then_opens_the_breaker_for_every_process(
    sim: RunningSimulator, redis_url: str, warehouse: PostgresWarehouse
):
    youtube = youtube_resource(sim, redis_url, warehouse, max_attempts=3)
    client = youtube.client()
    sim.inject(Fault(kind="status", api="youtube", status=503, count=2))
    assert len(client.video_categories("US")) == 32  # 2 failures, then the answer
    assert calls(sim, "videoCategories.list") == 3

    sim.inject(Fault(kind="status", api="youtube", status=500, count=9))
    for _ in range(3):  # 3 calls of 3 attempts each = 9 failed attempts
        with pytest.raises(ApiUnavailableError, match="500"):
            client.video_categories("US")
    assert calls(sim, "videoCategories.list") == 3 + 9
    status = youtube.breaker_status()
    assert (status.state, status.failures) == ("open", 3)
    assert status.open_until is not None
    assert 899 <= (status.open_until - datetime.now(UTC)).total_seconds() <= 900

    with pytest.raises(CircuitOpenError):
        client.chart_page(region_code="US")
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        seen = pool.apply(_other_process_view, (redis_url, sim.youtube_url))
    assert seen == ("open", "CircuitOpenError")
    # the open breaker sent nothing more, from either process
    assert calls(sim, "videoCategories.list") == 12 and calls(sim, "videos.list") == 0
    youtube.close()


def test_quota_exceeded_stops_that_bucket_only(sim: RunningSimulator, youtube: YouTubeResource):
    sim.set_quota_limit("search", 2)
    client = youtube.client()
    client.search(q="fortnite")
    client.search(q="roblox")
    with pytest.raises(QuotaExceededError) as exceeded:
        client.search(q="valorant")
    assert exceeded.value.bucket == "search"
    assert calls(sim, "search.list") == 3  # quotaExceeded is not retried
    with pytest.raises(QuotaExhaustedError) as closed:
        client.search(q="minecraft")
    assert closed.value.reason == "closed"
    assert closed.value.reset_at == exceeded.value.reset_at
    assert calls(sim, "search.list") == 3  # refused by the ledger without a request
    # the other buckets keep working
    assert len(client.video_categories("US")) == 32
    client.batch_stats(sim.world.chart_ids("US", datetime.now(UTC))[:3])
    quota = youtube.quota_status()
    assert quota["search"].closed and quota["search"].remaining == 0
    assert not quota["default"].closed
    assert (
        ledger_units(youtube)
        == sim.units_by_bucket()
        == {
            "default": 1,
            "search": 2,
            "batch_stats": 1,
        }
    )


def test_invalid_key_fails_at_once_naming_the_variable(
    sim: RunningSimulator, redis_url: str, warehouse: PostgresWarehouse
):
    wrong = "AIzaSy-wrong-key-0123456789"
    youtube = youtube_resource(sim, redis_url, warehouse, api_key=wrong)
    with pytest.raises(ConfigurationError) as rejected:
        youtube.client().chart_page(region_code="US")
    message = str(rejected.value)
    assert "YOUTUBE_API_KEY" in message
    assert wrong not in message and wrong not in repr(rejected.value)
    assert rejected.value.variables == ("YOUTUBE_API_KEY",)
    assert calls(sim, "videos.list") == 1  # not retried
    assert ledger_units(youtube)["default"] == 0  # a rejected key is not charged
    assert youtube.breaker_status().failures == 0

    empty = youtube_resource(sim, redis_url, warehouse, api_key="  ")
    with pytest.raises(ConfigurationError, match="YOUTUBE_API_KEY is empty"):
        empty.client()


def test_malformed_and_truncated_answers_are_retried(
    sim: RunningSimulator, redis_url: str, warehouse: PostgresWarehouse
):
    youtube = youtube_resource(sim, redis_url, warehouse, max_attempts=2)
    client = youtube.client()
    sim.inject(Fault(kind="truncated", api="youtube", count=1))
    assert len(client.video_categories("US")) == 32
    sim.inject(Fault(kind="malformed_json", api="youtube", count=2))
    with pytest.raises(MalformedResponseError) as malformed:
        client.video_categories("US")
    assert malformed.value.method == "videoCategories.list"
    assert "videoCategories.list" in str(malformed.value)
    assert youtube.breaker_status().failures == 1


def test_a_slow_answer_times_out(
    sim: RunningSimulator, redis_url: str, warehouse: PostgresWarehouse
):
    youtube = youtube_resource(sim, redis_url, warehouse, timeout_seconds=0.2, max_attempts=2)
    sim.inject(Fault(kind="slow", api="youtube", delay_seconds=0.6, count=2))
    with pytest.raises(ApiUnavailableError, match="did not answer within the timeout"):
        youtube.client().video_categories("US")
    assert youtube.breaker_status().failures == 1
    time.sleep(0.8)  # let the simulator's slow threads finish before the next test


def test_every_attempt_is_counted_in_redis(sim: RunningSimulator, youtube: YouTubeResource):
    sim.inject(Fault(kind="status", api="youtube", status=503, count=1))
    youtube.client().video_categories("US")
    metrics = read_api_metrics(youtube.redis.client())
    assert metrics.calls[("youtube", "videoCategories.list", "5xx")] == 1
    assert metrics.calls[("youtube", "videoCategories.list", "2xx")] == 1
    assert metrics.errors == {("youtube", "videoCategories.list", "5xx"): 1}
    assert metrics.latency_count[("youtube", "videoCategories.list")] == 2
    assert metrics.latency_buckets[("youtube", "videoCategories.list", "+Inf")] == 2
    assert metrics.latency_sum[("youtube", "videoCategories.list")] > 0


def test_without_redis_nothing_is_called(sim: RunningSimulator, warehouse: PostgresWarehouse):
    youtube = youtube_resource(sim, "unix:///nonexistent/intel-test-redis.sock?db=0", warehouse)
    with pytest.raises(StateUnavailableError):
        youtube.client().video_categories("US")
    assert calls(sim, "videoCategories.list") == 0


def test_after_the_open_time_a_probe_call_closes_the_breaker(
    sim: RunningSimulator, redis_url: str, warehouse: PostgresWarehouse
):
    youtube = youtube_resource(
        sim,
        redis_url,
        warehouse,
        max_attempts=1,
        breaker_failure_threshold=1,
        breaker_open_seconds=0.3,
    )
    client = youtube.client()
    sim.inject(Fault(kind="status", api="youtube", status=503, count=1))
    with pytest.raises(ApiUnavailableError):
        client.video_categories("US")
    with pytest.raises(CircuitOpenError):
        client.video_categories("US")
    time.sleep(0.4)  # past the 0.3 s open time: the next call is the probe
    assert youtube.breaker_status().state == "half_open"
    assert len(client.video_categories("US")) == 32
    status = youtube.breaker_status()
    assert (status.state, status.failures) == ("closed", 0)
    assert calls(sim, "videoCategories.list") == 2  # the failure and the probe
