"""The seed's SQL functions (migration 0003) over rows whose answers are worked out by hand."""

from datetime import UTC, date, datetime, timedelta
from typing import LiteralString

import psycopg
import pytest

from intel_assets.resources.warehouse import PostgresWarehouse, RowScope

# At any moment one of these two session zones has another date than UTC (+14 h and -11 h),
# so a function that used the session's CURRENT_DATE would answer differently in one of them.
SESSION_ZONES = ("Pacific/Kiritimati", "Pacific/Pago_Pago")
# The functions count days before the caller's instant (p_as_of); at 12:00 UTC on 18 November
# it is already the 19th in Kiritimati.
AS_OF = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def _utc_today() -> date:
    return AS_OF.date()


def _days_ago(n: int) -> date:
    return _utc_today() - timedelta(days=n)


def _call(
    warehouse: PostgresWarehouse, zone: str, query: LiteralString, params: tuple
) -> list[tuple]:
    with warehouse.connection() as conn:
        conn.execute("SELECT set_config('TimeZone', %s, true)", (zone,))
        return conn.execute(query, params).fetchall()


def _seed_daily(warehouse: PostgresWarehouse) -> None:
    columns = ["category_key", "date", "avg_viral_count", "views_trend"]
    rows = [
        # fortnite: two days inside a 7-day window, one just outside, and today (incomplete).
        ("fortnite", _days_ago(1), 2.0, 10.0),
        ("fortnite", _days_ago(7), 4.0, -20.0),
        ("fortnite", _days_ago(8), 100.0, 100.0),
        ("fortnite", _utc_today(), 100.0, 100.0),
        ("minecraft", _days_ago(3), 1.0, 50.0),
        ("valorant", _days_ago(2), 0.0, 0.0),
        ("apex", _days_ago(2), 0.0, 0.0),
    ]
    warehouse.replace_rows(
        "intel_daily_metrics",
        columns,
        rows,
        scope=RowScope(time_column="date", start=date(2000, 1, 1), end=date(2100, 1, 1)),
    )


def test_trending_categories_rank_the_last_complete_utc_days_in_any_session_zone(
    warehouse: PostgresWarehouse,
):
    _seed_daily(warehouse)
    # fortnite: viral (2 + 4) / 2 = 3; trend (10 - 20) / 2 = -5;
    #   opportunity ((2*10 + 10) + (4*10 + 0)) / 2 = 35
    # minecraft: 1, 50, 1*10 + 50 = 60. valorant, apex: 0, 0, 0 (tie: by name).
    expected = [
        ("minecraft", 1.0, 50.0, 60.0),
        ("fortnite", 3.0, -5.0, 35.0),
        ("apex", 0.0, 0.0, 0.0),
        ("valorant", 0.0, 0.0, 0.0),
    ]
    for zone in SESSION_ZONES:
        got = _call(warehouse, zone, "SELECT * FROM get_trending_categories(7, %s)", (AS_OF,))
        assert got == expected
    # One day back holds only fortnite's day 1: 2*10 + 10 = 30.
    assert _call(warehouse, "UTC", "SELECT * FROM get_trending_categories(1, %s)", (AS_OF,)) == [
        ("fortnite", 2.0, 10.0, 30.0)
    ]
    # The default window is seven days.
    default = "SELECT * FROM get_trending_categories(p_as_of => %s)"
    assert _call(warehouse, "UTC", default, (AS_OF,)) == expected
    # A second before the UTC midnight that starts the 18th, the last complete day is the 16th
    # (valorant and apex); a second after the next midnight it is the 18th (fortnite's "today").
    before = datetime(2026, 11, 17, 23, 59, 59, tzinfo=UTC)
    assert _call(warehouse, "UTC", "SELECT * FROM get_trending_categories(1, %s)", (before,)) == [
        ("apex", 0.0, 0.0, 0.0),
        ("valorant", 0.0, 0.0, 0.0),
    ]
    after = datetime(2026, 11, 19, 0, 0, 1, tzinfo=UTC)
    assert _call(warehouse, "UTC", "SELECT * FROM get_trending_categories(1, %s)", (after,)) == [
        ("fortnite", 100.0, 100.0, 1100.0)
    ]


def test_optimal_duration_weighs_days_by_videos_and_needs_five_videos(
    warehouse: PostgresWarehouse,
):
    columns = ["category_key", "date", "bucket_label", "bucket_min_seconds",
               "bucket_max_seconds", "video_count", "performance_index"]  # fmt: skip
    rows = [
        ("fortnite", _days_ago(1), "8_15m", 480, 900, 9, 2.0),
        ("fortnite", _days_ago(2), "8_15m", 480, 900, 1, 0.0),
        ("fortnite", _days_ago(1), "under_1m", 0, 60, 10, 1.5),
        ("fortnite", _days_ago(1), "over_60m", 3600, 43200, 4, 9.0),  # 4 videos: too few
        ("fortnite", _days_ago(9), "1_3m", 60, 180, 50, 9.0),  # outside 7 days
        ("minecraft", _days_ago(1), "1_3m", 60, 180, 50, 9.0),  # another game
    ]
    warehouse.replace_rows(
        "intel_duration_performance",
        columns,
        rows,
        scope=RowScope(time_column="date", start=date(2000, 1, 1), end=date(2100, 1, 1)),
    )
    # 8_15m: (2.0 * 9 + 0.0 * 1) / 10 = 1.8 (the seed's unweighted mean said 1.0), 10 videos.
    expected = [("8_15m", 1.8, 10), ("under_1m", 1.5, 10)]
    for zone in SESSION_ZONES:
        got = _call(
            warehouse, zone, "SELECT * FROM get_optimal_duration(%s, 7, %s)", ("fortnite", AS_OF)
        )
        assert [(b, pytest.approx(p), n) for b, p, n in got] == expected


def test_a_window_of_no_days_is_an_error(warehouse: PostgresWarehouse):
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="at least 1"):
        _call(warehouse, "UTC", "SELECT * FROM get_trending_categories(0)", ())
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="at least 1"):
        _call(warehouse, "UTC", "SELECT * FROM get_optimal_duration('fortnite', -3)", ())
