"""Per-game Twitch statistics, as TwitchTracker and SullyGnome publish them, from our snapshots.

`twitch_game_stats[day]` writes three tables, one row per tracked game and period (zeros and a
NULL ratio where nothing was collected), computed in Postgres from `stream_snapshots`:

- `twitch_game_stats` (per UTC day) and `twitch_game_stats_hourly` (per UTC hour of that day);
- `twitch_game_top_streamers`: the day's ten streamers with the most hours watched.

What each figure means (I is the Twitch collection interval, `CollectionPolicy`, 30 min):

- the time a snapshot stands for: for each game and UTC day, the game's snapshots with
  `collected_at` in the day; a snapshot at t stands for min(t_next - t, I), t_next being the next
  snapshot of the same `stream_id` in the same game on the same day; the last one stands for
  I / 2. Time before a stream's first snapshot is not counted, so a missed collection costs at
  most I of each stream and a gap longer than I is not filled in;
- `hours_watched`: the sum of viewers x that time; `hours_streamed`: the sum of that time;
- `avg_viewers` = hours_watched / hours in the period, `avg_channels` = hours_streamed / hours in
  the period (24 for a day, 1 for an hour, whatever was collected); `viewer_ratio` =
  hours_watched / hours_streamed, NULL when nothing streamed;
- `peak_viewers` / `peak_channels`: the most viewers / streams in one collection (one
  `collected_at` of the game) in the period; `unique_streamers`: distinct `user_id`.

An hour's row takes the snapshots collected in that hour with the time each stands for in its
day (a snapshot at 10:50 followed by one at 11:20 stands for 30 minutes of hour 10), so the 24
hours of a day add up to the day exactly. Cutting at each hour instead would count every
stream's last snapshot of each hour as I / 2 and undercount every hour by about a quarter.

`twitch_game_stats_monthly[month]` rolls the month up from the stored days: sums and peaks from
the days, `unique_streamers` from the month's snapshots, averages over the month's hours.
"""

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import psycopg

from intel_assets.catalog import effective_catalog
from intel_assets.contracts.tables import (
    DAILY_STATS_COLUMNS,
    HOURLY_STATS_COLUMNS,
    MONTHLY_STATS_COLUMNS,
    TOP_STREAMER_COLUMNS,
)
from intel_assets.defs.aggregation.common import markdown_preview
from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.freshness import DAILY_FRESHNESS
from intel_assets.partitions import daily_partitions, monthly_partitions
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, TableWrite, frame_rows

TOP_STREAMERS = 10
"""Streamers per game and day in `twitch_game_top_streamers`."""

_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"

NEXT_SNAPSHOT_AT = (
    "lead(collected_at) OVER (PARTITION BY game_key, stream_id ORDER BY collected_at)"
)
"""SQL: the next snapshot of the same stream in the same game within the rows read (`next_at`)."""

SNAPSHOT_HOURS = """CASE WHEN next_at IS NULL THEN %(interval_seconds)s / 2.0
        ELSE least(extract(epoch FROM next_at - collected_at)::float8, %(interval_seconds)s)
    END / 3600.0"""
"""SQL: the hours a snapshot stands for, min(t_next - t, I), or I/2 for a stream's last one."""

# The day's snapshots with the hours each stands for, computed once (one sort by stream) and
# read by the two queries below; only the columns they aggregate, so it stays small.
_WEIGHTED = f"""
CREATE TEMP TABLE twitch_weighted ON COMMIT DROP AS
SELECT game_key, user_id, collected_at, viewer_count,
    date_bin('1 hour', collected_at, {_ORIGIN}) AS hour_start,
    {SNAPSHOT_HOURS} AS hours
FROM (
    SELECT game_key, user_id, collected_at, viewer_count, {NEXT_SNAPSHOT_AT} AS next_at
    FROM stream_snapshots WHERE collected_at >= %(start)s AND collected_at < %(end)s
) AS day_snapshots
"""

# The 24 hours, then the day from its hours (sums, largest peaks): every tracked game and every
# game with snapshots crossed with the hours and the day (a NULL hour_start is the day's row).
# An hour's distinct streamers come from its rows per (game, hour, streamer); the day's from
# the top-streamer query, which groups by streamer anyway.
_PERIOD_STATS = """
WITH per_streamer AS (
    SELECT game_key, hour_start, user_id, sum(viewer_count * hours) AS hours_watched,
        sum(hours) AS hours_streamed, count(*) AS snapshot_count
    FROM twitch_weighted GROUP BY 1, 2, 3
),
hour_sums AS (
    SELECT game_key, hour_start, sum(hours_watched) AS hours_watched,
        sum(hours_streamed) AS hours_streamed, sum(snapshot_count) AS snapshot_count,
        count(*) AS streamers
    FROM per_streamer GROUP BY 1, 2
),
collections AS (
    SELECT game_key, hour_start, collected_at, sum(viewer_count) AS viewers, count(*) AS streams
    FROM twitch_weighted GROUP BY 1, 2, 3
),
hour_peaks AS (
    SELECT game_key, hour_start, max(viewers) AS peak_viewers, max(streams) AS peak_channels,
        count(*) AS collection_count
    FROM collections GROUP BY 1, 2
),
hours AS (SELECT * FROM hour_sums JOIN hour_peaks USING (game_key, hour_start)),
periods_with_data AS (
    SELECT game_key, hour_start, hours_watched, hours_streamed, snapshot_count, streamers,
        peak_viewers, peak_channels, collection_count
    FROM hours
    UNION ALL
    SELECT game_key, NULL, sum(hours_watched), sum(hours_streamed), sum(snapshot_count), NULL,
        max(peak_viewers), max(peak_channels), sum(collection_count)
    FROM hours GROUP BY game_key
),
games AS (
    SELECT unnest(%(games)s::text[]) AS game_key UNION SELECT game_key FROM hour_sums
),
periods AS (
    SELECT generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour',
        interval '1 hour') AS hour_start, 1.0::float8 AS period_hours
    UNION ALL SELECT NULL, 24.0
)
SELECT g.game_key, p.hour_start,
    coalesce(d.hours_watched, 0) AS hours_watched,
    coalesce(d.hours_streamed, 0) AS hours_streamed,
    coalesce(d.hours_watched, 0) / p.period_hours AS avg_viewers,
    coalesce(d.hours_streamed, 0) / p.period_hours AS avg_channels,
    d.hours_watched / nullif(d.hours_streamed, 0) AS viewer_ratio,
    coalesce(d.peak_viewers, 0)::bigint AS peak_viewers,
    coalesce(d.peak_channels, 0)::int AS peak_channels,
    coalesce(d.streamers, 0)::int AS unique_streamers,
    coalesce(d.snapshot_count, 0)::int AS snapshot_count,
    coalesce(d.collection_count, 0)::int AS collection_count
FROM games AS g CROSS JOIN periods AS p
LEFT JOIN periods_with_data AS d
    ON d.game_key = g.game_key AND d.hour_start IS NOT DISTINCT FROM p.hour_start
ORDER BY 2, 1
"""

# The login and name are those of the streamer's last snapshot of the day (the smallest stream
# id if two streams of theirs were in that collection), looked up for the top ten only.
_TOP_STREAMERS = """
WITH per_streamer AS (
    SELECT game_key, user_id, sum(viewer_count * hours) AS hours_watched,
        sum(hours) AS hours_streamed, max(viewer_count) AS peak_viewers,
        max(collected_at) AS last_at,
        row_number() OVER (PARTITION BY game_key
            ORDER BY sum(viewer_count * hours) DESC, sum(hours) DESC, user_id) AS rank,
        count(*) OVER (PARTITION BY game_key) AS streamers
    FROM twitch_weighted GROUP BY game_key, user_id
)
SELECT DISTINCT ON (t.game_key, t.rank) t.game_key, t.rank, t.user_id, s.user_login,
    s.user_name, t.hours_watched, t.hours_streamed,
    t.hours_watched / t.hours_streamed AS avg_viewers, t.peak_viewers, t.streamers
FROM per_streamer AS t
JOIN stream_snapshots AS s
    ON s.game_key = t.game_key AND s.collected_at = t.last_at AND s.user_id = t.user_id
WHERE t.rank <= %(top)s
ORDER BY t.game_key, t.rank, s.stream_id
"""


def _frame(cursor: psycopg.Cursor[Any]) -> pd.DataFrame:
    columns = [d.name for d in cursor.description or []]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def compute_day_stats(
    warehouse: PostgresWarehouse,
    day: date,
    games: list[str],
    interval: timedelta,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The statistics of one UTC day, in Postgres from that day's `stream_snapshots`.

    Args:
        warehouse: The warehouse to read.
        day: The UTC day.
        games: The tracked games: each gets its rows even without snapshots.
        interval: The Twitch collection interval I (see the module docstring).

    Returns:
        The day's rows (`DAILY_STATS_COLUMNS`), its hours' rows (`HOURLY_STATS_COLUMNS`) and
        its top streamers (`TOP_STREAMER_COLUMNS`), for every game in `games` and every game
        with snapshots that day.
    """
    if interval <= timedelta(0):
        raise ValueError(f"the Twitch collection interval must be positive, not {interval}")
    start = day_start(day)
    params: dict[str, Any] = {
        "start": start,
        "end": start + timedelta(days=1),
        "interval_seconds": interval.total_seconds(),
        "games": games,
        "top": TOP_STREAMERS,
    }
    with warehouse.connection() as conn, conn.transaction(), conn.cursor() as cur:
        # A day of every game's snapshots sorts in memory instead of spilling to disk.
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute(_WEIGHTED, params)
        cur.execute(_PERIOD_STATS, params)
        periods = _frame(cur)
        cur.execute(_TOP_STREAMERS, params)
        top = _frame(cur)
    is_day = periods["hour_start"].isna()
    daily = periods[is_day].drop(columns=["hour_start"]).assign(day=day)
    # Every streamer of a game is counted in its top-streamer rows' `streamers`.
    streamers = top.groupby("game_key")["streamers"].max() if len(top) else pd.Series()
    daily["unique_streamers"] = daily["game_key"].map(streamers).fillna(0).astype("int64")
    hourly = periods[~is_day].copy()
    hourly["hour_start"] = pd.to_datetime(hourly["hour_start"], utc=True)
    top["day"] = day
    return (
        daily.reindex(columns=list(DAILY_STATS_COLUMNS)),
        hourly.reindex(columns=list(HOURLY_STATS_COLUMNS)),
        top.reindex(columns=list(TOP_STREAMER_COLUMNS)),
    )


def _twitch_interval(policy: CollectionPolicy) -> timedelta:
    return timedelta(minutes=policy.twitch_interval_minutes)


def _days_in(window: dg.TimeWindow) -> int:
    """The UTC days a run's window covers (a started day counts)."""
    count, day = 0, window.start.date()
    while day_start(day) < window.end:
        count += 1
        day += timedelta(days=1)
    return count


def _window_stats(
    warehouse: PostgresWarehouse, window: dg.TimeWindow, games: list[str], interval: timedelta
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every day of the window's statistics (`compute_day_stats`), a day at a time.

    Returns:
        The daily rows, the hourly rows and the top streamers of every day, concatenated.
    """
    days: list[pd.DataFrame] = []
    hours: list[pd.DataFrame] = []
    tops: list[pd.DataFrame] = []
    day = window.start.date()
    while day_start(day) < window.end:
        daily, hourly, top = compute_day_stats(warehouse, day, games, interval)
        days.append(daily)
        hours.append(hourly)
        tops.append(top)
        day += timedelta(days=1)
    return (
        pd.concat(days, ignore_index=True),
        pd.concat(hours, ignore_index=True),
        pd.concat(tops, ignore_index=True),
    )


def _window_writes(
    window: dg.TimeWindow,
    daily_rows: pd.DataFrame,
    hourly_rows: pd.DataFrame,
    top_rows: pd.DataFrame,
) -> list[TableWrite]:
    """The window's rows of the three Twitch statistics tables, each replacing the window's.

    `twitch_game_stats`, `twitch_game_stats_hourly` and `twitch_game_top_streamers`, written in
    one transaction by `replace_many`.
    """
    first, end = window.start.date(), window.end.date()
    return [
        TableWrite(
            "twitch_game_stats",
            DAILY_STATS_COLUMNS,
            frame_rows(daily_rows, DAILY_STATS_COLUMNS),
            RowScope(time_column="day", start=first, end=end),
        ),
        TableWrite(
            "twitch_game_stats_hourly",
            HOURLY_STATS_COLUMNS,
            frame_rows(hourly_rows, HOURLY_STATS_COLUMNS),
            RowScope(time_column="hour_start", start=window.start, end=window.end),
        ),
        TableWrite(
            "twitch_game_top_streamers",
            TOP_STREAMER_COLUMNS,
            frame_rows(top_rows, TOP_STREAMER_COLUMNS),
            RowScope(time_column="day", start=first, end=end),
        ),
    ]


@dg.asset(
    partitions_def=daily_partitions,
    deps=[dg.AssetDep("twitch_streams", partition_mapping=dg.AllPartitionMapping())],
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"postgres"},
    group_name="aggregation",
    freshness_policy=DAILY_FRESHNESS,
)
def twitch_game_stats(
    context: dg.AssetExecutionContext,
    warehouse: PostgresWarehouse,
    collection_policy: CollectionPolicy,
) -> dg.MaterializeResult:
    """Per game and UTC day: hours watched and streamed, average and peak viewers and channels.

    The definitions of the Twitch statistics sites (see `intel_assets.defs.aggregation.
    twitch_stats`), computed in Postgres from `stream_snapshots`, one row per tracked game and
    day in `twitch_game_stats`, per hour in `twitch_game_stats_hourly`, and the day's top ten
    streamers by hours watched in `twitch_game_top_streamers`. Covers the run's whole window
    (one day, or a backfill's range in one run) a day at a time, then replaces the window's rows
    of all three tables in one transaction.
    """
    window = context.partition_time_window
    interval = _twitch_interval(collection_policy)
    catalog = effective_catalog(warehouse)
    games = list(catalog.keys)
    started = time.monotonic()
    daily_rows, hourly_rows, top_rows = _window_stats(warehouse, window, games, interval)
    computed = time.monotonic()
    written = warehouse.replace_many(_window_writes(window, daily_rows, hourly_rows, top_rows))
    untracked = sorted(set(daily_rows["game_key"]) - set(games))
    if untracked:
        context.log.warning(
            f"stream snapshots of games not in the catalog: {', '.join(untracked)} (kept)"
        )
    with_data = daily_rows[daily_rows["snapshot_count"] > 0]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written[0]),
            "hourly_rows_written": dg.MetadataValue.int(written[1]),
            "top_streamer_rows_written": dg.MetadataValue.int(written[2]),
            "days": dg.MetadataValue.int(_days_in(window)),
            "games": dg.MetadataValue.int(int(daily_rows["game_key"].nunique())),
            "game_days_without_snapshots": dg.MetadataValue.int(len(daily_rows) - len(with_data)),
            "games_not_in_catalog": dg.MetadataValue.int(len(untracked)),
            "stream_snapshot_rows_read": dg.MetadataValue.int(
                int(daily_rows["snapshot_count"].sum())
            ),
            "collection_interval_minutes": dg.MetadataValue.float(interval.total_seconds() / 60),
            "hours_watched": dg.MetadataValue.float(float(daily_rows["hours_watched"].sum())),
            "read_and_compute_seconds": dg.MetadataValue.float(round(computed - started, 3)),
            "write_seconds": dg.MetadataValue.float(round(time.monotonic() - computed, 3)),
            "preview": markdown_preview(
                with_data.sort_values("hours_watched", ascending=False, kind="stable")
            ),
        }
    )


_MONTH = """
WITH days AS (
    SELECT game_key, sum(hours_watched) AS hours_watched, sum(hours_streamed) AS hours_streamed,
        max(peak_viewers) AS peak_viewers, max(peak_channels) AS peak_channels,
        sum(snapshot_count) AS snapshot_count, count(*) AS days_covered
    FROM twitch_game_stats WHERE day >= %(first)s AND day < %(following)s GROUP BY 1
),
streamers AS (
    SELECT game_key, count(DISTINCT user_id) AS unique_streamers, count(*) AS snapshot_rows
    FROM stream_snapshots WHERE collected_at >= %(start)s AND collected_at < %(end)s GROUP BY 1
),
games AS (
    SELECT unnest(%(games)s::text[]) AS game_key
    UNION SELECT game_key FROM days UNION SELECT game_key FROM streamers
)
SELECT g.game_key,
    coalesce(d.hours_watched, 0) AS hours_watched,
    coalesce(d.hours_streamed, 0) AS hours_streamed,
    coalesce(d.hours_watched, 0) / %(month_hours)s AS avg_viewers,
    coalesce(d.hours_streamed, 0) / %(month_hours)s AS avg_channels,
    d.hours_watched / nullif(d.hours_streamed, 0) AS viewer_ratio,
    coalesce(d.peak_viewers, 0)::bigint AS peak_viewers,
    coalesce(d.peak_channels, 0)::int AS peak_channels,
    coalesce(s.unique_streamers, 0)::int AS unique_streamers,
    coalesce(d.snapshot_count, 0)::bigint AS snapshot_count,
    coalesce(d.days_covered, 0)::int AS days_covered,
    coalesce(s.snapshot_rows, 0)::bigint AS snapshot_rows_now
FROM games AS g LEFT JOIN days AS d USING (game_key) LEFT JOIN streamers AS s USING (game_key)
ORDER BY 1
"""


def compute_month_stats(
    warehouse: PostgresWarehouse, start: datetime, end: datetime, games: list[str]
) -> pd.DataFrame:
    """One month's rows of `twitch_game_stats_monthly` (plus `snapshot_rows_now`).

    Sums and peaks come from the month's stored `twitch_game_stats` days, `unique_streamers`
    from the month's `stream_snapshots`, and the averages divide by the month's hours.
    `snapshot_rows_now` counts the month's snapshots still in Postgres: fewer than the days'
    `snapshot_count` means retention dropped some and `unique_streamers` undercounts.

    Args:
        warehouse: The warehouse to read.
        start: Midnight UTC on the month's first day.
        end: Midnight UTC on the next month's first day.
        games: The tracked games: each gets its row even without data.
    """
    month_hours = (end - start) / timedelta(hours=1)
    params = {
        "first": start.date(),
        "following": end.date(),
        "start": start,
        "end": end,
        "games": games,
        "month_hours": month_hours,
    }
    with warehouse.connection() as conn, conn.cursor() as cur:
        cur.execute(_MONTH, params)
        frame = _frame(cur)
    frame["month"] = start.date()
    return frame


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[
        dg.AssetDep("twitch_game_stats"),
        dg.AssetDep("twitch_streams", partition_mapping=dg.AllPartitionMapping()),
    ],
    kinds={"postgres"},
    group_name="aggregation",
)
def twitch_game_stats_monthly(
    context: dg.AssetExecutionContext, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    """Per game and UTC month: the Twitch statistics of the month's days, rolled up.

    Hours watched and streamed and the snapshot count are the sums of the month's days, peaks
    their maxima, `unique_streamers` the distinct streamers of the month's snapshots, and
    `avg_viewers` / `avg_channels` the hours divided by the month's hours, as in the public
    monthly data sets. Materialize the month's days first: a day without its row counts as
    nothing streamed (`days_covered` says how many days the month had).
    """
    window = context.partition_time_window
    games = list(effective_catalog(warehouse).keys)
    rows = compute_month_stats(warehouse, window.start, window.end, games)
    days_in_month = (window.end - window.start).days
    written = warehouse.replace_rows(
        "twitch_game_stats_monthly",
        MONTHLY_STATS_COLUMNS,
        frame_rows(rows, MONTHLY_STATS_COLUMNS),
        scope=RowScope(equals={"month": window.start.date()}),
    )
    covered = int(rows["days_covered"].max()) if len(rows) else 0
    if covered < days_in_month:
        context.log.warning(
            f"twitch_game_stats holds {covered} of the {days_in_month} days of "
            f"{window.start:%Y-%m}: materialize the missing days, then this month again"
        )
    pruned = rows[rows["snapshot_rows_now"] < rows["snapshot_count"]]
    if len(pruned):
        context.log.warning(
            f"{len(pruned)} games have fewer snapshots of {window.start:%Y-%m} than their days "
            "were computed from (retention dropped them): unique_streamers undercounts"
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written),
            "days_in_month": dg.MetadataValue.int(days_in_month),
            "days_covered": dg.MetadataValue.int(covered),
            "games_with_pruned_snapshots": dg.MetadataValue.int(len(pruned)),
            "preview": markdown_preview(
                rows[list(MONTHLY_STATS_COLUMNS)].sort_values(
                    "hours_watched", ascending=False, kind="stable"
                )
            ),
        }
    )
