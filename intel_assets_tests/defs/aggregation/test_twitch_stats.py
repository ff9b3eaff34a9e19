from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import time_machine

from intel_assets.catalog import load_catalog
from intel_assets.contracts.tables import (
    DAILY_STATS_COLUMNS,
    HOURLY_STATS_COLUMNS,
    MONTHLY_STATS_COLUMNS,
    TOP_STREAMER_COLUMNS,
)
from intel_assets.defs.aggregation.twitch_checks import (
    twitch_game_stats_checks,
    twitch_game_stats_monthly_checks,
)
from intel_assets.defs.aggregation.twitch_stats import twitch_game_stats, twitch_game_stats_monthly
from intel_assets.defs.collection.assets import COLLECTION_ID_TAG, CollectionPolicy, twitch_streams
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Simulator
from intel_assets_tests.defs.aggregation.twitch_oracle import assert_same_rows, expected_day
from intel_assets_tests.defs.check_results import evaluations, failed
from intel_assets_tests.defs.collection.conftest import api_resources
from intel_assets_tests.defs.snapshot_rows import insert_streams

DAY = date(2026, 3, 4)
D0 = datetime(2026, 3, 4, tzinfo=UTC)
STATS_FLOATS = ["hours_watched", "hours_streamed", "avg_viewers", "avg_channels", "viewer_ratio"]
STATS_INTS = [
    "peak_viewers",
    "peak_channels",
    "unique_streamers",
    "snapshot_count",
    "collection_count",
]
CHECK_NAMES = {
    "twitch_game_stats_has_no_negative_values",
    "twitch_game_stats_hours_agree_with_averages",
    "twitch_game_stats_cover_every_game_and_snapshot",
    "twitch_game_stats_peak_is_at_least_average",
}


def _at(hours: float) -> datetime:
    return D0 + timedelta(hours=hours)


def _run(
    warehouse: PostgresWarehouse,
    instance: dg.DagsterInstance,
    *,
    key: str | None = None,
    first: str | None = None,
    last: str | None = None,
    assets: list[Any] | None = None,
) -> dg.ExecuteInProcessResult:
    tags = (
        {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
        if first and last
        else None
    )
    result = dg.materialize(
        assets or [twitch_game_stats, twitch_game_stats_checks],
        partition_key=key,
        resources={"warehouse": warehouse, "collection_policy": CollectionPolicy()},
        instance=instance,
        tags=tags,
        raise_on_error=False,
    )
    assert result.success
    return result


def _stored(warehouse: PostgresWarehouse, table: str, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = warehouse.fetch_frame(f"SELECT * FROM {table}".encode())
    frame = frame[list(columns)]
    for column in ("hour_start",):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _snapshots(warehouse: PostgresWarehouse) -> pd.DataFrame:
    frame = warehouse.fetch_frame(
        b"SELECT game_key, stream_id, user_id, user_login, user_name, collected_at, viewer_count"
        b" FROM stream_snapshots"
    )
    frame["collected_at"] = pd.to_datetime(frame["collected_at"], utc=True)
    return frame


def _games() -> list[str]:
    return list(load_catalog().keys)


def _compare_day(warehouse: PostgresWarehouse, day: date, snapshots: pd.DataFrame) -> None:
    daily, hourly, top = expected_day(snapshots, _games(), day)
    stored_daily = _stored(warehouse, "twitch_game_stats", DAILY_STATS_COLUMNS)
    stored_daily = stored_daily[stored_daily["day"] == day]
    assert_same_rows(stored_daily, daily, ["game_key"], STATS_FLOATS, STATS_INTS)
    start = pd.Timestamp(day, tz="UTC")
    stored_hourly = _stored(warehouse, "twitch_game_stats_hourly", HOURLY_STATS_COLUMNS)
    stored_hourly = stored_hourly[
        (stored_hourly["hour_start"] >= start)
        & (stored_hourly["hour_start"] < start + pd.Timedelta(days=1))
    ]
    assert_same_rows(stored_hourly, hourly, ["game_key", "hour_start"], STATS_FLOATS, STATS_INTS)
    stored_top = _stored(warehouse, "twitch_game_top_streamers", TOP_STREAMER_COLUMNS)
    stored_top = stored_top[stored_top["day"] == day]
    assert_same_rows(
        stored_top,
        top,
        ["game_key", "rank", "user_id", "user_login", "user_name"],
        ["hours_watched", "hours_streamed", "avg_viewers"],
        ["peak_viewers"],
    )


def _stream(stream: str, user: str, at: datetime, viewers: int, game: str = "fortnite") -> dict:
    return dict(stream_id=stream, user_id=user, user_login=f"{user}_login",
                user_name=f"{user} name", game_key=game, collected_at=at,
                viewer_count=viewers)  # fmt: skip


def _fortnite_collections() -> list[datetime]:
    """Every 30 minutes, but none from 10:30 to 11:30 (a 2 h gap), 14:30 collected late at
    14:41 and 18:30 early at 18:19."""
    times = [_at(k / 2) for k in range(48)]
    missing = {_at(10.5), _at(11), _at(11.5), _at(14.5), _at(18.5)}
    return sorted([t for t in times if t not in missing] + [_at(14 + 41 / 60), _at(18 + 19 / 60)])


def _seed_edge_cases(warehouse: PostgresWarehouse) -> None:
    rows = []
    collections = _fortnite_collections()
    for index, at in enumerate(collections):
        rows.append(_stream("all-day", "ua", at, 100 + 3 * index))  # live all day
        if _at(5) <= at <= _at(9):
            rows.append(_stream("starts-5-ends-9", "ub", at, 50))
        if _at(8) <= at <= _at(13):
            rows.append(_stream("zero", "uz", at, 0))  # 0 viewers, across the gap
        if at <= _at(1):
            rows.append(_stream("from-yesterday", "up", at, 20))
        if at >= _at(22):
            rows.append(_stream("into-tomorrow", "un", at, 70))
        if _at(2) <= at <= _at(3):
            rows.append(_stream("restart-1", "ur", at, 10))
        if _at(20) <= at <= _at(21):
            rows.append(_stream("restart-2", "ur", at, 15))  # the same streamer again
        if at in (_at(12), _at(12.5)):
            # 150 small streams: one collection holds more than a page of 100.
            rows += [_stream(f"crowd-{n}", f"uc{n}", at, n % 7) for n in range(150)]
    # The previous and next days' snapshots of the streams crossing midnight.
    rows += [_stream("from-yesterday", "up", _at(-1), 20), _stream("from-yesterday", "up",
             _at(-0.5), 20)]  # fmt: skip
    rows += [_stream("into-tomorrow", "un", _at(24), 70), _stream("into-tomorrow", "un",
             _at(24.5), 75)]  # fmt: skip
    # Minecraft, worked out by hand in the test; tetris is not in the catalog.
    rows += [
        _stream("m1", "mc", _at(9), 40, "minecraft"),
        _stream("m1", "mc", _at(9.5), 60, "minecraft"),
        _stream("m1", "mc", _at(10.5), 80, "minecraft"),
        _stream("t1", "tt", _at(6), 5, "tetris"),
    ]
    insert_streams(warehouse, rows)


def test_a_day_of_edge_cases_equals_an_independent_pandas_computation(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    _seed_edge_cases(warehouse)

    result = _run(warehouse, instance, key="2026-03-04")

    _compare_day(warehouse, DAY, _snapshots(warehouse))
    # Minecraft by hand: 40 for 30 min, 60 for 30 min (the next snapshot is 1 h later: capped
    # at I), 80 for I/2 as the last: 20 + 30 + 20 = 70 hours watched over 1.25 hours streamed.
    stored = _stored(warehouse, "twitch_game_stats", DAILY_STATS_COLUMNS)
    rows = {str(r["game_key"]): r for r in stored.to_dict("records")}
    minecraft = rows["minecraft"]
    assert minecraft["hours_watched"] == pytest.approx(70.0)
    assert minecraft["hours_streamed"] == pytest.approx(1.25)
    assert minecraft["avg_viewers"] == pytest.approx(70.0 / 24)
    assert minecraft["viewer_ratio"] == pytest.approx(56.0)
    assert (minecraft["peak_viewers"], minecraft["peak_channels"]) == (80, 1)
    # A tracked game with no snapshots: zeros and no ratio; an untracked one is kept.
    valorant = rows["valorant"]
    assert [valorant[c] for c in ("hours_watched", "avg_viewers", "peak_viewers")] == [0, 0, 0]
    assert valorant["unique_streamers"] == 0
    assert pd.isna(valorant["viewer_ratio"])
    assert set(rows) == set(_games()) | {"tetris"}
    # Fortnite: the restarted streamer counts once; 150 crowd streams + the 5 others.
    assert rows["fortnite"]["unique_streamers"] == 150 + 6
    hourly = _stored(warehouse, "twitch_game_stats_hourly", HOURLY_STATS_COLUMNS)
    assert len(hourly) == 24 * len(rows)
    metadata = result.asset_materializations_for_node("twitch_game_stats")[0].metadata
    assert metadata["games_not_in_catalog"].value == 1
    checks = evaluations(result)
    assert set(checks) == CHECK_NAMES
    assert failed(checks) == {}


def test_rerunning_a_day_gives_identical_rows(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    _seed_edge_cases(warehouse)
    _run(warehouse, instance, key="2026-03-04")
    tables = {
        "twitch_game_stats": DAILY_STATS_COLUMNS,
        "twitch_game_stats_hourly": HOURLY_STATS_COLUMNS,
        "twitch_game_top_streamers": TOP_STREAMER_COLUMNS,
    }
    first = {t: _stored(warehouse, t, c) for t, c in tables.items()}
    with warehouse.connection() as conn:
        conn.execute("UPDATE twitch_game_stats SET hours_watched = hours_watched + 1")
        conn.execute("DELETE FROM twitch_game_top_streamers WHERE rank = 1")
    _run(warehouse, instance, key="2026-03-04")
    for table, columns in tables.items():
        keys = [c for c in columns if c in ("game_key", "day", "hour_start", "rank")]
        again = _stored(warehouse, table, columns).sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(again, first[table].sort_values(keys).reset_index(drop=True))


def _random_week(warehouse: PostgresWarehouse, first_day: date, days: int) -> None:
    """Streams of three games coming and going over `days` days, collected every 30 minutes
    with jitter and the odd missed collection."""
    rng = np.random.default_rng(19)
    rows = []
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    for game in ("fortnite", "minecraft", "gta"):
        at = start + timedelta(minutes=int(rng.integers(0, 30)))
        live: dict[str, int] = {}
        counter = 0
        while at < start + timedelta(days=days):
            for stream in list(live):
                if rng.random() < 0.08:
                    del live[stream]
            for _ in range(int(rng.integers(0, 4))):
                counter += 1
                live[f"{game}-{counter}"] = int(rng.integers(0, 30))
            if rng.random() > 0.1:  # one collection in ten is missed
                for stream, user in live.items():
                    rows.append(_stream(stream, f"u{user}", at, int(rng.integers(0, 500)), game))
            at += timedelta(minutes=30 + int(rng.integers(-8, 9)))
    insert_streams(warehouse, rows)


def test_a_week_in_one_range_run_equals_day_by_day_runs_and_pandas(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    first_day = date(2026, 3, 9)
    _random_week(warehouse, first_day, 7)
    tables = {
        "twitch_game_stats": DAILY_STATS_COLUMNS,
        "twitch_game_stats_hourly": HOURLY_STATS_COLUMNS,
        "twitch_game_top_streamers": TOP_STREAMER_COLUMNS,
    }

    result = _run(warehouse, instance, first="2026-03-09", last="2026-03-15")
    assert len(result.get_asset_materialization_events()) == 7
    assert failed(evaluations(result)) == {}
    ranged = {t: _stored(warehouse, t, c) for t, c in tables.items()}
    with warehouse.connection() as conn:
        for table in tables:
            conn.execute(f"DELETE FROM {table}".encode())
    for n in range(7):
        _run(warehouse, instance, key=(first_day + timedelta(days=n)).isoformat())
    snapshots = _snapshots(warehouse)
    for table, columns in tables.items():
        keys = [c for c in columns if c in ("game_key", "day", "hour_start", "rank")]
        daily = _stored(warehouse, table, columns).sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(daily, ranged[table].sort_values(keys).reset_index(drop=True))
    assert len(ranged["twitch_game_stats"]) == 7 * len(_games())
    for n in range(7):
        _compare_day(warehouse, first_day + timedelta(days=n), snapshots)


def test_a_month_rolls_up_its_days_and_counts_streamers_over_the_month(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    # February 2026: 28 days, 672 hours; data on three days, the rest are days without streams.
    _random_week(warehouse, date(2026, 2, 10), 3)
    _run(warehouse, instance, first="2026-02-01", last="2026-02-28")

    result = _run(
        warehouse,
        instance,
        key="2026-02-01",
        assets=[twitch_game_stats_monthly, twitch_game_stats_monthly_checks],
    )

    assert failed(evaluations(result)) == {}
    snapshots = _snapshots(warehouse)
    days = [expected_day(snapshots, _games(), date(2026, 2, d))[0] for d in range(1, 29)]
    by_day = pd.concat(days)
    expected = by_day.groupby("game_key").agg(
        hours_watched=("hours_watched", "sum"),
        hours_streamed=("hours_streamed", "sum"),
        peak_viewers=("peak_viewers", "max"),
        peak_channels=("peak_channels", "max"),
        snapshot_count=("snapshot_count", "sum"),
        days_covered=("day", "size"),
    )
    expected["unique_streamers"] = (
        snapshots.groupby("game_key")["user_id"].nunique().reindex(expected.index).fillna(0)
    )
    expected["avg_viewers"] = expected["hours_watched"] / 672
    expected["avg_channels"] = expected["hours_streamed"] / 672
    expected["viewer_ratio"] = (expected["hours_watched"] / expected["hours_streamed"]).where(
        expected["hours_streamed"] > 0
    )
    stored = _stored(warehouse, "twitch_game_stats_monthly", MONTHLY_STATS_COLUMNS)
    assert set(stored["month"]) == {date(2026, 2, 1)}
    assert_same_rows(
        stored,
        expected.reset_index(),
        ["game_key"],
        STATS_FLOATS,
        ["peak_viewers", "peak_channels", "unique_streamers", "snapshot_count", "days_covered"],
    )
    # The month's streamers are fewer than the sum of its days' (the same streamer, many days).
    month = {r["game_key"]: r for r in stored.to_dict("records")}
    fortnite_days = by_day[by_day["game_key"] == "fortnite"]
    assert 0 < month["fortnite"]["unique_streamers"] < fortnite_days["unique_streamers"].sum()


def test_the_checks_catch_a_damaged_row(warehouse: PostgresWarehouse, instance: dg.DagsterInstance):
    _seed_edge_cases(warehouse)
    _run(warehouse, instance, key="2026-03-04")
    with warehouse.connection() as conn:
        conn.execute(
            "UPDATE twitch_game_stats SET avg_viewers = avg_viewers * 2, peak_viewers = 1"
            " WHERE game_key = 'fortnite'"
        )
        # The tables refuse negative values, but Postgres holds NaN as larger than any number.
        conn.execute(
            "UPDATE twitch_game_stats_hourly SET hours_watched = 'NaN'"
            " WHERE game_key = 'minecraft' AND hour_start = %s",
            (_at(9),),
        )
        conn.execute("DELETE FROM twitch_game_stats WHERE game_key = 'roblox'")

    # Run alone on the day, tagged as the UI tags a run of one partition.
    result = dg.materialize(
        [twitch_game_stats, twitch_game_stats_checks],
        selection=dg.AssetSelection.checks(twitch_game_stats_checks),
        resources={"warehouse": warehouse, "collection_policy": CollectionPolicy()},
        instance=instance,
        tags={"dagster/partition": "2026-03-04"},
        raise_on_error=False,
    )

    found = failed(evaluations(result))
    assert set(found) == CHECK_NAMES
    assert found["twitch_game_stats_has_no_negative_values"] == 1
    assert found["twitch_game_stats_cover_every_game_and_snapshot"] == 1  # roblox's day
    # fortnite: avg_viewers x 24, peak against the hours; minecraft: its hours, avg, ratio.
    assert found["twitch_game_stats_hours_agree_with_averages"] >= 3
    assert found["twitch_game_stats_peak_is_at_least_average"] == 1


def test_paged_collections_from_the_simulator_equal_pandas(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier, instance: dg.DagsterInstance
):
    # Collected through the real client and asset: each collection pages through every live
    # stream of the game (100 a page); one is late, one early, and 10:31 to 12:00 is a gap.
    times = [_at(9), _at(9.5), _at(10 + 7 / 60), _at(10 + 31 / 60), _at(12), _at(12.5)]
    instance.add_dynamic_partitions("games", ["fortnite"])
    with Simulator(seed=19, twitch_streamers_per_category=9000).running() as simulator:
        resources = api_resources(simulator, warehouse, hot_tier)
        for n, at in enumerate(times):
            simulator.set_clock(at)
            with time_machine.travel(at, tick=False):
                collected = dg.materialize(
                    [twitch_streams],
                    partition_key="fortnite",
                    resources=resources,
                    instance=instance,
                    tags={COLLECTION_ID_TAG: f"fortnite:tw:{n}"},
                )
            assert collected.success

    snapshots = _snapshots(warehouse)
    per_collection = snapshots.groupby("collected_at").size()
    assert len(per_collection) == len(times)
    assert (per_collection > 100).all(), per_collection  # more than one page each
    _run(warehouse, instance, key="2026-03-04")
    _compare_day(warehouse, DAY, snapshots)
    stored = _stored(warehouse, "twitch_game_stats", DAILY_STATS_COLUMNS).set_index("game_key")
    assert stored.loc["fortnite", "peak_channels"] == per_collection.max()
