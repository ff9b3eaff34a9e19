"""The Twitch statistics worked out in pandas from the snapshots, independently of the SQL.

Each figure follows the issue's words: a snapshot stands for min(t_next - t, I), t_next the
same stream's next snapshot in the same game on the same UTC day, else I / 2; averages divide
by the hours of the period; peaks are the largest collection; ratios are NaN without streams.
"""

from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
import pandas as pd

INTERVAL = timedelta(minutes=30)


def weighted(snapshots: pd.DataFrame, day: date, interval: timedelta = INTERVAL) -> pd.DataFrame:
    """The day's snapshots with `hours` (the time each stands for) and `watched`."""
    start = pd.Timestamp(day, tz="UTC")
    collected = pd.to_datetime(snapshots["collected_at"], utc=True)
    inside = snapshots[(collected >= start) & (collected < start + pd.Timedelta(days=1))].copy()
    inside["collected_at"] = pd.to_datetime(inside["collected_at"], utc=True)
    inside = inside.sort_values(["game_key", "stream_id", "collected_at"])
    following = inside.groupby(["game_key", "stream_id"])["collected_at"].shift(-1)
    gap = (following - inside["collected_at"]).dt.total_seconds()
    seconds = interval.total_seconds()
    inside["hours"] = np.where(gap.isna(), seconds / 2, np.minimum(gap, seconds)) / 3600.0
    inside["watched"] = inside["viewer_count"].astype(float) * inside["hours"]
    inside["hour_start"] = inside["collected_at"].dt.floor("h")
    return inside


def _stats(
    rows: pd.DataFrame, keys: list[str], index: pd.MultiIndex, period_hours: float
) -> pd.DataFrame:
    sums = rows.groupby(keys).agg(
        hours_watched=("watched", "sum"),
        hours_streamed=("hours", "sum"),
        unique_streamers=("user_id", "nunique"),
        snapshot_count=("stream_id", "size"),
    )
    per_collection = rows.groupby([*keys, "collected_at"]).agg(
        viewers=("viewer_count", "sum"), streams=("stream_id", "size")
    )
    peaks = per_collection.groupby(level=keys).agg(
        peak_viewers=("viewers", "max"),
        peak_channels=("streams", "max"),
        collection_count=("viewers", "size"),
    )
    frame = sums.join(peaks).reindex(index).fillna(0)
    frame["avg_viewers"] = frame["hours_watched"] / period_hours
    frame["avg_channels"] = frame["hours_streamed"] / period_hours
    frame["viewer_ratio"] = (frame["hours_watched"] / frame["hours_streamed"]).where(
        frame["hours_streamed"] > 0
    )
    for column in (
        "peak_viewers",
        "peak_channels",
        "unique_streamers",
        "snapshot_count",
        "collection_count",
    ):
        frame[column] = frame[column].astype("int64")
    return frame.reset_index()


def expected_day(
    snapshots: pd.DataFrame, games: Iterable[str], day: date, interval: timedelta = INTERVAL
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The day's rows, its hourly rows and its top-10 streamers, as the issue defines them."""
    rows = weighted(snapshots, day, interval)
    every_game = sorted(set(games) | set(rows["game_key"]))
    daily = _stats(
        rows.assign(day=day),
        ["game_key", "day"],
        pd.MultiIndex.from_product([every_game, [day]], names=["game_key", "day"]),
        24.0,
    )
    hours = pd.date_range(pd.Timestamp(day, tz="UTC"), periods=24, freq="h")
    hourly = _stats(
        rows,
        ["game_key", "hour_start"],
        pd.MultiIndex.from_product([every_game, hours], names=["game_key", "hour_start"]),
        1.0,
    )
    latest = rows.sort_values("collected_at").groupby(["game_key", "user_id"]).last()
    per_user = rows.groupby(["game_key", "user_id"]).agg(
        hours_watched=("watched", "sum"),
        hours_streamed=("hours", "sum"),
        peak_viewers=("viewer_count", "max"),
    )
    per_user["user_login"] = latest["user_login"]
    per_user["user_name"] = latest["user_name"]
    per_user["avg_viewers"] = per_user["hours_watched"] / per_user["hours_streamed"]
    per_user = per_user.reset_index().sort_values(
        ["game_key", "hours_watched", "hours_streamed", "user_id"],
        ascending=[True, False, False, True],
    )
    per_user["rank"] = per_user.groupby("game_key").cumcount() + 1
    top = per_user[per_user["rank"] <= 10].assign(day=day).reset_index(drop=True)
    return daily, hourly, top


def assert_same_rows(
    stored: pd.DataFrame,
    expected: pd.DataFrame,
    keys: list[str],
    floats: list[str],
    ints: list[str],
) -> None:
    """Equal keys, floats within 1e-6 relative (NaN where NaN), integers exactly."""
    left = stored.sort_values(keys).reset_index(drop=True)
    right = expected.sort_values(keys).reset_index(drop=True)
    assert len(left) == len(right), (len(left), len(right))
    for key in keys:
        assert list(left[key]) == list(right[key]), key
    for column in floats:
        got = pd.to_numeric(left[column], errors="coerce").to_numpy(dtype=float)
        want = right[column].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(got), np.isnan(want)), column
        ok = np.isnan(want) | np.isclose(got, want, rtol=1e-6, atol=0)
        assert ok.all(), (column, left[~ok].head(), right[~ok].head())
    for column in ints:
        assert [int(v) for v in left[column]] == [int(v) for v in right[column]], column
