"""The Twitch routes beyond the statistics by day and hour: months, top streamers, broadcasters."""

from datetime import UTC, date, datetime

import httpx
import pytest

from intel_assets.resources.warehouse import PostgresWarehouse, RowScope
from intel_assets_tests.api.conftest import Seeded

GAME = "fortnite"
MONTH_COLUMNS = (
    "game_key", "month", "hours_watched", "hours_streamed", "avg_viewers", "avg_channels",
    "viewer_ratio", "peak_viewers", "peak_channels", "unique_streamers", "snapshot_count",
    "days_covered",
)  # fmt: skip


def test_twitch_stats_by_month_are_the_months_starting_in_the_range(
    api: httpx.Client, stored: PostgresWarehouse
):
    # January 2020 (744 hours) and February 2020 (696 hours, a leap year), and March with
    # nothing streamed; far before the seeded day, so no other test sees them.
    months = [
        (GAME, date(2020, 1, 1), 744.0, 31.0, 1.0, 31 / 744, 24.0, 90, 3, 7, 1488, 31),
        (GAME, date(2020, 2, 1), 348.0, 58.0, 0.5, 58 / 696, 6.0, 40, 4, 9, 2784, 29),
        (GAME, date(2020, 3, 1), 0.0, 0.0, 0.0, 0.0, None, 0, 0, 0, 0, 31),
    ]
    scope = RowScope(
        equals={"game_key": GAME}, time_column="month", start=date(2020, 1, 1), end=date(2021, 1, 1)
    )
    stored.replace_rows("twitch_game_stats_monthly", MONTH_COLUMNS, months, scope=scope)
    try:
        both = api.get(
            f"/v1/games/{GAME}/twitch/stats",
            params={"grain": "month", "start": "2020-01-01", "end": "2020-03-01"},
        )
        february_on = api.get(
            f"/v1/games/{GAME}/twitch/stats",
            params={"grain": "month", "start": "2020-01-15", "end": "2020-04-01T00:00:00Z"},
        )
    finally:
        stored.replace_rows("twitch_game_stats_monthly", MONTH_COLUMNS, [], scope=scope)

    assert (both.status_code, february_on.status_code) == (200, 200)
    periods = both.json()["periods"]
    # [start, end): March starts at the end and is left out.
    assert [p["period_start"] for p in periods] == ["2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z"]
    january, february = periods
    assert (january["hours_watched"], january["avg_viewers"]) == (744.0, 1.0)
    assert (february["avg_viewers"], february["viewer_ratio"]) == (0.5, 6.0)
    assert (february["peak_viewers"], february["unique_streamers"]) == (40, 9)
    # A month starts on its first day: January 15 is past January's start.
    later = february_on.json()["periods"]
    assert [p["period_start"][:7] for p in later] == ["2020-02", "2020-03"]
    assert later[1]["viewer_ratio"] is None and later[1]["hours_watched"] == 0.0


def test_top_streamers_are_the_stored_days_ten_by_rank(
    api: httpx.Client, seeded: Seeded, stored: PostgresWarehouse
):
    answer = api.get(f"/v1/games/{GAME}/twitch/top-streamers")
    other_day = api.get(f"/v1/games/{GAME}/twitch/top-streamers", params={"day": "2020-01-01"})

    assert (answer.status_code, other_day.status_code) == (200, 200)
    body = answer.json()
    assert body["day"] == seeded.day.isoformat()  # the newest computed day
    rows = stored.fetch_dicts(
        "SELECT * FROM twitch_game_top_streamers WHERE game_key = %s AND day = %s ORDER BY rank",
        (GAME, seeded.day),
    )
    assert len(rows) == 10  # the simulator's fortnite has more than ten streamers a day
    assert [s["rank"] for s in body["streamers"]] == list(range(1, 11))
    for streamer, row in zip(body["streamers"], rows, strict=True):
        assert streamer["user_id"] == row["user_id"]
        assert streamer["hours_watched"] == pytest.approx(row["hours_watched"], rel=1e-12)
        assert streamer["peak_viewers"] == row["peak_viewers"]
    watched = [s["hours_watched"] for s in body["streamers"]]
    assert watched == sorted(watched, reverse=True)
    assert other_day.json() == {"game_key": GAME, "day": "2020-01-01", "streamers": []}


def test_broadcasters_are_the_stored_days_rows_in_the_order_asked(
    api: httpx.Client, seeded: Seeded, stored: PostgresWarehouse
):
    answer = api.get(f"/v1/games/{GAME}/twitch/broadcasters", params={"limit": 500})
    limited = api.get(f"/v1/games/{GAME}/twitch/broadcasters", params={"limit": 3})
    by_growth = api.get(
        f"/v1/games/{GAME}/twitch/broadcasters", params={"order": "growth_7d", "limit": 500}
    )

    assert {answer.status_code, limited.status_code, by_growth.status_code} == {200}
    body = answer.json()
    assert (body["day"], body["order"]) == (seeded.day.isoformat(), "hours_watched")
    rows = stored.fetch_dicts(
        "SELECT * FROM twitch_broadcaster_growth WHERE game_key = %s AND day = %s",
        (GAME, seeded.day),
    )
    assert 3 < len(rows) <= 500
    assert len(body["broadcasters"]) == len(rows)
    assert [b["rank_hours_watched"] for b in body["broadcasters"]] == list(range(1, len(rows) + 1))
    by_user = {r["user_id"]: r for r in rows}
    for broadcaster in body["broadcasters"]:
        row = by_user[broadcaster["user_id"]]
        assert broadcaster["hours_streamed"] == pytest.approx(row["hours_streamed"], rel=1e-12)
        assert broadcaster["avg_viewers"] == pytest.approx(row["avg_viewers"], rel=1e-12)
        # One day of history: the game was not collected a day or a week before.
        assert broadcaster["hours_watched_change_1d"] is None
        assert broadcaster["rank_7d_hours_watched"] is None
    assert limited.json()["broadcasters"] == body["broadcasters"][:3]
    # Without 7-day changes, ordering by growth falls back to hours watched.
    assert by_growth.json()["broadcasters"] == body["broadcasters"]
    assert by_growth.json()["order"] == "growth_7d"


@pytest.mark.parametrize(
    ("params", "field"), [({"order": "followers"}, "order"), ({"limit": "0"}, "limit")]
)
def test_broadcasters_with_an_unknown_order_or_bad_limit_are_422(
    api: httpx.Client, params: dict, field: str
):
    answer = api.get(f"/v1/games/{GAME}/twitch/broadcasters", params=params)

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", field]


def test_the_broadcasters_day_defaults_to_the_newest_up_to_today(api: httpx.Client, seeded: Seeded):
    # Nothing is computed after the seeded day, and today is the day after it.
    today = datetime.now(UTC).date()
    assert seeded.day < today
    answer = api.get(f"/v1/games/{GAME}/twitch/broadcasters", params={"day": today.isoformat()})
    assert answer.json()["broadcasters"] == []
