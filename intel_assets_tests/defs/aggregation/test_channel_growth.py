from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from intel_assets.contracts.tables import CHANNEL_GROWTH_COLUMNS
from intel_assets.defs.aggregation.channel_growth import channel_growth
from intel_assets.defs.aggregation.twitch_checks import channel_growth_checks
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.check_results import evaluations, failed
from intel_assets_tests.defs.snapshot_rows import insert_channels

DAY = date(2026, 3, 20)
D0 = datetime(2026, 3, 20, tzinfo=UTC)


def _at(days: float, hours: float = 0) -> datetime:
    return D0 + timedelta(days=days, hours=hours)


def _snapshot(channel: str, game: str, collected: datetime, fetched: datetime | None,
              subscribers: int | None, views: int, videos: int) -> dict[str, Any]:  # fmt: skip
    return dict(channel_id=channel, game_key=game, collected_at=collected, fetched_at=fetched,
                title=f"{channel} title", subscriber_count=subscribers, view_count=views,
                video_count=videos, collection_id=f"{game}:{collected:%Y%m%d%H%M}")  # fmt: skip


def _seed(warehouse: PostgresWarehouse) -> None:
    rows = []
    for k in range(-35, 1):
        fetched = _at(k, 10)
        # c1 grows 10 subscribers a day; each fetch is carried by two collections (the cache).
        for late in (0.1, 1.1):
            rows.append(_snapshot("c1", "fortnite", _at(k, 10 + late), fetched,
                                  1000 + 10 * (k + 35), 50_000 + 700 * (k + 35),
                                  40 + (k + 35) // 7))  # fmt: skip
        # c2 hides its subscribers; its views still grow.
        rows.append(_snapshot("c2", "fortnite", _at(k, 12), _at(k, 12), None, 9_000 + k * k, 12))
        # c5 is seen by both games, with fast relative growth from a small base.
        for game in ("fortnite", "minecraft"):
            rows.append(_snapshot("c5", game, _at(k, 15), _at(k, 14), 50 + 5 * (k + 35),
                                  1_000, 3))  # fmt: skip
    # c3: fetched only today and a week ago (no 1-day or 30-day change).
    rows.append(_snapshot("c3", "fortnite", _at(-7, 9), _at(-7, 9), 200, 100, 1))
    rows.append(_snapshot("c3", "fortnite", _at(0, 9), _at(0, 9), 260, 130, 2))
    # c4: seen today at 00:30 with counts cached from yesterday 23:00: its day is yesterday's.
    rows.append(_snapshot("c4", "minecraft", _at(-2, 22), _at(-2, 22), 500, 10, 1))
    rows.append(_snapshot("c4", "minecraft", _at(-8, 23), _at(-8, 23), 470, 9, 1))
    rows.append(_snapshot("c4", "minecraft", _at(0, 0.5), _at(-1, 23), 530, 12, 1))
    # c6 is not seen today: no row. c7 was written before fetch times were kept (NULL).
    rows.append(_snapshot("c6", "fortnite", _at(-1, 5), _at(-1, 5), 10, 10, 1))
    rows.append(_snapshot("c7", "fortnite", _at(-7, 8), None, 100, 10, 1))
    rows.append(_snapshot("c7", "fortnite", _at(0, 8), None, 90, 10, 1))
    # Tomorrow's fetch of c1 is not part of today.
    rows.append(_snapshot("c1", "fortnite", _at(1, 10), _at(1, 10), 5_000, 1, 1))
    insert_channels(warehouse, rows)


def _expected(snapshots: pd.DataFrame, day: date) -> pd.DataFrame:
    """The issue's definitions over the same rows, in pandas."""
    start = pd.Timestamp(day, tz="UTC")
    end = start + pd.Timedelta(days=1)
    frame = snapshots.copy()
    frame["fetch_time"] = frame["fetched_at"].fillna(frame["collected_at"])
    window = frame[(frame["collected_at"] >= start - pd.Timedelta(days=31))
                   & (frame["collected_at"] < end)]  # fmt: skip
    fetches = window.sort_values(["channel_id", "fetch_time", "collected_at"]).drop_duplicates(
        ["channel_id", "fetch_time"], keep="last"
    )
    fetches = fetches.assign(fetch_day=fetches["fetch_time"].dt.date)
    latest = fetches.groupby("channel_id").last()
    day_last = fetches.groupby(["channel_id", "fetch_day"]).last()
    seen = frame[(frame["collected_at"] >= start) & (frame["collected_at"] < end)]
    rows = []
    for game, channel in sorted(set(zip(seen["game_key"], seen["channel_id"], strict=True))):
        now = latest.loc[channel]
        row: dict[str, Any] = {
            "game_key": game, "channel_id": channel, "title": now["title"],
            "fetched_at": now["fetch_time"], "subscriber_count": now["subscriber_count"],
            "view_count": now["view_count"], "video_count": now["video_count"],
        }  # fmt: skip
        for k in (1, 7, 30):
            key = (channel, now["fetch_day"] - timedelta(days=k))
            before = day_last.loc[key] if key in day_last.index else None
            for count, name in (("subscriber_count", "subscribers"), ("view_count", "views"),
                                ("video_count", "videos")):  # fmt: skip
                earlier = np.nan if before is None else before[count]
                row[f"{name}_change_{k}d"] = now[count] - earlier
            row[f"fetched_at_{k}d"] = None if before is None else before["fetch_time"]
            if k == 7:
                base = np.nan if before is None else before["subscriber_count"]
                row["subscribers_growth_7d"] = (
                    row["subscribers_change_7d"] / base if base and not pd.isna(base) else np.nan
                )
        rows.append(row)
    expected = pd.DataFrame(rows)
    for column, rank in (("subscribers_change_7d", "rank_7d_absolute"),
                         ("subscribers_growth_7d", "rank_7d_relative")):  # fmt: skip
        ranked = expected.dropna(subset=[column]).sort_values(
            ["game_key", column, "channel_id"], ascending=[True, False, True]
        )
        ranked[rank] = ranked.groupby("game_key").cumcount() + 1
        expected[rank] = ranked[rank].reindex(expected.index)
    return expected


def test_a_day_of_channels_equals_an_independent_pandas_computation(
    warehouse: PostgresWarehouse,
):
    _seed(warehouse)

    result = dg.materialize(
        [channel_growth, channel_growth_checks],
        partition_key=DAY.isoformat(),
        resources={"warehouse": warehouse},
    )

    assert result.success
    assert failed(evaluations(result)) == {}
    assert set(evaluations(result)) == {"channel_growth_covers_every_channel_seen"}
    stored = warehouse.fetch_frame(b"SELECT * FROM channel_growth ORDER BY game_key, channel_id")
    stored = stored[list(CHANNEL_GROWTH_COLUMNS)]
    snapshots = warehouse.fetch_frame(b"SELECT * FROM channel_snapshots")
    for column in ("collected_at", "fetched_at"):
        snapshots[column] = pd.to_datetime(snapshots[column], utc=True)
    expected = _expected(snapshots, DAY)
    assert list(zip(stored["game_key"], stored["channel_id"], strict=True)) == list(
        zip(expected["game_key"], expected["channel_id"], strict=True)
    )
    assert set(stored["day"]) == {DAY}
    for column in CHANNEL_GROWTH_COLUMNS[3:]:
        got, want = stored[column].tolist(), expected[column].tolist()
        for g, w in zip(got, want, strict=True):
            if w is None or (not isinstance(w, str) and pd.isna(w)):
                assert g is None or pd.isna(g), column
            elif isinstance(w, float):
                assert g == pytest.approx(w, rel=1e-9), column
            else:
                assert g == w, column
    # By hand: c1 grew 10 a day, 70 a week, 300 in 30 days, fetched today at 10:00; c4's counts
    # are yesterday's (cached), compared with 2 days ago (+30); c7's fetch times are unknown.
    rows = {(r["game_key"], r["channel_id"]): r for r in stored.to_dict("records")}
    c1 = rows[("fortnite", "c1")]
    assert (c1["subscribers_change_1d"], c1["subscribers_change_7d"]) == (10, 70)
    assert c1["subscribers_change_30d"] == 300
    assert c1["fetched_at"] == _at(0, 10)
    assert rows[("minecraft", "c4")]["subscribers_change_1d"] == 30
    assert rows[("minecraft", "c4")]["fetched_at"] == _at(-1, 23)
    assert rows[("fortnite", "c7")]["subscribers_change_7d"] == -10
    assert pd.isna(rows[("fortnite", "c2")]["subscribers_change_7d"])
    assert ("fortnite", "c6") not in rows
    # In a week c3 grew 30% (200 to 260), c5 18% (190 to 225), c4 13% (470 to 530), c1 6%.
    assert rows[("fortnite", "c3")]["rank_7d_relative"] == 1
    assert rows[("fortnite", "c5")]["rank_7d_relative"] == 2
    assert rows[("fortnite", "c1")]["rank_7d_absolute"] == 1  # +70, the most subscribers
    assert rows[("minecraft", "c5")]["rank_7d_relative"] == 1


def test_the_check_catches_a_missing_and_an_extra_channel(warehouse: PostgresWarehouse):
    _seed(warehouse)
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [channel_growth],
            partition_key=DAY.isoformat(),
            resources={"warehouse": warehouse},
            instance=instance,
        ).success
        with warehouse.connection() as conn:
            conn.execute("DELETE FROM channel_growth WHERE channel_id = 'c3'")
            conn.execute("UPDATE channel_growth SET channel_id = 'c6' WHERE channel_id = 'c7'")

        # Run alone on the day, tagged as the UI tags a run of one partition.
        result = dg.materialize(
            [channel_growth, channel_growth_checks],
            selection=dg.AssetSelection.checks(channel_growth_checks),
            resources={"warehouse": warehouse},
            instance=instance,
            tags={"dagster/partition": DAY.isoformat()},
            raise_on_error=False,
        )

    # c3 and c7 are seen without a row; c6 has a row but was not seen that day.
    assert failed(evaluations(result)) == {"channel_growth_covers_every_channel_seen": 3}
