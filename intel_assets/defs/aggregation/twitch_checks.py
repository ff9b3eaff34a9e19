"""The checks of the Twitch statistics tables, read back from Postgres.

`twitch_game_stats` (one step, over the run's days: one day, or a backfill's range):
- `twitch_game_stats_has_no_negative_values` (blocking): no statistic of the daily, hourly or
  top-streamer rows is negative or not a number.
- `twitch_game_stats_hours_agree_with_averages` (blocking): `avg_viewers` x 24 and
  `avg_channels` x 24 are the day's hours watched and streamed (x 1 for an hour),
  `viewer_ratio` x hours streamed is the hours watched (NULL exactly when nothing streamed), and
  the day's hours add up to the day: hours, snapshots, and peaks as the largest hour's.
- `twitch_game_stats_cover_every_game_and_snapshot` (blocking): each tracked game and each game
  with snapshots has its row for every day and its 24 hours, and `snapshot_count` is the
  number of the day's `stream_snapshots` rows.
- `twitch_game_stats_peak_is_at_least_average` (warns): a day's peak viewers and channels are at
  least its averages. Not blocking, since it can fail on real data: a stream's last snapshot
  stands for I / 2 even when that reaches past midnight, so a stream live all day with an extra
  collection can stand for slightly more than 24 hours. (Hours are not checked: an early
  collection makes an hour hold 3 snapshots of the same stream, and its average beat its peak.)

`twitch_game_stats_monthly`:
- `twitch_game_stats_monthly_agrees_with_days` (blocking): hours and snapshots are the sums of
  the month's stored days, peaks their maxima, averages the hours over the month's hours, and
  no figure is negative.

`channel_growth` (it lives here beside the other statistics of this issue):
- `channel_growth_covers_every_channel_seen` (blocking): one row per game and channel with a
  channel snapshot that day, none for any other, and every change measured from an earlier
  fetch than the counts it changes.
"""

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from intel_assets.catalog import effective_catalog
from intel_assets.contracts.tables import STAT_COLUMNS
from intel_assets.defs.aggregation.channel_growth import channel_growth
from intel_assets.defs.aggregation.twitch_stats import twitch_game_stats, twitch_game_stats_monthly
from intel_assets.defs.check_helpers import (
    check_result,
    is_selected,
    not_evaluated,
    run_time_window,
)
from intel_assets.partitions import daily_partitions, monthly_partitions
from intel_assets.resources.warehouse import PostgresWarehouse

TOLERANCE = 1e-9
"""Relative difference under which two stored sums are the same number (float8 sums)."""

NOT_NEGATIVE = dg.AssetCheckSpec(
    "twitch_game_stats_has_no_negative_values",
    asset=twitch_game_stats,
    partitions_def=daily_partitions,
    blocking=True,
    description="No statistic of the daily, hourly or top-streamer rows is negative or NaN.",
)
HOURS_AGREE = dg.AssetCheckSpec(
    "twitch_game_stats_hours_agree_with_averages",
    asset=twitch_game_stats,
    partitions_def=daily_partitions,
    blocking=True,
    description="Averages are hours over the period's hours, the viewer ratio is hours watched "
    "over hours streamed, and a day's 24 hours add up to the day.",
)
COVERAGE = dg.AssetCheckSpec(
    "twitch_game_stats_cover_every_game_and_snapshot",
    asset=twitch_game_stats,
    partitions_def=daily_partitions,
    blocking=True,
    description="Every tracked game and game with snapshots has a row per day and 24 hourly "
    "rows, and snapshot_count is the day's stream snapshot rows.",
)
PEAK_AT_LEAST_AVERAGE = dg.AssetCheckSpec(
    "twitch_game_stats_peak_is_at_least_average",
    asset=twitch_game_stats,
    partitions_def=daily_partitions,
    description="A day's peak viewers and channels are at least its average viewers and "
    "channels (warns: a stream's last snapshot may stand for time past midnight).",
)
DAILY_CHECKS = (NOT_NEGATIVE, HOURS_AGREE, COVERAGE, PEAK_AT_LEAST_AVERAGE)

MONTHLY_AGREES = dg.AssetCheckSpec(
    "twitch_game_stats_monthly_agrees_with_days",
    asset=twitch_game_stats_monthly,
    partitions_def=monthly_partitions,
    blocking=True,
    description="Hours and snapshots are the sums of the month's days, peaks their maxima, "
    "averages the hours over the month's hours, and nothing is negative.",
)


def close(stored: Any, expected: float) -> bool:
    """Whether a stored float equals `expected` up to `TOLERANCE` (relative)."""
    if stored is None:
        return False
    value = float(stored)
    return math.isfinite(value) and abs(value - expected) <= TOLERANCE * max(1.0, abs(expected))


def _negative(row: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    bad = []
    for column in columns:
        value = row.get(column)
        if value is None:
            continue
        if not math.isfinite(float(value)) or float(value) < 0:
            bad.append(f"{column} {value}")
    return bad


def _ratio_problem(row: dict[str, Any]) -> str | None:
    streamed, watched, ratio = row["hours_streamed"], row["hours_watched"], row["viewer_ratio"]
    if streamed == 0:
        return None if ratio is None else f"viewer_ratio {ratio} with nothing streamed"
    if ratio is None or not close(ratio * streamed, watched):
        return f"viewer_ratio {ratio} x hours_streamed {streamed} is not hours_watched {watched}"
    return None


def _day_rows(warehouse: PostgresWarehouse, start: datetime, end: datetime) -> list[dict]:
    return warehouse.fetch_dicts(
        "SELECT * FROM twitch_game_stats WHERE day >= %s AND day < %s ORDER BY day, game_key",
        (start.date(), end.date()),
    )


def _hour_rows(warehouse: PostgresWarehouse, start: datetime, end: datetime) -> list[dict]:
    return warehouse.fetch_dicts(
        "SELECT * FROM twitch_game_stats_hourly WHERE hour_start >= %s AND hour_start < %s"
        " ORDER BY hour_start, game_key",
        (start, end),
    )


def _top_rows(warehouse: PostgresWarehouse, start: datetime, end: datetime) -> list[dict]:
    return warehouse.fetch_dicts(
        "SELECT * FROM twitch_game_top_streamers WHERE day >= %s AND day < %s",
        (start.date(), end.date()),
    )


def _snapshot_counts(warehouse: PostgresWarehouse, start: datetime, end: datetime) -> list[dict]:
    return warehouse.fetch_dicts(
        "SELECT game_key, (collected_at AT TIME ZONE 'UTC')::date AS day, count(*) AS rows"
        " FROM stream_snapshots WHERE collected_at >= %s AND collected_at < %s GROUP BY 1, 2",
        (start, end),
    )


def _hours_agree(days: list[dict], hours: list[dict]) -> list[str]:
    problems = []
    by_day: dict[tuple[str, Any], list[dict]] = {}
    for h in hours:
        key = (h["game_key"], h["hour_start"].astimezone(UTC).date())
        by_day.setdefault(key, []).append(h)
        label = f"{h['game_key']} {h['hour_start']:%Y-%m-%d %H:00}"
        for average, total in (
            ("avg_viewers", "hours_watched"),
            ("avg_channels", "hours_streamed"),
        ):
            if not close(h[average], h[total]):
                problems.append(f"{label}: {average} {h[average]} is not {total} {h[total]}")
        ratio = _ratio_problem(h)
        if ratio:
            problems.append(f"{label}: {ratio}")
    for d in days:
        label = f"{d['game_key']} {d['day']}"
        for average, total in (
            ("avg_viewers", "hours_watched"),
            ("avg_channels", "hours_streamed"),
        ):
            if not close(d[average] * 24, d[total]):
                problems.append(f"{label}: {average} {d[average]} x 24 is not {total} {d[total]}")
        ratio = _ratio_problem(d)
        if ratio:
            problems.append(f"{label}: {ratio}")
        its_hours = by_day.get((d["game_key"], d["day"]), [])
        for column in ("hours_watched", "hours_streamed"):
            total = math.fsum(float(h[column]) for h in its_hours)
            if not close(d[column], total):
                problems.append(f"{label}: {column} {d[column]}, its hours add up to {total}")
        for column in ("peak_viewers", "peak_channels"):
            highest = max((h[column] for h in its_hours), default=0)
            if d[column] != highest:
                problems.append(f"{label}: {column} {d[column]}, its highest hour {highest}")
        snapshots = sum(h["snapshot_count"] for h in its_hours)
        if d["snapshot_count"] != snapshots:
            problems.append(f"{label}: snapshot_count {d['snapshot_count']}, hours {snapshots}")
    return problems


def _coverage(
    days: list[dict],
    hours: list[dict],
    snapshots: list[dict],
    games: list[str],
    start: datetime,
    end: datetime,
) -> list[str]:
    problems = []
    counted = {(r["game_key"], r["day"]): int(r["rows"]) for r in snapshots}
    stored = {(d["game_key"], d["day"]): int(d["snapshot_count"]) for d in days}
    hour_count: dict[tuple[str, Any], int] = {}
    for h in hours:
        key = (h["game_key"], h["hour_start"].astimezone(UTC).date())
        hour_count[key] = hour_count.get(key, 0) + 1
    day = start.date()
    while day < end.date():
        expected_games = set(games) | {g for g, d in counted if d == day}
        for game in sorted(expected_games):
            if (game, day) not in stored:
                problems.append(f"{game} {day}: no daily row")
            elif stored[(game, day)] != counted.get((game, day), 0):
                problems.append(
                    f"{game} {day}: snapshot_count {stored[(game, day)]}, "
                    f"stream_snapshots has {counted.get((game, day), 0)}"
                )
            if hour_count.get((game, day), 0) != 24:
                problems.append(f"{game} {day}: {hour_count.get((game, day), 0)} hourly rows")
        day += timedelta(days=1)
    return problems


@dg.multi_asset_check(specs=list(DAILY_CHECKS), can_subset=True, name="twitch_game_stats_checks")
def twitch_game_stats_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
) -> Iterator[dg.AssetCheckResult]:
    """The Twitch statistics of the run's days, against each other and the snapshots."""
    window = run_time_window(context, twitch_game_stats.key, daily_partitions)
    selected = [spec for spec in DAILY_CHECKS if is_selected(context, spec)]
    if window is None:
        for spec in selected:
            yield not_evaluated(spec, "twitch_game_stats has no materialized day")
        return
    days = _day_rows(warehouse, window.start, window.end)
    hours = _hour_rows(warehouse, window.start, window.end)
    scope = {
        "days_checked": dg.MetadataValue.int((window.end - window.start).days),
        "rows_checked": dg.MetadataValue.int(len(days)),
        "hourly_rows_checked": dg.MetadataValue.int(len(hours)),
    }
    if NOT_NEGATIVE in selected:
        problems = []
        for label, rows, columns in (
            ("day", days, (*STAT_COLUMNS, "snapshot_count", "collection_count")),
            ("hour", hours, (*STAT_COLUMNS, "snapshot_count", "collection_count")),
            (
                "top streamer",
                _top_rows(warehouse, window.start, window.end),
                ("hours_watched", "hours_streamed", "avg_viewers", "peak_viewers"),
            ),
        ):
            for r in rows:
                bad = _negative(r, columns)
                if bad:
                    problems.append(f"{label} {r['game_key']}: {', '.join(bad)}")
        yield check_result(NOT_NEGATIVE, problems, scope)
    if HOURS_AGREE in selected:
        yield check_result(HOURS_AGREE, _hours_agree(days, hours), scope)
    if COVERAGE in selected:
        games = list(effective_catalog(warehouse).keys)
        snapshots = _snapshot_counts(warehouse, window.start, window.end)
        problems = _coverage(days, hours, snapshots, games, window.start, window.end)
        yield check_result(COVERAGE, problems, scope)
    if PEAK_AT_LEAST_AVERAGE in selected:
        problems = [
            f"{d['game_key']} {d['day']}: {peak} {d[peak]} below {average} {d[average]:.3f}"
            for d in days
            for peak, average in (
                ("peak_viewers", "avg_viewers"),
                ("peak_channels", "avg_channels"),
            )
            if d[peak] < d[average] * (1 - TOLERANCE)
        ]
        yield check_result(
            PEAK_AT_LEAST_AVERAGE, problems, scope, severity=dg.AssetCheckSeverity.WARN
        )


@dg.multi_asset_check(
    specs=[MONTHLY_AGREES], can_subset=True, name="twitch_game_stats_monthly_checks"
)
def twitch_game_stats_monthly_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
) -> Iterator[dg.AssetCheckResult]:
    """The month's rows against the stored days they roll up."""
    window = run_time_window(context, twitch_game_stats_monthly.key, monthly_partitions)
    if window is None:
        yield not_evaluated(MONTHLY_AGREES, "twitch_game_stats_monthly has no materialized month")
        return
    month_hours = (window.end - window.start) / timedelta(hours=1)
    rows = warehouse.fetch_dicts(
        "WITH d AS (SELECT game_key, sum(hours_watched) AS hw, sum(hours_streamed) AS hs,"
        " max(peak_viewers) AS pv, max(peak_channels) AS pc, sum(snapshot_count) AS n,"
        " count(*) AS days FROM twitch_game_stats WHERE day >= %s AND day < %s GROUP BY 1)"
        " SELECT m.*, coalesce(d.hw, 0) AS day_hw, coalesce(d.hs, 0) AS day_hs,"
        " coalesce(d.pv, 0) AS day_pv, coalesce(d.pc, 0) AS day_pc, coalesce(d.n, 0) AS day_n,"
        " coalesce(d.days, 0) AS day_count"
        " FROM twitch_game_stats_monthly AS m LEFT JOIN d USING (game_key)"
        " WHERE m.month = %s ORDER BY 1",
        (window.start.date(), window.end.date(), window.start.date()),
    )
    problems = []
    for r in rows:
        label = f"{r['game_key']} {r['month']:%Y-%m}"
        bad = _negative(r, (*STAT_COLUMNS, "snapshot_count"))
        if bad:
            problems.append(f"{label}: {', '.join(bad)}")
        for column, day_column in (("hours_watched", "day_hw"), ("hours_streamed", "day_hs")):
            if not close(r[column], float(r[day_column])):
                problems.append(f"{label}: {column} {r[column]}, days add up to {r[day_column]}")
        for column, day_column in (
            ("peak_viewers", "day_pv"),
            ("peak_channels", "day_pc"),
            ("snapshot_count", "day_n"),
            ("days_covered", "day_count"),
        ):
            if r[column] != r[day_column]:
                problems.append(f"{label}: {column} {r[column]}, days say {r[day_column]}")
        for average, total in (
            ("avg_viewers", "hours_watched"),
            ("avg_channels", "hours_streamed"),
        ):
            if not close(r[average] * month_hours, r[total]):
                problems.append(
                    f"{label}: {average} {r[average]} x {month_hours:g} h is not {total}"
                )
        ratio = _ratio_problem(r)
        if ratio:
            problems.append(f"{label}: {ratio}")
    yield check_result(
        MONTHLY_AGREES,
        problems,
        {
            "rows_checked": dg.MetadataValue.int(len(rows)),
            "month_hours": dg.MetadataValue.float(month_hours),
        },
    )


CHANNELS_COVERED = dg.AssetCheckSpec(
    "channel_growth_covers_every_channel_seen",
    asset=channel_growth,
    partitions_def=daily_partitions,
    blocking=True,
    description="One row per game and channel with a channel snapshot that day, none for any "
    "other, each change measured from an earlier fetch.",
)


@dg.multi_asset_check(specs=[CHANNELS_COVERED], can_subset=True, name="channel_growth_checks")
def channel_growth_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
) -> Iterator[dg.AssetCheckResult]:
    """The day's channel rows against the channel snapshots of the same day."""
    window = run_time_window(context, channel_growth.key, daily_partitions)
    if window is None:
        yield not_evaluated(CHANNELS_COVERED, "channel_growth has no materialized day")
        return
    rows = warehouse.fetch_dicts(
        "WITH seen AS (SELECT DISTINCT game_key, channel_id FROM channel_snapshots"
        " WHERE collected_at >= %s AND collected_at < %s),"
        " stored AS (SELECT * FROM channel_growth WHERE day >= %s AND day < %s)"
        " SELECT coalesce(s.game_key, g.game_key) AS game_key,"
        " coalesce(s.channel_id, g.channel_id) AS channel_id, s.channel_id IS NOT NULL AS seen,"
        " g.channel_id IS NOT NULL AS stored, g.fetched_at, g.fetched_at_1d, g.fetched_at_7d,"
        " g.fetched_at_30d FROM seen AS s FULL JOIN stored AS g"
        " ON g.game_key = s.game_key AND g.channel_id = s.channel_id ORDER BY 1, 2",
        (window.start, window.end, window.start.date(), window.end.date()),
    )
    problems = []
    for r in rows:
        label = f"{r['game_key']} {r['channel_id']}"
        if not r["stored"]:
            problems.append(f"{label}: seen that day but no row")
        elif not r["seen"]:
            problems.append(f"{label}: a row but no snapshot that day")
        for column in ("fetched_at_1d", "fetched_at_7d", "fetched_at_30d"):
            if r["stored"] and r[column] is not None and r[column] >= r["fetched_at"]:
                problems.append(f"{label}: {column} is not before fetched_at")
    yield check_result(
        CHANNELS_COVERED, problems, {"rows_checked": dg.MetadataValue.int(len(rows))}
    )
