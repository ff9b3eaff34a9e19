"""The quota ledger against a real Redis server and warehouse."""

import multiprocessing
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from intel_assets import services
from intel_assets.defs.collection.state import search_calls_today
from intel_assets.resources.errors import QuotaExhaustedError, QuotaUnavailableError
from intel_assets.resources.quota import (
    BucketSpec,
    QuotaLedger,
    drain_quota_log,
    next_pacific_midnight,
    pacific_day,
)
from intel_assets.resources.redis_keys import QUOTA_LOG_STREAM
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import Settings
from intel_assets_tests.resources.quota_worker import hammer, spend_then_die

YOUTUBE_BUCKETS = [
    BucketSpec("default", 10),
    BucketSpec("search", 2),
    BucketSpec("batch_stats", 5),
]


class Clock:
    """A settable clock for the ledger (any instant: Redis expiries count on this clock)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=0.5)


def test_pacific_day_boundaries_follow_daylight_saving():
    # 2026-03-08 02:00 PST clocks jump to 03:00 PDT: that quota day lasts 23 hours.
    before = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)  # 12:00 PST on 7 March
    assert pacific_day(before) == date(2026, 3, 7)
    assert next_pacific_midnight(before) == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # UTC-8
    spring = datetime(2026, 3, 8, 20, 0, tzinfo=UTC)  # 13:00 PDT on 8 March
    assert next_pacific_midnight(spring) == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # UTC-7
    # 23 h: from 08:00 UTC on the 8th to 07:00 UTC on the 9th
    assert next_pacific_midnight(spring) - next_pacific_midnight(before) == timedelta(hours=23)
    # 2026-11-01 02:00 PDT falls back to 01:00 PST: that day lasts 25 hours.
    fall = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # 05:00 PDT on 1 November
    start = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)  # its midnight, UTC-7
    assert pacific_day(fall) == date(2026, 11, 1)
    assert next_pacific_midnight(fall) - start == timedelta(hours=25)
    # 07:59 UTC on 2 November is still 23:59 PST on 1 November
    assert pacific_day(datetime(2026, 11, 2, 7, 59, tzinfo=UTC)) == date(2026, 11, 1)


def test_reserve_counts_until_the_limit_and_buckets_are_separate(redis_url: str):
    clock = Clock(datetime(2031, 6, 1, 18, 0, tzinfo=UTC))  # 11:00 PDT
    ledger = QuotaLedger(
        client_for(redis_url), platform="youtube", buckets=YOUTUBE_BUCKETS, clock=clock
    )
    for _ in range(4):
        ledger.reserve("default", "videos.list", 2)
    # 4 * 2 = 8 of 10 used; 3 more would make 11
    with pytest.raises(QuotaExhaustedError) as refused:
        ledger.reserve("default", "videos.list", 3)
    assert refused.value.reason == "limit" and refused.value.bucket == "default"
    assert refused.value.reset_at == datetime(2031, 6, 2, 7, 0, tzinfo=UTC)  # midnight PDT
    last = ledger.reserve("default", "videos.list", 2)  # 10 of 10 is allowed
    assert last.remaining == 0
    ledger.reserve("search", "search.list")

    status = ledger.status()
    assert (status["default"].used, status["default"].remaining) == (10, 0)
    assert status["default"].share_used == 1.0
    assert (status["search"].used, status["search"].remaining, status["search"].limit) == (1, 1, 2)
    assert status["search"].share_used == 0.5
    assert status["batch_stats"].used == 0 and status["batch_stats"].remaining == 5
    assert status["search"].reset_at == datetime(2031, 6, 2, 7, 0, tzinfo=UTC)
    assert ledger.spent == {"default": 10, "search": 1}


def test_counters_expire_at_the_pacific_midnight_of_the_ledgers_clock(redis_url: str):
    client = client_for(redis_url)
    # 13:00 PDT on 8 March 2026, months before this test was written: the day began at 08:00
    # UTC (PST) and ends at 07:00 UTC on the 9th (PDT), 11 hours later on the ledger's clock.
    clock = Clock(datetime(2026, 3, 8, 20, 0, tzinfo=UTC))
    ledger = QuotaLedger(client, platform="youtube", buckets=YOUTUBE_BUCKETS, clock=clock)
    reservation = ledger.reserve("default", "videos.list")
    assert reservation.window == "2026-03-08"
    key = "intel:quota:youtube:default:2026-03-08"
    assert 11 * 3600 * 1000 - 2000 <= int(client.pttl(key)) <= 11 * 3600 * 1000  # type: ignore[arg-type]
    closed_until = ledger.close_bucket("search")
    assert closed_until == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    closed = "intel:quota:youtube:search:2026-03-08:closed"
    assert 11 * 3600 * 1000 - 2000 <= int(client.pttl(closed)) <= 11 * 3600 * 1000  # type: ignore[arg-type]


def test_a_new_quota_day_starts_from_zero(redis_url: str):
    clock = Clock(datetime(2031, 6, 2, 6, 59, tzinfo=UTC))  # 23:59 PDT on 1 June
    ledger = QuotaLedger(
        client_for(redis_url), platform="youtube", buckets=YOUTUBE_BUCKETS, clock=clock
    )
    ledger.reserve("search", "search.list", 2)
    with pytest.raises(QuotaExhaustedError):
        ledger.reserve("search", "search.list")
    clock.at = datetime(2031, 6, 2, 7, 0, tzinfo=UTC)  # 00:00 PDT on 2 June
    assert ledger.reserve("search", "search.list").window == "2031-06-02"
    assert ledger.status()["search"].used == 1


def test_refund_and_closed_bucket(redis_url: str):
    clock = Clock(datetime(2031, 6, 1, 18, 0, tzinfo=UTC))
    ledger = QuotaLedger(
        client_for(redis_url), platform="youtube", buckets=YOUTUBE_BUCKETS, clock=clock
    )
    kept = ledger.reserve("default", "videos.list")
    refused = ledger.reserve("default", "videos.list")
    ledger.refund(refused, reason="quotaExceeded")
    reset = ledger.close_bucket("default", reservation=refused)
    assert reset == datetime(2031, 6, 2, 7, 0, tzinfo=UTC)
    with pytest.raises(QuotaExhaustedError) as closed:
        ledger.reserve("default", "channels.list")
    assert closed.value.reason == "closed" and closed.value.reset_at == reset
    # other buckets keep working
    ledger.reserve("batch_stats", "videos.batchGetStats")
    status = ledger.status()
    assert status["default"].closed and status["default"].remaining == 0
    assert status["default"].used == 1  # the kept unit; the refused one was refunded
    assert kept.units == 1
    assert not status["batch_stats"].closed and status["batch_stats"].used == 1
    # the next Pacific day opens again
    clock.at = reset
    ledger.reserve("default", "videos.list")


def test_minute_bucket(redis_url: str):
    clock = Clock(datetime(2031, 6, 1, 18, 0, 30, tzinfo=UTC))
    ledger = QuotaLedger(
        client_for(redis_url),
        platform="twitch",
        buckets=[BucketSpec("points", 3, window="minute")],
        clock=clock,
    )
    for _ in range(3):
        ledger.reserve("points", "streams")
    with pytest.raises(QuotaExhaustedError) as full:
        ledger.reserve("points", "streams")
    assert full.value.reset_at == datetime(2031, 6, 1, 18, 1, tzinfo=UTC)
    clock.at = datetime(2031, 6, 1, 18, 1, 0, tzinfo=UTC)
    assert ledger.reserve("points", "streams").remaining == 2


def test_spends_are_logged_in_bulk(redis_url: str, warehouse: PostgresWarehouse):
    clock = Clock(datetime(2031, 6, 1, 18, 0, tzinfo=UTC))
    ledger = QuotaLedger(
        client_for(redis_url),
        platform="youtube",
        buckets=YOUTUBE_BUCKETS,
        warehouse=warehouse,
        flush_every=3,
        clock=clock,
    )
    for _ in range(3):
        ledger.reserve("default", "videos.list", game_key="fortnite", run_id="run-1")
    assert warehouse.fetch_dicts("SELECT count(*) AS n FROM intel_quota_log")[0]["n"] == 0
    fourth = ledger.reserve("search", "search.list", game_key="roblox", run_id="run-1")
    # the 4th reservation found 3 buffered rows (flush_every) and wrote them first
    assert warehouse.fetch_dicts("SELECT count(*) AS n FROM intel_quota_log")[0]["n"] == 3
    ledger.refund(fourth, reason="quotaExceeded")
    ledger.close()
    rows = warehouse.fetch_dicts(
        "SELECT platform, bucket, operation, units_used, units_remaining, quota_day, "
        "category_key, run_id, metadata, created_at FROM intel_quota_log ORDER BY id"
    )
    assert [(r["bucket"], r["units_used"], r["units_remaining"]) for r in rows] == [
        ("default", 1, 9),
        ("default", 1, 8),
        ("default", 1, 7),
        ("search", 0, 2),  # refunded before it was written: corrected in place
    ]
    assert {r["quota_day"] for r in rows} == {date(2031, 6, 1)}  # 11:00 PDT on 1 June
    assert rows[0]["category_key"] == "fortnite" and rows[3]["category_key"] == "roblox"
    assert rows[3]["metadata"]["refund_reason"] == "quotaExceeded"
    assert rows[3]["metadata"]["refunded_units"] == 1
    assert rows[0]["created_at"] == clock.at


def test_refund_after_the_row_was_written_sets_its_units_to_zero(
    redis_url: str, warehouse: PostgresWarehouse
):
    ledger = QuotaLedger(
        client_for(redis_url), platform="youtube", buckets=YOUTUBE_BUCKETS, warehouse=warehouse
    )
    spent = ledger.reserve("default", "videos.list")
    ledger.flush()
    ledger.refund(spent, reason="connection failed")
    ledger.close()
    rows = warehouse.fetch_dicts(
        "SELECT units_used, units_remaining, metadata, reservation_id FROM intel_quota_log"
    )
    assert [(r["units_used"], r["units_remaining"]) for r in rows] == [(0, 10)]
    assert rows[0]["reservation_id"] == spent.reservation_id
    assert rows[0]["metadata"]["refund_reason"] == "connection failed"
    assert ledger.status()["default"].used == 0


def test_ten_processes_never_overspend(redis_url: str):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(10)
    results = context.Queue()
    # 10 processes * 150 attempts = 1,500 attempts at a 1,000-unit bucket
    at = datetime.now(UTC)
    workers = [
        context.Process(target=hammer, args=(redis_url, 1000, 150, at, start, results))
        for _ in range(10)
    ]
    for worker in workers:
        worker.start()
    won = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert sum(won) == 1000
    assert all(w.exitcode == 0 for w in workers)
    status = QuotaLedger(
        client_for(redis_url),
        platform="youtube",
        buckets=[BucketSpec("default", 1000)],
        clock=Clock(at),
    ).status()
    assert status["default"].used == 1000 and status["default"].remaining == 0


def test_redis_down_refuses_within_100_ms(tmp_path: Path):
    settings = Settings(state_dir=tmp_path)
    url = services.embedded_redis_url(settings)
    try:
        client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        ledger = QuotaLedger(client, platform="youtube", buckets=YOUTUBE_BUCKETS)
        ledger.reserve("default", "videos.list")
    finally:
        assert services.stop(settings) == ["redis"]
    started = time.perf_counter()
    with pytest.raises(QuotaUnavailableError, match="refusing to spend"):
        ledger.reserve("default", "videos.list")
    elapsed = time.perf_counter() - started
    assert elapsed < 0.1, f"refused after {elapsed:.3f} s"
    with pytest.raises(QuotaUnavailableError):
        ledger.status()


RECONCILE_AT = datetime(2026, 11, 18, 15, 5, tzinfo=UTC)  # 07:05 in Los Angeles, 18 November
RECONCILE_BUCKETS = [
    BucketSpec("default", 100),
    BucketSpec("search", 10),
    BucketSpec("batch_stats", 50),
]


def test_spends_of_a_killed_worker_and_of_a_down_warehouse_reach_the_log_once(
    redis_url: str, warehouse: PostgresWarehouse, warehouse_url: str
):
    # A worker spends 5 default units and 2 searches for fortnite, then is killed.
    child = multiprocessing.get_context("spawn").Process(
        target=spend_then_die, args=(redis_url, warehouse_url, RECONCILE_AT.isoformat())
    )
    child.start()
    child.join(timeout=120)
    assert child.exitcode == -9

    # Another spends while Postgres is unreachable: 3 batch_stats and 1 search for roblox,
    # and 1 default unit that is refunded.
    down = PostgresWarehouse(url="postgresql://intel@127.0.0.1:9/none", connect_timeout_seconds=1)
    ledger = QuotaLedger(
        client_for(redis_url),
        platform="youtube",
        buckets=RECONCILE_BUCKETS,
        warehouse=down,
        flush_every=2,
        clock=Clock(RECONCILE_AT),
    )
    for _ in range(3):
        ledger.reserve("batch_stats", "videos.batchGetStats", game_key="roblox")
    ledger.reserve("search", "search.list", game_key="roblox")
    refunded = ledger.reserve("default", "videos.list", game_key="roblox")
    ledger.refund(refunded, reason="connection failed")
    ledger.close()  # cannot drain: the spends wait in Redis
    assert warehouse.fetch_dicts("SELECT count(*) AS n FROM intel_quota_log") == [{"n": 0}]

    # What Redis counted: default 5 + 1 - 1 = 5, search 2 + 1 = 3, batch_stats 3.
    redis_used = {
        name: b.used
        for name, b in QuotaLedger(
            client_for(redis_url),
            platform="youtube",
            buckets=RECONCILE_BUCKETS,
            clock=Clock(RECONCILE_AT),
        )
        .status()
        .items()
    }
    assert redis_used == {"default": 5, "search": 3, "batch_stats": 3}

    # Any drain moves all 12 spends; a drain repeated over the same entries adds nothing.
    client = client_for(redis_url)
    entries: list[Any] = client.xrange(QUOTA_LOG_STREAM)  # type: ignore[assignment]
    assert drain_quota_log(client, warehouse) == 13  # 12 spends and 1 refund
    for _, fields in entries:  # as if a drainer had died after its COPY, before trimming
        client.xadd(QUOTA_LOG_STREAM, fields)
    assert drain_quota_log(client, warehouse) == 13
    assert drain_quota_log(client, warehouse) == 0

    logged = warehouse.fetch_dicts(
        "SELECT bucket, sum(units_used)::int AS units, count(*)::int AS rows "
        "FROM intel_quota_log WHERE quota_day = %s GROUP BY bucket ORDER BY bucket",
        (date(2026, 11, 18),),
    )
    assert {r["bucket"]: r["units"] for r in logged} == redis_used
    assert {r["bucket"]: r["rows"] for r in logged} == {
        "batch_stats": 3,
        "default": 6,
        "search": 3,
    }
    assert search_calls_today(warehouse, date(2026, 11, 18)) == {"fortnite": 2, "roblox": 1}
