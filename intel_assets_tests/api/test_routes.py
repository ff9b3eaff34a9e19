"""Every data route on Redis and Postgres filled by the pipeline, with Redis up."""

import json
from datetime import datetime, timedelta

import httpx
import pytest
import redis

from intel_assets.analyzers.registry import ANALYZERS
from intel_assets.catalog import load_catalog
from intel_assets.resources.breaker import CircuitBreaker
from intel_assets.resources.quota import BucketSpec, QuotaLedger
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.api.conftest import SEED_HOURS, Seeded

GAMES = load_catalog().keys
GAME = "fortnite"


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_games_are_the_catalogs_in_priority_order(api: httpx.Client):
    answer = api.get("/v1/games")

    assert answer.status_code == 200
    games = answer.json()["games"]
    assert [g["key"] for g in games] == GAMES
    assert {g["key"]: g["display_name"] for g in games}[GAME] == "Fortnite"
    assert not any(g["discovered"] for g in games)


def test_intel_serves_every_analyzer_from_the_hot_tier_with_its_confidence_decayed(
    api: httpx.Client, hot: redis.Redis
):
    answer = api.get(f"/v1/games/{GAME}/intel")

    assert answer.status_code == 200
    body = answer.json()
    assert list(body["analyses"]) == list(ANALYZERS)
    assert body["missing"] == []
    served_at = _iso(body["served_at"])
    for name, analysis in body["analyses"].items():
        envelope = json.loads(str(hot.get(f"intel:{name}:precomputed:{GAME}")))
        assert analysis["source"] == "hot_tier"
        assert _iso(analysis["as_of"]) == _iso(envelope["as_of"])
        assert analysis["result"] == envelope["result"]
        assert analysis["key_figures"] == envelope["key_figures"]
        assert analysis["confidence_at_as_of"] == envelope["confidence"]
        # Yesterday's data, served today: the age is served_at - as_of, and the confidence
        # halves once per half-life of that age.
        age = (served_at - _iso(envelope["as_of"])).total_seconds()
        assert analysis["age_seconds"] == pytest.approx(age)
        half_lives = age / envelope["half_life_seconds"]
        assert analysis["confidence"] == pytest.approx(envelope["confidence"] * 0.5**half_lives)
        assert analysis["confidence"] < analysis["confidence_at_as_of"] or half_lives == 0


def test_one_analyzer_is_the_same_result_as_in_the_whole_intel(api: httpx.Client):
    whole = api.get(f"/v1/games/{GAME}/intel").json()["analyses"]["viral"]

    answer = api.get(f"/v1/games/{GAME}/intel/viral")

    assert answer.status_code == 200
    one = answer.json()
    assert one["result"] == whole["result"]
    assert one["as_of"] == whole["as_of"]
    assert one["source"] == "hot_tier"


def test_summary_counts_the_latest_snapshots_in_the_hot_tier(api: httpx.Client, hot: redis.Redis):
    youtube = json.loads(str(hot.get(f"youtube:games:{GAME}")))
    twitch = json.loads(str(hot.get(f"twitch:games:{GAME}")))

    answer = api.get(f"/v1/games/{GAME}/summary")

    assert answer.status_code == 200
    body = answer.json()
    videos, streams = youtube["videos"], twitch["streams"]
    yt = body["youtube"]
    assert yt["source"] == "hot_tier"
    assert _iso(yt["collected_at"]) == _iso(youtube["collected_at"])
    assert yt["video_count"] == len(videos) > 0
    assert yt["shorts_count"] == sum(1 for v in videos if v["is_short"])
    views = [int(v["view_count"]) for v in videos if v["view_count"] is not None]
    assert yt["total_views"] == sum(views)
    assert yt["avg_views"] == pytest.approx(sum(views) / len(views))
    most_viewed = max(videos, key=lambda v: v["view_count"] or -1)
    assert yt["top_videos"][0]["video_id"] == most_viewed["video_id"]
    assert len(yt["top_videos"]) == min(10, len(videos))
    top_views = [v["view_count"] for v in yt["top_videos"]]
    assert top_views == sorted(top_views, reverse=True)
    tw = body["twitch"]
    assert tw["source"] == "hot_tier"
    assert tw["stream_count"] == len(streams) > 0
    assert tw["total_viewers"] == sum(s["viewer_count"] for s in streams) == twitch["total_viewers"]
    english = sum(s["viewer_count"] for s in streams if s["language"] == "en")
    assert tw["viewers_by_language"].get("en", 0) == english
    assert sum(tw["viewers_by_language"].values()) == tw["total_viewers"]


def test_hourly_history_is_every_replayed_hour_of_the_game(
    api: httpx.Client, seeded: Seeded, stored: PostgresWarehouse
):
    start, end = seeded.start, seeded.end

    answer = api.get(
        f"/v1/games/{GAME}/hourly", params={"start": start.isoformat(), "end": end.isoformat()}
    )

    assert answer.status_code == 200
    hours = answer.json()["hours"]
    # Twitch is collected every hour of the replay, so each of the 6 hours has a row.
    assert [_iso(h["hour_start"]) for h in hours] == [
        start + timedelta(hours=h) for h in range(SEED_HOURS)
    ]
    rows = stored.fetch_dicts(
        "SELECT hour_start, video_count, twitch_total_viewers FROM intel_hourly_metrics "
        "WHERE category_key = %s ORDER BY hour_start",
        (GAME,),
    )
    assert [(h["video_count"], h["twitch_total_viewers"]) for h in hours] == [
        (r["video_count"], r["twitch_total_viewers"]) for r in rows
    ]


def test_hourly_range_is_half_open_and_naive_times_are_utc(api: httpx.Client, seeded: Seeded):
    first = seeded.start + timedelta(hours=1)
    naive = first.replace(tzinfo=None).isoformat()

    answer = api.get(
        f"/v1/games/{GAME}/hourly",
        params={"start": naive, "end": (first + timedelta(hours=2)).isoformat()},
    )

    assert answer.status_code == 200
    # [start+1h, start+3h) holds the hours start+1h and start+2h.
    assert [_iso(h["hour_start"]) for h in answer.json()["hours"]] == [
        first,
        first + timedelta(hours=1),
    ]


def test_daily_history_by_default_holds_yesterday(api: httpx.Client, seeded: Seeded):
    answer = api.get(f"/v1/games/{GAME}/daily")

    assert answer.status_code == 200
    body = answer.json()
    # Default: the 30 days ending today; yesterday (the replayed day) is the only one with data.
    assert body["end"] == seeded.end.date().isoformat()
    assert body["start"] == (seeded.end.date() - timedelta(days=29)).isoformat()
    assert [d["date"] for d in body["days"]] == [seeded.day.isoformat()]
    assert body["days"][0]["hours_covered"] == SEED_HOURS


def test_trending_ranks_yesterday_by_opportunity(api: httpx.Client, stored: PostgresWarehouse):
    daily = {
        r["category_key"]: r
        for r in stored.fetch_dicts(
            "SELECT category_key, avg_viral_count, views_trend FROM intel_daily_metrics"
        )
    }

    answer = api.get("/v1/trending", params={"days": 1})

    assert answer.status_code == 200
    body = answer.json()
    assert body["days"] == 1
    categories = body["categories"]
    assert sorted(c["game_key"] for c in categories) == sorted(GAMES)
    for category in categories:
        day = daily[category["game_key"]]
        # One day in the window: the means are that day's values.
        expected = day["avg_viral_count"] * 10 + max(day["views_trend"], 0)
        assert category["opportunity_score"] == pytest.approx(expected)
    scores = [c["opportunity_score"] for c in categories]
    assert scores == sorted(scores, reverse=True)


def test_optimal_durations_are_yesterdays_buckets_with_five_videos_or_more(
    api: httpx.Client, stored: PostgresWarehouse
):
    rows = stored.fetch_dicts(
        "SELECT bucket_label, performance_index, video_count FROM intel_duration_performance "
        "WHERE category_key = %s",
        (GAME,),
    )

    answer = api.get(f"/v1/games/{GAME}/optimal-durations", params={"days": 1})

    assert answer.status_code == 200
    buckets = answer.json()["buckets"]
    # One day: each bucket's index is that day's, the videos that day's, buckets under 5 out.
    expected = sorted(
        (
            (r["bucket_label"], r["performance_index"], r["video_count"])
            for r in rows
            if r["video_count"] >= 5
        ),
        key=lambda b: (-b[1], b[0]),
    )
    assert [
        (b["bucket_label"], b["avg_performance_index"], b["total_videos"]) for b in buckets
    ] == [(label, pytest.approx(index), videos) for label, index, videos in expected]
    assert buckets, "yesterday's fortnite videos fill at least one bucket"


def test_quota_shows_what_the_ledger_holds_now(api: httpx.Client, hot: redis.Redis):
    ledger = QuotaLedger(hot, platform="youtube", buckets=[BucketSpec("search", 100)])
    breaker = CircuitBreaker(hot, api="twitch", failure_threshold=3)
    before = {
        (b["platform"], b["bucket"]): b["used"] for b in api.get("/v1/quota").json()["buckets"]
    }
    ledger.reserve("search", "search.list", 3)
    for _ in range(3):
        breaker.record_failure()
    try:
        answer = api.get("/v1/quota")
    finally:
        breaker.reset()

    assert answer.status_code == 200
    body = answer.json()
    buckets = {(b["platform"], b["bucket"]): b for b in body["buckets"]}
    assert set(buckets) == {
        ("youtube", "default"),
        ("youtube", "search"),
        ("youtube", "batch_stats"),
        ("twitch", "points"),
    }
    search = buckets[("youtube", "search")]
    assert search["used"] == before[("youtube", "search")] + 3
    assert search["remaining"] == 100 - search["used"]
    breakers = {b["api"]: b for b in body["breakers"]}
    assert set(breakers) == {"youtube", "twitch", "twitch_auth"}
    # Three failures reach the threshold of 3: open.
    assert breakers["twitch"]["state"] == "open"
    assert breakers["twitch"]["failures"] == 3
    assert breakers["youtube"]["state"] == "closed"


GAME_ROUTES = [
    "/v1/games/{game}/intel",
    "/v1/games/{game}/intel/viral",
    "/v1/games/{game}/summary",
    "/v1/games/{game}/hourly",
    "/v1/games/{game}/daily",
    "/v1/games/{game}/optimal-durations",
    "/v1/games/{game}/twitch/stats",
    "/v1/games/{game}/channels",
    "/v1/games/{game}/twitch/top-streamers",
    "/v1/games/{game}/twitch/broadcasters",
]


@pytest.mark.parametrize("route", GAME_ROUTES)
def test_an_unknown_game_is_404_naming_the_known_ones(api: httpx.Client, route: str):
    answer = api.get(route.format(game="half_life_3"))

    assert answer.status_code == 404
    detail = answer.json()["detail"]
    assert detail.startswith("unknown game 'half_life_3'; known games: fortnite, minecraft")


@pytest.mark.parametrize(
    ("route", "params", "field"),
    [
        ("hourly", {"start": "2026-13-01"}, "start"),
        ("hourly", {"end": "yesterday"}, "end"),
        ("hourly", {"start": "1700000000"}, "start"),
        ("daily", {"start": "2026-02-30"}, "start"),
        ("daily", {"end": "2026-03-04T05:00"}, "end"),
        ("twitch/stats", {"start": "2026-02-30"}, "start"),
        ("twitch/stats", {"end": "last week"}, "end"),
    ],
)
def test_a_malformed_date_is_422_naming_the_parameter(
    api: httpx.Client, route: str, params: dict[str, str], field: str
):
    answer = api.get(f"/v1/games/{GAME}/{route}", params=params)

    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["query", field]
    assert "ISO 8601" in error["msg"]


@pytest.mark.parametrize(
    ("route", "params", "message"),
    [
        ("hourly", {"start": "2026-03-04T05:00Z", "end": "2026-03-04T05:00Z"}, "end must be after"),
        ("hourly", {"start": "2026-01-01", "end": "2026-02-01T00:00:01Z"}, "longer than 31 days"),
        ("hourly", {"end": "0001-01-01T05:00Z"}, "outside the years"),
        ("daily", {"start": "2026-03-05", "end": "2026-03-04"}, "end must not be before"),
        # 2025 has 365 days: 2025-01-01 to 2026-01-02 is 367 days with both ends.
        ("daily", {"start": "2025-01-01", "end": "2026-01-02"}, "longer than 366 days"),
        ("daily", {"end": "0001-01-05"}, "outside the years"),
        ("twitch/stats", {"start": "2026-03-04", "end": "2026-03-04"}, "end must be after"),
        (
            "twitch/stats",
            {"grain": "hour", "start": "2026-01-01", "end": "2026-02-01T01:00Z"},
            "longer than 31 days",
        ),
        ("twitch/stats", {"start": "2025-01-01", "end": "2026-01-03"}, "longer than 366 days"),
        ("twitch/stats", {"grain": "month", "end": "0001-03-01"}, "outside the years"),
    ],
)
def test_a_bad_range_is_400_saying_why(
    api: httpx.Client, route: str, params: dict[str, str], message: str
):
    answer = api.get(f"/v1/games/{GAME}/{route}", params=params)

    assert answer.status_code == 400
    assert message in answer.json()["detail"]


def test_the_longest_ranges_are_allowed(api: httpx.Client):
    # 31 days of hours and 366 days (2024-01-01 to 2024-12-31, a leap year) are the caps.
    hourly = api.get(
        f"/v1/games/{GAME}/hourly", params={"start": "2026-01-01", "end": "2026-02-01"}
    )
    daily = api.get(f"/v1/games/{GAME}/daily", params={"start": "2024-01-01", "end": "2024-12-31"})

    assert (hourly.status_code, daily.status_code) == (200, 200)
    assert daily.json()["days"] == []


@pytest.mark.parametrize("days", ["0", "367", "seven"])
def test_a_window_outside_1_to_366_days_is_422(api: httpx.Client, days: str):
    assert api.get("/v1/trending", params={"days": days}).status_code == 422
    assert api.get(f"/v1/games/{GAME}/optimal-durations", params={"days": days}).status_code == 422


def test_an_unknown_analyzer_is_422_listing_the_analyzers(api: httpx.Client):
    answer = api.get(f"/v1/games/{GAME}/intel/virality")

    assert answer.status_code == 422
    assert "'viral'" in answer.json()["detail"][0]["msg"]


def test_a_game_without_data_yet_is_known_but_has_nothing(
    api: httpx.Client, stored: PostgresWarehouse
):
    with stored.connection() as conn:
        conn.execute(
            "INSERT INTO intel_discovered_games VALUES ('hades_2', 'Hades II', '1', 40, now())"
        )
    try:
        games = api.get("/v1/games").json()["games"]
        intel = api.get("/v1/games/hades_2/intel")
        viral = api.get("/v1/games/hades_2/intel/viral")
        summary = api.get("/v1/games/hades_2/summary")
        hourly = api.get("/v1/games/hades_2/hourly")
    finally:
        with stored.connection() as conn:
            conn.execute("DELETE FROM intel_discovered_games WHERE game_key = 'hades_2'")

    assert {g["key"]: g["discovered"] for g in games}["hades_2"] is True
    assert intel.status_code == 200
    assert intel.json()["analyses"] == {}
    assert intel.json()["missing"] == list(ANALYZERS)
    assert viral.status_code == 404
    assert viral.json()["detail"].startswith("no viral analysis of hades_2 yet")
    assert summary.status_code == 200
    assert (summary.json()["youtube"], summary.json()["twitch"]) == (None, None)
    assert (hourly.status_code, hourly.json()["hours"]) == (200, [])


def test_twitch_stats_by_day_and_hour_are_the_stored_rows(
    api: httpx.Client, seeded: Seeded, stored: PostgresWarehouse
):
    by_day = api.get(f"/v1/games/{GAME}/twitch/stats")
    by_hour = api.get(
        f"/v1/games/{GAME}/twitch/stats",
        params={"grain": "hour", "start": seeded.day.isoformat(), "end": seeded.end.isoformat()},
    )

    assert (by_day.status_code, by_hour.status_code) == (200, 200)
    day = by_day.json()
    # Default: the 30 days before the next midnight; yesterday is the only day computed.
    assert _iso(day["end"]) == seeded.end + timedelta(days=1)
    assert _iso(day["start"]) == seeded.end - timedelta(days=29)
    (row,) = stored.fetch_dicts("SELECT * FROM twitch_game_stats WHERE game_key = %s", (GAME,))
    (period,) = day["periods"]
    assert _iso(period["period_start"]) == seeded.end - timedelta(days=1)
    for field in ("hours_watched", "avg_viewers", "viewer_ratio", "peak_viewers"):
        assert period[field] == pytest.approx(row[field])
    assert row["hours_watched"] > 0 and row["peak_channels"] > 0  # Twitch was collected
    hours = by_hour.json()["periods"]
    assert [_iso(h["period_start"]) for h in hours] == [
        seeded.end - timedelta(hours=24 - h) for h in range(24)
    ]
    assert sum(h["hours_watched"] for h in hours) == pytest.approx(period["hours_watched"])
    assert max(h["peak_viewers"] for h in hours) == period["peak_viewers"]


def test_twitch_stats_of_an_unknown_grain_is_422(api: httpx.Client):
    answer = api.get(f"/v1/games/{GAME}/twitch/stats", params={"grain": "week"})

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "grain"]


def test_channels_are_the_stored_days_rows_fastest_growing_first(
    api: httpx.Client, seeded: Seeded, stored: PostgresWarehouse
):
    answer = api.get(f"/v1/games/{GAME}/channels")
    limited = api.get(f"/v1/games/{GAME}/channels", params={"limit": 2})
    other_day = api.get(f"/v1/games/{GAME}/channels", params={"day": "2026-01-01"})

    assert (answer.status_code, limited.status_code, other_day.status_code) == (200, 200, 200)
    body = answer.json()
    # Default: the newest computed day, yesterday's (the pipeline filled it).
    assert body["day"] == seeded.day.isoformat()
    rows = stored.fetch_dicts(
        "SELECT channel_id, subscriber_count, rank_7d_absolute FROM channel_growth"
        " WHERE game_key = %s AND day = %s",
        (GAME, seeded.day),
    )
    assert len(rows) > 0 and len(body["channels"]) == min(len(rows), 50)
    # One day of history: no 7-day change, so no rank; the largest channels come first.
    assert all(c["rank_7d_absolute"] is None for c in body["channels"])
    counts = [c["subscriber_count"] for c in body["channels"] if c["subscriber_count"]]
    assert counts == sorted(counts, reverse=True)
    by_id = {r["channel_id"]: r for r in rows}
    for channel in body["channels"]:
        assert channel["subscriber_count"] == by_id[channel["channel_id"]]["subscriber_count"]
    assert [c["channel_id"] for c in limited.json()["channels"]] == [
        c["channel_id"] for c in body["channels"][:2]
    ]
    assert other_day.json() == {"game_key": GAME, "day": "2026-01-01", "channels": []}


@pytest.mark.parametrize("limit", ["0", "501", "many"])
def test_channels_beyond_1_to_500_are_422(api: httpx.Client, limit: str):
    assert api.get(f"/v1/games/{GAME}/channels", params={"limit": limit}).status_code == 422
