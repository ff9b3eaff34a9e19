"""`twitch_broadcaster_growth[day]`: how each Twitch broadcaster of a game is doing, and its change.

One row per game, UTC day and broadcaster with a stream snapshot in that game that day, in
`twitch_broadcaster_growth`, from `stream_snapshots` with the time-weighting of
`twitch_game_stats` (a snapshot at t stands for min(t_next - t, I), t_next being the same
stream's next snapshot in the same game on the same UTC day, and I / 2 when there is none):

- `hours_streamed`: the sum of the time the broadcaster's snapshots stand for; `hours_watched`:
  the sum of viewers x that time; `avg_viewers` = hours_watched / hours_streamed, the average
  audience while live (as TwitchTracker shows a channel's); `peak_viewers`: the most viewers in
  one snapshot; `user_login` / `user_name` as the day's last snapshot had them;
- `*_change_1d`, `_7d`, `_30d`: the day's figure minus the same broadcaster's in the same game on
  the UTC day 1, 7 or 30 days before, a day without their snapshots counting as 0 hours. NULL
  when the game has no snapshots that earlier day (it was not collected, or retention pruned
  it), since then nobody knows; the average's change is NULL too when they did not stream then;
- per game and day, `rank_hours_watched` (1 watched most; ties by more hours streamed, then user
  id) and `rank_7d_hours_watched` by the 7-day change of hours watched (NULL without one).

What an app token cannot read is left out: follower counts come from `/channels/followers`,
which needs a user token of the broadcaster or a moderator. No projection is made for
broadcasters: their daily hours go up and down with their schedule, so a trend line through
them would say little.
"""

import time
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from intel_assets.contracts.tables import BROADCASTER_GROWTH_COLUMNS
from intel_assets.defs.aggregation.common import markdown_preview
from intel_assets.defs.aggregation.twitch_stats import NEXT_SNAPSHOT_AT, SNAPSHOT_HOURS, day_start
from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.freshness import DAILY_FRESHNESS
from intel_assets.partitions import daily_partitions
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, frame_rows

CHANGE_DAYS: tuple[int, ...] = (1, 7, 30)
"""The days back each change is measured against."""

CHANGED: tuple[str, ...] = ("hours_streamed", "hours_watched", "avg_viewers")
"""The figures whose change is kept."""

_DAY_FIGURES = f"""
WITH weighted AS (
    SELECT game_key, user_id, user_login, user_name, stream_id, collected_at, viewer_count,
        {SNAPSHOT_HOURS} AS hours
    FROM (
        SELECT *, {NEXT_SNAPSHOT_AT} AS next_at
        FROM stream_snapshots WHERE collected_at >= %(start)s AND collected_at < %(end)s
    ) AS day_snapshots
)
SELECT game_key, user_id,
    (array_agg(user_login ORDER BY collected_at DESC, stream_id))[1] AS user_login,
    (array_agg(user_name ORDER BY collected_at DESC, stream_id))[1] AS user_name,
    sum(hours) AS hours_streamed, sum(viewer_count * hours) AS hours_watched,
    max(viewer_count) AS peak_viewers, count(*) AS snapshot_count
FROM weighted GROUP BY game_key, user_id
"""


def day_figures(warehouse: PostgresWarehouse, day: date, interval: timedelta) -> pd.DataFrame:
    """Each broadcaster's hours streamed and watched, peak and snapshots per game on `day`.

    Args:
        warehouse: The warehouse to read.
        day: The UTC day.
        interval: The Twitch collection interval I.
    """
    if interval <= timedelta(0):
        raise ValueError(f"the Twitch collection interval must be positive, not {interval}")
    start = day_start(day)
    params: dict[str, Any] = {
        "start": start,
        "end": start + timedelta(days=1),
        "interval_seconds": interval.total_seconds(),
    }
    with warehouse.connection() as conn, conn.cursor() as cur:
        cur.execute(_DAY_FIGURES, params)
        columns = [d.name for d in cur.description or []]
        frame = pd.DataFrame.from_records(cur.fetchall(), columns=columns)
    frame = frame.reindex(
        columns=["game_key", "user_id", "user_login", "user_name", "hours_streamed",
                 "hours_watched", "peak_viewers", "snapshot_count"]
    )  # fmt: skip
    for column in ("hours_streamed", "hours_watched"):
        frame[column] = frame[column].astype("float64")
    frame["avg_viewers"] = frame["hours_watched"] / frame["hours_streamed"]
    return frame


def growth_rows(figures: dict[date, pd.DataFrame], day: date) -> pd.DataFrame:
    """The `twitch_broadcaster_growth` rows of `day` from the days' figures (`day_figures`).

    Args:
        figures: `day_figures` of `day` and of the days `CHANGE_DAYS` before it.
        day: The UTC day.
    """
    rows = figures[day].copy()
    rows["day"] = day
    for days in CHANGE_DAYS:
        earlier = figures[day - timedelta(days=days)]
        collected = rows["game_key"].isin(set(earlier["game_key"]))
        before = rows[["game_key", "user_id"]].merge(
            earlier[["game_key", "user_id", *CHANGED]], how="left", on=["game_key", "user_id"]
        )
        for figure in ("hours_streamed", "hours_watched"):
            change = rows[figure].to_numpy() - before[figure].fillna(0.0).to_numpy()
            rows[f"{figure}_change_{days}d"] = pd.Series(change, index=rows.index).where(collected)
        average = rows["avg_viewers"].to_numpy() - before["avg_viewers"].to_numpy()
        rows[f"avg_viewers_change_{days}d"] = pd.Series(average, index=rows.index).where(collected)
    return _ranked(rows).reindex(columns=list(BROADCASTER_GROWTH_COLUMNS))


def _ranked(rows: pd.DataFrame) -> pd.DataFrame:
    ordered = rows.sort_values(
        ["game_key", "hours_watched", "hours_streamed", "user_id"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    rows["rank_hours_watched"] = ordered.groupby("game_key").cumcount().reindex(rows.index) + 1
    known = rows[rows["hours_watched_change_7d"].notna()].sort_values(
        ["game_key", "hours_watched_change_7d", "user_id"],
        ascending=[True, False, True],
        kind="stable",
    )
    rank = known.groupby("game_key").cumcount() + 1
    rows["rank_7d_hours_watched"] = rank.reindex(rows.index).astype("Int64")
    return rows.sort_values(["game_key", "rank_hours_watched"], kind="stable")


def compute_broadcaster_growth(
    warehouse: PostgresWarehouse, first: date, end: date, interval: timedelta
) -> pd.DataFrame:
    """The rows of the days `[first, end)`, each earlier day's figures read once."""
    figures: dict[date, pd.DataFrame] = {}
    frames = []
    day = first
    while day < end:
        for needed in (day, *(day - timedelta(days=d) for d in CHANGE_DAYS)):
            if needed not in figures:
                figures[needed] = day_figures(warehouse, needed, interval)
        frames.append(growth_rows(figures, day))
        day += timedelta(days=1)
    if not frames:
        return pd.DataFrame(columns=list(BROADCASTER_GROWTH_COLUMNS))
    return pd.concat(frames, ignore_index=True)


@dg.asset(
    partitions_def=daily_partitions,
    deps=[dg.AssetDep("twitch_streams", partition_mapping=dg.AllPartitionMapping())],
    kinds={"postgres"},
    group_name="aggregation",
    freshness_policy=DAILY_FRESHNESS,
)
def twitch_broadcaster_growth(
    context: dg.AssetExecutionContext,
    warehouse: PostgresWarehouse,
    collection_policy: CollectionPolicy,
) -> dg.MaterializeResult:
    """Per game, UTC day and Twitch broadcaster: hours streamed and watched, average viewers.

    From `stream_snapshots` with the time-weighting of `twitch_game_stats`, and the change of
    each figure over 1, 7 and 30 days (see `intel_assets.defs.aggregation.broadcaster_growth`).
    Follower counts need a user token and are not collected. Replaces the day's rows in one
    transaction.
    """
    window = context.partition_time_window
    first, end = window.start.date(), window.end.date()
    started = time.monotonic()
    interval = timedelta(minutes=collection_policy.twitch_interval_minutes)
    rows = compute_broadcaster_growth(warehouse, first, end, interval)
    written = warehouse.replace_rows(
        "twitch_broadcaster_growth",
        BROADCASTER_GROWTH_COLUMNS,
        frame_rows(rows, BROADCASTER_GROWTH_COLUMNS),
        scope=RowScope(time_column="day", start=first, end=end),
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written),
            "games": dg.MetadataValue.int(int(rows["game_key"].nunique())),
            "broadcasters": dg.MetadataValue.int(int(rows["user_id"].nunique())),
            "rows_without_7_day_change": dg.MetadataValue.int(
                int(rows["hours_watched_change_7d"].isna().sum())
            ),
            "hours_watched": dg.MetadataValue.float(float(rows["hours_watched"].sum())),
            "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            "preview": markdown_preview(rows[rows["rank_hours_watched"] <= 3]),
        }
    )
