from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest

from intel_assets.defs.aggregation.broadcaster_checks import twitch_broadcaster_growth_checks
from intel_assets.defs.aggregation.broadcaster_growth import (
    BROADCASTER_GROWTH_COLUMNS,
    twitch_broadcaster_growth,
)
from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.aggregation.twitch_oracle import assert_same_rows, weighted
from intel_assets_tests.defs.check_results import evaluations, failed
from intel_assets_tests.defs.snapshot_rows import insert_streams

DAY = date(2026, 3, 20)
D0 = datetime(2026, 3, 20, tzinfo=UTC)
CHANGES = [f"{f}_change_{d}d" for f in ("hours_streamed", "hours_watched", "avg_viewers")
           for d in (1, 7, 30)]  # fmt: skip
FLOATS = ["hours_streamed", "hours_watched", "avg_viewers", *CHANGES]
INTS = ["peak_viewers", "snapshot_count", "rank_hours_watched"]
CHECK_NAMES = {
    "twitch_broadcaster_growth_is_consistent",
    "twitch_broadcaster_growth_covers_every_broadcaster",
}


def _at(days: float, hours: float) -> datetime:
    return D0 + timedelta(days=days, hours=hours)


def _stream(stream: str, user: str, at: datetime, viewers: int, game: str = "fortnite",
            login: str | None = None) -> dict:  # fmt: skip
    return dict(stream_id=stream, user_id=user, user_login=login or f"{user}_login",
                user_name=f"{user} name", game_key=game, collected_at=at,
                viewer_count=viewers)  # fmt: skip


def _every_half_hour(days: float, first: float, last: float) -> list[datetime]:
    return [_at(days, first + k / 2) for k in range(int((last - first) * 2) + 1)]


def _seed(warehouse: PostgresWarehouse) -> None:
    rows = []
    # ua: 100 viewers 10:00-12:00 today, 40 for 10:00-11:00 yesterday, 10 a week ago.
    rows += [_stream("a-today", "ua", t, 100) for t in _every_half_hour(0, 10, 12)]
    rows += [_stream("a-yesterday", "ua", t, 40) for t in _every_half_hour(-1, 10, 11)]
    rows += [_stream("a-week", "ua", t, 10) for t in _every_half_hour(-7, 10, 12)]
    # ub: a stream at 0 viewers, then another stream late in the day under a new login.
    rows += [_stream("b-zero", "ub", t, 0) for t in _every_half_hour(0, 20, 21)]
    rows += [_stream("b-late", "ub", t, 30, login="ub_new") for t in (_at(0, 23), _at(0, 23.5))]
    # uc streamed yesterday only: no row today.
    rows += [_stream("c-yesterday", "uc", t, 500) for t in _every_half_hour(-1, 14, 15)]
    # minecraft: collected today and 30 days ago only (no 1- or 7-day change).
    rows += [_stream("m", "um", _at(0, 9), 40, "minecraft"),
             _stream("m", "um", _at(0, 9.5), 60, "minecraft"),
             _stream("m", "um", _at(0, 10.5), 80, "minecraft"),
             _stream("m-old", "um", _at(-30, 9), 10, "minecraft")]  # fmt: skip
    insert_streams(warehouse, rows)


def _run(
    warehouse: PostgresWarehouse,
    instance: dg.DagsterInstance,
    key: str | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [twitch_broadcaster_growth, twitch_broadcaster_growth_checks],
        partition_key=key,
        resources={"warehouse": warehouse, "collection_policy": CollectionPolicy()},
        instance=instance,
        tags=tags,
        raise_on_error=False,
    )
    assert result.success
    return result


def _stored(warehouse: PostgresWarehouse) -> pd.DataFrame:
    frame = warehouse.fetch_frame(b"SELECT * FROM twitch_broadcaster_growth")
    return frame[list(BROADCASTER_GROWTH_COLUMNS)]


def _snapshots(warehouse: PostgresWarehouse) -> pd.DataFrame:
    frame = warehouse.fetch_frame(
        b"SELECT game_key, stream_id, user_id, user_login, user_name, collected_at, viewer_count"
        b" FROM stream_snapshots"
    )
    frame["collected_at"] = pd.to_datetime(frame["collected_at"], utc=True)
    return frame


def _per_broadcaster(snapshots: pd.DataFrame, day: date) -> pd.DataFrame:
    rows = weighted(snapshots, day).sort_values(["collected_at", "stream_id"])
    figures = rows.groupby(["game_key", "user_id"]).agg(
        hours_streamed=("hours", "sum"),
        hours_watched=("watched", "sum"),
        peak_viewers=("viewer_count", "max"),
        snapshot_count=("stream_id", "size"),
        user_login=("user_login", "last"),
        user_name=("user_name", "last"),
    )
    figures["avg_viewers"] = figures["hours_watched"] / figures["hours_streamed"]
    return figures


def _expected(snapshots: pd.DataFrame, day: date) -> pd.DataFrame:
    """The definitions in pandas: changes against each earlier day, ranks per game."""
    now = _per_broadcaster(snapshots, day)
    for days in (1, 7, 30):
        before = _per_broadcaster(snapshots, day - timedelta(days=days))
        collected = now.index.get_level_values("game_key").isin(
            before.index.get_level_values("game_key")
        )
        earlier = before.reindex(now.index)
        for figure in ("hours_streamed", "hours_watched"):
            change = now[figure] - earlier[figure].fillna(0)
            now[f"{figure}_change_{days}d"] = change.where(collected)
        now[f"avg_viewers_change_{days}d"] = (now["avg_viewers"] - earlier["avg_viewers"]).where(
            collected
        )
    now = now.reset_index()
    now["rank_hours_watched"] = (
        now.sort_values(["hours_watched", "hours_streamed", "user_id"],
                        ascending=[False, False, True]).groupby("game_key").cumcount() + 1
    )  # fmt: skip
    return now


def test_a_day_of_broadcasters_equals_an_independent_pandas_computation(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    _seed(warehouse)

    result = _run(warehouse, instance, key=DAY.isoformat())

    assert failed(evaluations(result)) == {}
    assert set(evaluations(result)) == CHECK_NAMES
    stored = _stored(warehouse)
    expected = _expected(_snapshots(warehouse), DAY)
    assert_same_rows(
        stored, expected, ["game_key", "user_id", "user_login", "user_name"], FLOATS, INTS
    )
    rows = {r["user_id"]: r for r in stored.to_dict("records")}
    assert set(rows) == {"ua", "ub", "um"}  # uc did not stream today
    # ua by hand: 5 snapshots, 4 x 30 min + 15 min = 2.25 h at 100 viewers; yesterday 1.25 h
    # at 40 (50 hours watched); a week ago 2.25 h at 10; fortnite not collected 30 days ago.
    ua = rows["ua"]
    assert (ua["hours_streamed"], ua["hours_watched"], ua["avg_viewers"]) == (2.25, 225.0, 100.0)
    assert (ua["hours_streamed_change_1d"], ua["hours_watched_change_1d"]) == (1.0, 175.0)
    assert ua["avg_viewers_change_1d"] == 60.0
    assert (ua["hours_streamed_change_7d"], ua["hours_watched_change_7d"]) == (0.0, 202.5)
    assert pd.isna(ua["hours_watched_change_30d"])
    # ub: 1.25 h at 0 viewers, then 0.75 h at 30: 22.5 hours watched over 2 h; no stream a
    # week ago, so the whole day is the change and the average's change is unknown.
    ub = rows["ub"]
    assert (ub["hours_streamed"], ub["hours_watched"], ub["peak_viewers"]) == (2.0, 22.5, 30)
    assert ub["user_login"] == "ub_new"
    assert ub["hours_watched_change_7d"] == 22.5 and pd.isna(ub["avg_viewers_change_7d"])
    # um: 1.25 h and 70 hours watched; 30 days ago 0.25 h at 10.
    um = rows["um"]
    assert um["hours_watched_change_30d"] == pytest.approx(67.5)
    assert um["avg_viewers_change_30d"] == pytest.approx(56.0 - 10.0)
    assert pd.isna(um["hours_watched_change_1d"]) and pd.isna(um["hours_watched_change_7d"])
    assert (ua["rank_hours_watched"], ub["rank_hours_watched"]) == (1, 2)
    assert (ua["rank_7d_hours_watched"], ub["rank_7d_hours_watched"]) == (1, 2)
    assert pd.isna(um["rank_7d_hours_watched"])


def test_a_range_run_equals_day_by_day_runs(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    _seed(warehouse)
    first, last = DAY - timedelta(days=1), DAY
    _run(
        warehouse,
        instance,
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
    )
    ranged = _stored(warehouse).sort_values(["day", "game_key", "user_id"], ignore_index=True)
    with warehouse.connection() as conn:
        conn.execute("DELETE FROM twitch_broadcaster_growth")
    for day in (first, last):
        _run(warehouse, instance, key=day.isoformat())
    by_day = _stored(warehouse).sort_values(["day", "game_key", "user_id"], ignore_index=True)

    pd.testing.assert_frame_equal(by_day, ranged)
    assert set(ranged["day"]) == {first, last}
    yesterday = ranged[ranged["day"] == first]
    snapshots = _snapshots(warehouse)
    assert_same_rows(yesterday, _expected(snapshots, first), ["game_key", "user_id"], FLOATS, INTS)


def test_the_checks_catch_damaged_rows(warehouse: PostgresWarehouse, instance: dg.DagsterInstance):
    _seed(warehouse)
    _run(warehouse, instance, key=DAY.isoformat())
    with warehouse.connection() as conn:
        conn.execute(
            "UPDATE twitch_broadcaster_growth SET avg_viewers = avg_viewers * 2"
            " WHERE user_id = 'ua'"
        )
        conn.execute("UPDATE twitch_broadcaster_growth SET snapshot_count = 9 WHERE user_id = 'um'")
        conn.execute("DELETE FROM twitch_broadcaster_growth WHERE user_id = 'ub'")

    result = dg.materialize(
        [twitch_broadcaster_growth, twitch_broadcaster_growth_checks],
        selection=dg.AssetSelection.checks(twitch_broadcaster_growth_checks),
        resources={"warehouse": warehouse, "collection_policy": CollectionPolicy()},
        instance=instance,
        tags={"dagster/partition": DAY.isoformat()},
        raise_on_error=False,
    )

    found = failed(evaluations(result))
    # ua: average x hours is off and above the peak; fortnite's ranks are now 1 alone (fine).
    assert found["twitch_broadcaster_growth_is_consistent"] == 2
    # ub's row is missing and um's snapshot count is wrong.
    assert found["twitch_broadcaster_growth_covers_every_broadcaster"] == 2
