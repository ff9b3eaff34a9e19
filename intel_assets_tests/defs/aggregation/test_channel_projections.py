from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from intel_assets.defs.aggregation.channel_projections import channel_projections
from intel_assets.defs.aggregation.projection_checks import channel_projections_checks
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.check_results import evaluations, failed
from intel_assets_tests.defs.snapshot_rows import insert_channels

DAY = date(2026, 3, 20)
D0 = datetime(2026, 3, 20, tzinfo=UTC)


def _at(days: float, hours: float = 0) -> datetime:
    return D0 + timedelta(days=days, hours=hours)


def _snapshot(channel: str, collected: datetime, fetched: datetime | None,
              subscribers: int | None, game: str = "fortnite") -> dict[str, Any]:  # fmt: skip
    return dict(channel_id=channel, game_key=game, collected_at=collected, fetched_at=fetched,
                subscriber_count=subscribers, view_count=1, video_count=1,
                collection_id=f"{game}:{collected:%Y%m%d%H%M}")  # fmt: skip


def _seed(warehouse: PostgresWarehouse) -> None:
    rows = []
    for k in range(-40, 1):
        # fast: 20 days of history in the window (from day -19), growing 50 a day with a wobble,
        # each fetch carried by a second collection an hour later; two fetches on some days.
        if k >= -19:
            count = 10_000 + 50 * (k + 19) + (k % 3) * 7
            rows += [_snapshot("fast", _at(k, 9 + late), _at(k, 9), count) for late in (0, 1)]
            if k % 4 == 0:
                rows.append(_snapshot("fast", _at(k, 20), _at(k, 20), count + 3))
        # long: 41 days, flat then rising; only the last 30 count.
        rows.append(_snapshot("long", _at(k, 6), _at(k, 6), 500 + max(0, k + 25) * 4,
                              game="minecraft"))  # fmt: skip
    # short: 13 days (one short of a projection). flat: 15 days of one count.
    rows += [_snapshot("short", _at(k, 8), _at(k, 8), 300 + k) for k in range(-12, 1)]
    rows += [_snapshot("flat", _at(k, 8), None, 777) for k in range(-14, 1)]
    # hidden: never a count. gone: not seen today, no row.
    rows += [_snapshot("hidden", _at(k, 8), _at(k, 8), None) for k in range(-20, 1)]
    rows += [_snapshot("gone", _at(k, 8), _at(k, 8), 10) for k in range(-20, 0)]
    insert_channels(warehouse, rows)


def _expected(snapshots: list[dict[str, Any]], game: str, channel: str) -> dict[str, Any]:
    """The line and its 95% prediction interval 30 days out, by the textbook formulas."""
    mine = [s for s in snapshots if (s["game_key"], s["channel_id"]) == (game, channel)]
    frame = pd.DataFrame([s for s in mine if s["subscriber_count"] is not None])
    frame["fetch"] = frame["fetched_at"].fillna(frame["collected_at"])
    frame = frame[
        (frame["fetch"] >= D0 - timedelta(days=29)) & (frame["fetch"] < D0 + timedelta(1))
    ]
    frame["fetch_day"] = frame["fetch"].dt.date
    daily = frame.sort_values("fetch").groupby("fetch_day").last()
    x = ((daily["fetch"] - daily["fetch"].max()) / pd.Timedelta(days=1)).to_numpy(float)
    y = daily["subscriber_count"].to_numpy(float)
    n = len(x)
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (intercept + slope * x)
    s2 = residuals @ residuals / (n - 2)
    sxx = ((x - x.mean()) ** 2).sum()
    mid = intercept + slope * 30
    half = stats.t.ppf(0.975, n - 2) * np.sqrt(s2 * (1 + 1 / n + (30 - x.mean()) ** 2 / sxx))
    total = ((y - y.mean()) ** 2).sum()
    return {
        "history_days": n,
        "subscriber_count": int(y[-1]),
        "subscribers_per_day": slope,
        "subscribers_per_day_stderr": np.sqrt(s2 / sxx),
        "r_squared": 1 - (residuals @ residuals) / total if total else None,
        "projected_subscribers_30d": mid,
        "projected_subscribers_30d_low": mid - half,
        "projected_subscribers_30d_high": mid + half,
    }


def _run(warehouse: PostgresWarehouse, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [channel_projections, channel_projections_checks],
        partition_key=DAY.isoformat(),
        resources={"warehouse": warehouse},
        instance=instance,
        raise_on_error=False,
    )


def test_projections_equal_the_textbook_line_and_interval(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    _seed(warehouse)

    result = _run(warehouse, instance)

    assert result.success and failed(evaluations(result)) == {}
    rows = {
        (r["game_key"], r["channel_id"]): r
        for r in warehouse.fetch_dicts("SELECT * FROM channel_projections")
    }
    assert set(rows) == {("fortnite", c) for c in ("fast", "short", "flat", "hidden")} | {
        ("minecraft", "long")
    }
    snapshots = warehouse.fetch_dicts("SELECT * FROM channel_snapshots")
    for key in (("fortnite", "fast"), ("minecraft", "long")):
        expected = _expected(snapshots, *key)
        for column, value in expected.items():
            assert rows[key][column] == pytest.approx(value, rel=1e-6), (key, column)
    assert rows[("fortnite", "fast")]["history_days"] == 20
    assert rows[("minecraft", "long")]["history_days"] == 30
    # fast grows 50 a day: the line says about that, and the interval holds the next month.
    assert rows[("fortnite", "fast")]["subscribers_per_day"] == pytest.approx(50, abs=2)
    # 13 days: no projection; one count for 15 days: a flat line, a zero-width interval.
    short = rows[("fortnite", "short")]
    assert (short["history_days"], short["projected_subscribers_30d"]) == (13, None)
    assert short["subscriber_count"] == 300
    flat = rows[("fortnite", "flat")]
    assert flat["history_days"] == 15 and flat["r_squared"] is None
    assert flat["projected_subscribers_30d"] == pytest.approx(777)
    assert flat["projected_subscribers_30d_high"] == pytest.approx(777)
    hidden = rows[("fortnite", "hidden")]
    assert (hidden["history_days"], hidden["subscriber_count"]) == (0, None)


def test_the_check_catches_a_projection_outside_its_interval(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    _seed(warehouse)
    assert _run(warehouse, instance).success
    with warehouse.connection() as conn:
        conn.execute(
            "UPDATE channel_projections SET projected_subscribers_30d = 1e9"
            " WHERE channel_id = 'fast'"
        )
        conn.execute(
            "UPDATE channel_projections SET projected_subscribers_30d = 1"
            " WHERE channel_id = 'short'"
        )

    result = dg.materialize(
        [channel_projections, channel_projections_checks],
        selection=dg.AssetSelection.checks(channel_projections_checks),
        resources={"warehouse": warehouse},
        instance=instance,
        tags={"dagster/partition": DAY.isoformat()},
        raise_on_error=False,
    )

    assert failed(evaluations(result)) == {"channel_projections_are_consistent": 2}
