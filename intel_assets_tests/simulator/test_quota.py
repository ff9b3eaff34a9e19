"""Counts and quota: units per method and bucket, quotaExceeded, the Pacific-midnight reset."""

from datetime import UTC, date, datetime, timedelta

from intel_assets.simulator import Fault
from intel_assets_tests.simulator.conftest import helix_headers, youtube


def _chart(http, sim):
    return youtube(http, sim, "videos", part="id", chart="mostPopular")


def test_units_per_method_and_bucket_are_counted_exactly(sim, http):
    ids = ",".join(sim.world.chart_ids("US", sim.now())[:10])
    for _ in range(3):
        _chart(http, sim)
    youtube(http, sim, "videos:batchGetStats", part="statistics", id=ids)
    youtube(http, sim, "videos:batchGetStats", part="statistics", id=ids)
    youtube(http, sim, "search", part="id", q="roblox", type="video")
    youtube(http, sim, "videoCategories", part="snippet", regionCode="US")
    youtube(http, sim, "videos", part="id", chart="mostPopular", key="wrong")  # no charge
    youtube(http, sim, "videos", part="id")  # invalid request: charged

    counts = sim.counts()["youtube"]
    # videos.list: 3 chart calls + 1 bad key + 1 invalid = 5 calls; the bad key is not charged.
    assert counts["videos.list"] == {"calls": 5, "units": 4}
    assert counts["videos.batchGetStats"] == {"calls": 2, "units": 2}
    assert counts["search.list"] == {"calls": 1, "units": 1}
    assert counts["videoCategories.list"] == {"calls": 1, "units": 1}
    assert counts["channels.list"] == {"calls": 0, "units": 0}
    # default: 4 videos.list + 1 videoCategories.list = 5; search 1; batch_stats 2.
    assert sim.units_by_bucket() == {"default": 5, "search": 1, "batch_stats": 2}


def test_quota_exceeded_after_the_limit_and_only_in_that_bucket(sim, http):
    sim.set_quota_limit("default", 3)
    statuses = [_chart(http, sim).status_code for _ in range(5)]
    stats = youtube(
        http,
        sim,
        "videos:batchGetStats",
        part="statistics",
        id=sim.world.chart_ids("US", sim.now())[0],
    )

    assert statuses == [200, 200, 200, 403, 403]
    assert stats.status_code == 200
    # Refused calls are counted as calls but charge nothing.
    assert sim.counts()["youtube"]["videos.list"] == {"calls": 5, "units": 3}
    assert sim.units_by_bucket() == {"default": 3, "search": 0, "batch_stats": 1}


def test_injected_errors_are_charged_but_quota_refusals_are_not(sim, http):
    sim.inject(Fault(kind="status", api="youtube", count=2, status=503))
    sim.inject(Fault(kind="malformed_json", api="youtube"))
    sim.set_quota_limit("default", 4)

    statuses = [_chart(http, sim).status_code for _ in range(5)]

    # 503, 503, 200 (malformed body), 200, then the fifth is over the limit of 4.
    assert statuses == [503, 503, 200, 200, 403]
    assert sim.counts()["youtube"]["videos.list"] == {"calls": 5, "units": 4}


def test_quota_resets_at_pacific_midnight_not_at_utc_midnight(sim, http):
    sim.set_quota_limit("search", 2)
    # 2026-11-20 23:30 UTC is 15:30 in Los Angeles (PST, UTC-8): still Pacific day Nov 20.
    sim.set_clock(datetime(2026, 11, 20, 23, 30, tzinfo=UTC))

    def search() -> int:
        return youtube(http, sim, "search", part="id", q="gta", type="video").status_code

    assert [search(), search(), search()] == [200, 200, 403]
    sim.advance_clock(timedelta(hours=1))  # 00:30 UTC Nov 21, 16:30 PST Nov 20
    assert search() == 403
    assert sim.units_by_bucket() == {"default": 0, "search": 2, "batch_stats": 0}

    sim.set_clock(datetime(2026, 11, 21, 7, 59, 59, tzinfo=UTC))  # 23:59:59 PST
    assert search() == 403
    sim.advance_clock(timedelta(seconds=2))  # 00:00:01 PST on Nov 21: a new quota day
    assert search() == 200
    assert sim.units_by_bucket() == {"default": 0, "search": 1, "batch_stats": 0}
    assert sim.units_by_bucket(date(2026, 11, 20))["search"] == 2


def test_summer_time_moves_the_reset_to_07_utc(sim, http):
    sim.set_quota_limit("default", 1)
    # 2026-07-01 06:59:59 UTC is 23:59:59 PDT (UTC-7) on June 30.
    sim.set_clock(datetime(2026, 7, 1, 6, 59, 59, tzinfo=UTC))
    assert [_chart(http, sim).status_code, _chart(http, sim).status_code] == [200, 403]

    sim.advance_clock(timedelta(seconds=2))

    assert _chart(http, sim).status_code == 200


def test_reset_counts_keeps_todays_spend_and_reset_quota_clears_it(sim, http):
    _chart(http, sim)
    http.get(f"{sim.twitch_url}/games/top", headers=helix_headers(http, sim))

    sim.reset_counts()
    assert sim.counts()["youtube"]["videos.list"] == {"calls": 0, "units": 0}
    assert sim.counts()["twitch"]["games/top"] == {"calls": 0, "points": 0}
    assert sim.counts()["auth"]["token"] == {"calls": 0}
    assert sim.units_by_bucket()["default"] == 1

    sim.reset_quota()
    assert sim.units_by_bucket()["default"] == 0
