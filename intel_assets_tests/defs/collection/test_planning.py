from datetime import UTC, datetime, timedelta

import pytest

from intel_assets.defs.collection.planning import (
    Budget,
    CostModel,
    GameSchedule,
    day_fraction_elapsed,
    due_at,
    effective_interval,
    paced_allowance,
    plan_youtube,
    search_share,
)

# 2026-11-20 18:00 UTC is 10:00 in Los Angeles (PST, UTC-8): 10/24 of the quota day has passed.
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
BUDGETS = {
    "default": Budget("default", 10_000, 0),
    "search": Budget("search", 100, 0),
    "batch_stats": Budget("batch_stats", 10_000, 0),
}
COSTS = CostModel(regions=2)


def _game(key: str, priority: int = 1, refresh: float = 2.0, **state) -> GameSchedule:
    return GameSchedule(key=key, priority=priority, refresh_hours=refresh, **state)


def test_quiet_games_slow_down_by_the_seeds_factors():
    assert effective_interval(_game("a", unchanged_streak=2)) == timedelta(hours=2)
    assert effective_interval(_game("a", unchanged_streak=3)) == timedelta(hours=3)  # 2 h x 1.5
    assert effective_interval(_game("a", unchanged_streak=5)) == timedelta(hours=3)
    assert effective_interval(_game("a", unchanged_streak=6)) == timedelta(hours=4)  # 2 h x 2


def test_failed_games_back_off_doubling():
    last = NOW - timedelta(hours=5)
    failed = NOW - timedelta(minutes=1)
    # due 3 h ago by schedule, but the 3rd failure in a row waits 5 x 2^2 = 20 min after it
    game = _game("a", last_collected_at=last, last_failure_at=failed, failures_in_row=3)
    assert due_at(game) == failed + timedelta(minutes=20)


def test_the_pacific_day_fraction_follows_los_angeles_time():
    assert day_fraction_elapsed(NOW) == pytest.approx(10 / 24)
    # 08:00 UTC is midnight in Los Angeles in winter
    assert day_fraction_elapsed(datetime(2026, 11, 20, 8, 0, tzinfo=UTC)) == pytest.approx(0.0)


def test_pacing_spreads_the_target_budget_over_the_day():
    budget = Budget("default", 10_000, 0)
    # target 5,000 units; by 10:00 Pacific: 5,000 x (10/24 + 1/24 burst) = 2,291.67
    assert paced_allowance(budget, NOW, target_share=0.5, burst_hours=1) == pytest.approx(
        5000 * 11 / 24
    )
    late = datetime(2026, 11, 21, 7, 30, tzinfo=UTC)  # 23:30 Pacific: capped at the target
    assert paced_allowance(budget, late, target_share=0.5, burst_hours=1) == 5000


def test_search_calls_are_shared_by_inverse_priority():
    games = [_game("a", 1), _game("b", 2), _game("c", 4)]
    # weights 1, 1/2, 1/4 of a total 1.75
    assert search_share(games, "a", 50) == pytest.approx(50 / 1.75)
    assert search_share(games, "c", 50) == pytest.approx(50 * 0.25 / 1.75)


def test_first_plan_takes_every_game_never_collected_first_then_by_priority():
    games = [
        _game("zeta", priority=3),
        _game("alpha", priority=1, last_collected_at=NOW - timedelta(hours=9)),
        _game("beta", priority=2),
        _game("gamma", priority=1),
    ]
    plan = plan_youtube(games, BUDGETS, COSTS, NOW)
    assert [r.game_key for r in plan.requests] == ["gamma", "beta", "zeta", "alpha"]
    assert [r.slot for r in plan.requests[:3]] == ["first"] * 3
    # alpha was due at 11 h - 9 h: its slot is that due time, to the minute
    assert plan.requests[3].slot == (NOW - timedelta(hours=7)).isoformat()
    # only the first request pays for the two regions' charts (2 x 4 pages)
    assert plan.requests[0].estimated_units["default"] >= 8
    assert plan.requests[1].estimated_units["default"] < 8


def test_nothing_due_says_when_each_game_is():
    games = [_game("a", last_collected_at=NOW - timedelta(minutes=30))]
    plan = plan_youtube(games, BUDGETS, COSTS, NOW)
    assert plan.requests == []
    assert plan.skipped == {"a": f"not due until {(NOW + timedelta(minutes=90)).isoformat()}"}


def test_a_nearly_spent_budget_admits_only_what_fits():
    # paced allowance 2,291.67; 2,270 spent leaves room for 21 units
    budgets = dict(BUDGETS, default=Budget("default", 10_000, 2_270))
    games = [_game(k, expected_rows=50) for k in ("a", "b", "c", "d")]
    plan = plan_youtube(games, budgets, COSTS, NOW, charts_cached=True)
    # each costs ceil(50 x 0.2 / 50) = 1 default unit + 1 for the search's 50 details = 2
    assert len(plan.requests) == 4
    tight = dict(BUDGETS, default=Budget("default", 10_000, 2_288))
    plan = plan_youtube(games, tight, COSTS, NOW, charts_cached=True)
    # 3.67 units of room: a takes 2 with its search (2,290), b fits only without one (2,291),
    # c would make 2,292 > 2,291.67
    assert [(r.game_key, r.search_calls) for r in plan.requests] == [("a", 1), ("b", 0)]
    assert plan.skipped["c"].startswith("quota: default needs 1 with 2291 of a paced 2292")


def test_a_closed_bucket_affords_nothing():
    budgets = dict(BUDGETS, batch_stats=Budget("batch_stats", 10_000, 10, closed=True))
    plan = plan_youtube([_game("a", expected_rows=10)], budgets, COSTS, NOW)
    assert plan.requests == []
    assert "batch_stats" in plan.skipped["a"]


def test_an_open_breaker_requests_nothing():
    until = NOW + timedelta(minutes=10)
    plan = plan_youtube([_game("a"), _game("b")], BUDGETS, COSTS, NOW, breaker_open_until=until)
    assert plan.requests == []
    assert set(plan.skipped.values()) == {f"breaker open until {until.isoformat()}"}


def test_run_keys_are_stable_across_ticks():
    games = [_game("a", last_collected_at=NOW - timedelta(hours=3))]
    first = plan_youtube(games, BUDGETS, COSTS, NOW)
    later = plan_youtube(games, BUDGETS, COSTS, NOW + timedelta(minutes=7))
    assert first.requests[0].run_key == later.requests[0].run_key
    assert first.requests[0].run_key == f"youtube_videos:a:{(NOW - timedelta(hours=1)).isoformat()}"


def test_the_uploads_sweep_is_paid_with_the_charts_by_the_windows_first_collection():
    model = CostModel(regions=2, uploads_playlists=50, uploads_per_playlist=5.0)
    game = GameSchedule(key="fortnite", priority=1, refresh_hours=2.0, expected_rows=40)
    # ceil(40 x 0.2 / 50) = 1 for new videos' details; with the charts 2 x 4 pages and the
    # sweep's 50 playlists plus ceil(50 x 5 / 50) = 5 for its uploads' details.
    assert model.units(game, with_charts=True, search_calls=0) == {
        "default": 1 + 8 + 50 + 5,
        "batch_stats": 1,
        "search": 0,
    }
    assert model.units(game, with_charts=False, search_calls=0)["default"] == 1
    assert CostModel(regions=2).units(game, with_charts=True, search_calls=0)["default"] == 9
