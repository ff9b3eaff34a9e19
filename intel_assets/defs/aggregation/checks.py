"""The checks of the hourly and daily tables, recomputed from the rows they come from.

Every check reads the stored tables (see `intel_assets.defs.check_helpers`) over the run's time
window: one hour, the range of a single-run backfill, or one day; run alone, the asset's latest
materialized partition. All are blocking: a table that disagrees with its sources must not feed
anything downstream in the same run.

`hourly_metrics` (one step):
- `hourly_metrics_cover_every_game_with_data`: each game with a video or stream snapshot in an
  hour has that hour's row.
- `hourly_metrics_has_engagement_between_0_and_1`: `avg_engagement` is a number in [0, 1].
- `hourly_metrics_video_counts_match_snapshots`: `video_count` is the hour's distinct videos,
  `snapshot_count` its video snapshot rows and `twitch_stream_count` its distinct streams.

The daily tables (one step for the four assets the daily job materializes together):
- `daily_rollup_agrees_with_hourly_rows`: each game with hourly rows that day has a daily row,
  and `hours_covered`, `peak_viral_count` and `avg_viral_count` are the count, max and mean of
  its hourly rows (hours covered are reported per day).
- `daily_rollup_trends_match_previous_day`: the three trends are the percent changes of
  `avg_views`, `avg_viral_count` and `avg_engagement` against the stored previous day (0
  without one, or where it was 0). A previous day re-materialized since makes this fail: re-run
  the day.
- `duration_performance_counts_match_snapshots`: per game, the buckets' videos add up to the
  day's finished videos with known views and a bucketed duration, each at its latest snapshot.
- `regional_performance_scores_between_0_and_100`: competition, opportunity and market-share
  scores are in [0, 100].
- `premiere_performance_covers_every_game_with_videos`: one row per game with video
  snapshots that day, and none for a game without.
"""

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from intel_assets.analyzers.common import DURATION_BUCKETS
from intel_assets.defs.aggregation.daily import daily_rollup
from intel_assets.defs.aggregation.hourly import hourly_metrics
from intel_assets.defs.aggregation.performance import (
    duration_performance,
    premiere_performance,
    regional_performance,
)
from intel_assets.defs.check_helpers import (
    check_result,
    is_selected,
    not_evaluated,
    run_time_window,
)
from intel_assets.partitions import daily_partitions, hourly_partitions
from intel_assets.resources.warehouse import PostgresWarehouse

TOLERANCE = 1e-6
"""Relative difference under which two stored floats are the same number."""

COVER_EVERY_GAME = dg.AssetCheckSpec(
    "hourly_metrics_cover_every_game_with_data",
    asset=hourly_metrics,
    partitions_def=hourly_partitions,
    blocking=True,
    description="Each game with a video or stream snapshot in an hour has that hour's row.",
)
ENGAGEMENT_IN_RANGE = dg.AssetCheckSpec(
    "hourly_metrics_has_engagement_between_0_and_1",
    asset=hourly_metrics,
    partitions_def=hourly_partitions,
    blocking=True,
    description="avg_engagement is a number in [0, 1] on every row.",
)
COUNTS_MATCH_SNAPSHOTS = dg.AssetCheckSpec(
    "hourly_metrics_video_counts_match_snapshots",
    asset=hourly_metrics,
    partitions_def=hourly_partitions,
    blocking=True,
    description="video_count, snapshot_count and twitch_stream_count are the hour's distinct "
    "videos, video snapshot rows and distinct streams.",
)
HOURLY_CHECKS = (COVER_EVERY_GAME, ENGAGEMENT_IN_RANGE, COUNTS_MATCH_SNAPSHOTS)

DAILY_AGREES = dg.AssetCheckSpec(
    "daily_rollup_agrees_with_hourly_rows",
    asset=daily_rollup,
    partitions_def=daily_partitions,
    blocking=True,
    description="Each game with hourly rows has a daily row whose hours_covered, "
    "peak_viral_count and avg_viral_count are the count, max and mean of its hourly rows.",
)
TRENDS_MATCH = dg.AssetCheckSpec(
    "daily_rollup_trends_match_previous_day",
    asset=daily_rollup,
    partitions_def=daily_partitions,
    blocking=True,
    description="views, viral and engagement trends are the percent changes against the "
    "stored previous day (0 without one).",
)
DURATION_COUNTS = dg.AssetCheckSpec(
    "duration_performance_counts_match_snapshots",
    asset=duration_performance,
    partitions_def=daily_partitions,
    blocking=True,
    description="Per game, the buckets' videos add up to the day's finished videos with views "
    "and a bucketed duration, each at its latest snapshot.",
)
REGIONAL_SCORES = dg.AssetCheckSpec(
    "regional_performance_scores_between_0_and_100",
    asset=regional_performance,
    partitions_def=daily_partitions,
    blocking=True,
    description="Competition, opportunity and market-share scores are in [0, 100].",
)
PREMIERE_COVERAGE = dg.AssetCheckSpec(
    "premiere_performance_covers_every_game_with_videos",
    asset=premiere_performance,
    partitions_def=daily_partitions,
    blocking=True,
    description="One row per game with video snapshots that day, none for a game without.",
)
DAILY_CHECKS = (DAILY_AGREES, TRENDS_MATCH, DURATION_COUNTS, REGIONAL_SCORES, PREMIERE_COVERAGE)


def same_number(stored: Any, expected: float) -> bool:
    """Whether a stored float equals the expected one up to `TOLERANCE` (relative)."""
    if stored is None:
        return False
    value = float(stored)
    return math.isfinite(value) and abs(value - expected) <= TOLERANCE * max(1.0, abs(expected))


def percent_change(current: float, previous: float | None) -> float:
    """The daily trend's definition: percent change, 0 without a previous value or from 0."""
    if previous is None or previous == 0:
        return 0.0
    return (current - previous) / previous * 100.0


def days_of(start: datetime, end: datetime) -> list[date]:
    """The UTC days of a window of whole days."""
    first = start.date()
    return [first + timedelta(days=n) for n in range((end - start).days)]


def _hourly_coverage(warehouse: PostgresWarehouse, start: datetime, end: datetime) -> list[dict]:
    return warehouse.fetch_dicts(
        "WITH seen AS ("
        " SELECT game_key, date_trunc('hour', collected_at, 'UTC') AS hour_start"
        " FROM video_snapshots WHERE collected_at >= %s AND collected_at < %s"
        " UNION"
        " SELECT game_key, date_trunc('hour', collected_at, 'UTC')"
        " FROM stream_snapshots WHERE collected_at >= %s AND collected_at < %s)"
        " SELECT seen.game_key, seen.hour_start, h.category_key IS NOT NULL AS has_row"
        " FROM seen LEFT JOIN intel_hourly_metrics AS h"
        " ON h.category_key = seen.game_key AND h.hour_start = seen.hour_start"
        " ORDER BY 2, 1",
        (start, end, start, end),
    )


def _hourly_counts(warehouse: PostgresWarehouse, start: datetime, end: datetime) -> list[dict]:
    return warehouse.fetch_dicts(
        "WITH v AS ("
        " SELECT game_key, date_trunc('hour', collected_at, 'UTC') AS hour_start,"
        " count(DISTINCT video_id) AS videos, count(*) AS snapshot_rows"
        " FROM video_snapshots WHERE collected_at >= %s AND collected_at < %s GROUP BY 1, 2),"
        " s AS ("
        " SELECT game_key, date_trunc('hour', collected_at, 'UTC') AS hour_start,"
        " count(DISTINCT stream_id) AS streams"
        " FROM stream_snapshots WHERE collected_at >= %s AND collected_at < %s GROUP BY 1, 2)"
        " SELECT h.category_key, h.hour_start, h.video_count, h.snapshot_count,"
        " h.twitch_stream_count, h.avg_engagement, coalesce(v.videos, 0) AS videos,"
        " coalesce(v.snapshot_rows, 0) AS snapshot_rows, coalesce(s.streams, 0) AS streams"
        " FROM intel_hourly_metrics AS h"
        " LEFT JOIN v ON v.game_key = h.category_key AND v.hour_start = h.hour_start"
        " LEFT JOIN s ON s.game_key = h.category_key AND s.hour_start = h.hour_start"
        " WHERE h.hour_start >= %s AND h.hour_start < %s ORDER BY 2, 1",
        (start, end, start, end, start, end),
    )


@dg.multi_asset_check(specs=list(HOURLY_CHECKS), can_subset=True, name="hourly_metrics_checks")
def hourly_metrics_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
) -> Iterator[dg.AssetCheckResult]:
    """The hourly rows of the run's window, against the snapshots of the same hours."""
    window = run_time_window(context, hourly_metrics.key, hourly_partitions)
    selected = [spec for spec in HOURLY_CHECKS if is_selected(context, spec)]
    if window is None:
        for spec in selected:
            yield not_evaluated(spec, "hourly_metrics has no materialized hour")
        return
    hours = int((window.end - window.start) / timedelta(hours=1))
    rows = _hourly_counts(warehouse, window.start, window.end)
    scope = {
        "hours_checked": dg.MetadataValue.int(hours),
        "rows_checked": dg.MetadataValue.int(len(rows)),
    }
    if COVER_EVERY_GAME in selected:
        seen = _hourly_coverage(warehouse, window.start, window.end)
        problems = [
            f"{r['game_key']} has snapshots at {r['hour_start']:%Y-%m-%d %H:00} but no row"
            for r in seen
            if not r["has_row"]
        ]
        yield check_result(
            COVER_EVERY_GAME,
            problems,
            {**scope, "game_hours_with_data": dg.MetadataValue.int(len(seen))},
        )
    if ENGAGEMENT_IN_RANGE in selected:
        problems = [
            f"{r['category_key']} {r['hour_start']:%Y-%m-%d %H:00}: avg_engagement "
            f"{r['avg_engagement']}"
            for r in rows
            if not (
                r["avg_engagement"] is not None
                and math.isfinite(r["avg_engagement"])
                and 0.0 <= r["avg_engagement"] <= 1.0
            )
        ]
        yield check_result(ENGAGEMENT_IN_RANGE, problems, scope)
    if COUNTS_MATCH_SNAPSHOTS in selected:
        problems = []
        for r in rows:
            for column, truth in (
                ("video_count", "videos"),
                ("snapshot_count", "snapshot_rows"),
                ("twitch_stream_count", "streams"),
            ):
                if r[column] != r[truth]:
                    problems.append(
                        f"{r['category_key']} {r['hour_start']:%Y-%m-%d %H:00}: {column} "
                        f"{r[column]}, snapshots say {r[truth]}"
                    )
        yield check_result(COUNTS_MATCH_SNAPSHOTS, problems, scope)


def _daily_against_hourly(warehouse: PostgresWarehouse, day: date) -> list[dict]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return warehouse.fetch_dicts(
        "WITH h AS ("
        " SELECT category_key, count(*) AS hours, max(viral_count) AS peak_viral,"
        " avg(viral_count::float8) AS avg_viral FROM intel_hourly_metrics"
        " WHERE hour_start >= %s AND hour_start < %s GROUP BY 1),"
        " d AS (SELECT * FROM intel_daily_metrics WHERE date = %s)"
        " SELECT coalesce(d.category_key, h.category_key) AS game,"
        " d.category_key IS NOT NULL AS has_daily_row, d.hours_covered, d.peak_viral_count,"
        " d.avg_viral_count, coalesce(h.hours, 0) AS hours, coalesce(h.peak_viral, 0) AS"
        " peak_viral, coalesce(h.avg_viral, 0) AS avg_viral"
        " FROM d FULL JOIN h ON h.category_key = d.category_key ORDER BY 1",
        (start, start + timedelta(days=1), day),
    )


def _daily_with_previous(warehouse: PostgresWarehouse, day: date) -> list[dict]:
    return warehouse.fetch_dicts(
        "SELECT d.category_key, d.avg_views, d.avg_viral_count, d.avg_engagement,"
        " d.views_trend, d.viral_trend, d.engagement_trend, p.avg_views AS previous_views,"
        " p.avg_viral_count AS previous_viral, p.avg_engagement AS previous_engagement"
        " FROM intel_daily_metrics AS d LEFT JOIN intel_daily_metrics AS p"
        " ON p.category_key = d.category_key AND p.date = d.date - 1"
        " WHERE d.date = %s ORDER BY 1",
        (day,),
    )


def _duration_counts(warehouse: PostgresWarehouse, day: date) -> list[dict]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return warehouse.fetch_dicts(
        "WITH latest AS ("
        " SELECT DISTINCT ON (game_key, video_id) game_key, live_state, view_count,"
        " duration_seconds FROM video_snapshots WHERE collected_at >= %s AND collected_at < %s"
        " ORDER BY game_key, video_id, collected_at DESC),"
        " expected AS (SELECT game_key, count(*) FILTER (WHERE live_state NOT IN"
        " ('upcoming', 'live') AND view_count IS NOT NULL AND duration_seconds >= %s"
        " AND duration_seconds < %s) AS videos FROM latest GROUP BY 1),"
        " stored AS (SELECT category_key, sum(video_count) AS videos"
        " FROM intel_duration_performance WHERE date = %s GROUP BY 1)"
        " SELECT coalesce(e.game_key, s.category_key) AS game, coalesce(e.videos, 0) AS expected,"
        " coalesce(s.videos, 0) AS stored FROM expected AS e"
        " FULL JOIN stored AS s ON s.category_key = e.game_key ORDER BY 1",
        (
            start,
            start + timedelta(days=1),
            DURATION_BUCKETS[0].min_seconds,
            DURATION_BUCKETS[-1].max_seconds,
            day,
        ),
    )


def _daily_agreement_problems(rows: list[dict], day: date) -> list[str]:
    problems = []
    for r in rows:
        if not r["has_daily_row"]:
            problems.append(f"{r['game']} {day}: {r['hours']} hourly rows but no daily row")
            continue
        if r["hours_covered"] != r["hours"]:
            problems.append(
                f"{r['game']} {day}: hours_covered {r['hours_covered']}, hourly rows {r['hours']}"
            )
        if r["peak_viral_count"] != r["peak_viral"]:
            problems.append(
                f"{r['game']} {day}: peak_viral_count {r['peak_viral_count']}, "
                f"hourly max {r['peak_viral']}"
            )
        if not same_number(r["avg_viral_count"], float(r["avg_viral"])):
            problems.append(
                f"{r['game']} {day}: avg_viral_count {r['avg_viral_count']}, "
                f"hourly mean {r['avg_viral']}"
            )
    return problems


def _trend_problems(rows: list[dict], day: date) -> list[str]:
    problems = []
    for r in rows:
        for trend, current, previous in (
            ("views_trend", "avg_views", "previous_views"),
            ("viral_trend", "avg_viral_count", "previous_viral"),
            ("engagement_trend", "avg_engagement", "previous_engagement"),
        ):
            expected = percent_change(float(r[current]), r[previous])
            if not same_number(r[trend], expected):
                problems.append(
                    f"{r['category_key']} {day}: {trend} {r[trend]}, expected {expected:.6g} "
                    "from the previous day's row"
                )
    return problems


@dg.multi_asset_check(specs=list(DAILY_CHECKS), can_subset=True, name="daily_tables_checks")
def daily_tables_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
) -> Iterator[dg.AssetCheckResult]:
    """The daily rollup and performance tables of the run's day, against their sources."""
    for spec in DAILY_CHECKS:
        if not is_selected(context, spec):
            continue
        window = run_time_window(context, spec.asset_key, daily_partitions)
        if window is None:
            yield not_evaluated(spec, f"{spec.asset_key.to_user_string()} has no materialized day")
            continue
        days = days_of(window.start, window.end)
        metadata: dict[str, dg.RawMetadataValue] = {"days_checked": dg.MetadataValue.int(len(days))}
        problems: list[str] = []
        if spec is DAILY_AGREES:
            covered: list[int] = []
            for day in days:
                rows = _daily_against_hourly(warehouse, day)
                problems += _daily_agreement_problems(rows, day)
                covered += [int(r["hours_covered"]) for r in rows if r["has_daily_row"]]
            metadata.update(
                games=dg.MetadataValue.int(len(covered)),
                hours_covered_min=dg.MetadataValue.int(min(covered, default=0)),
                hours_covered_mean=dg.MetadataValue.float(
                    round(sum(covered) / len(covered), 3) if covered else 0.0
                ),
                games_with_all_24_hours=dg.MetadataValue.int(sum(h == 24 for h in covered)),
            )
        elif spec is TRENDS_MATCH:
            with_previous = 0
            for day in days:
                rows = _daily_with_previous(warehouse, day)
                problems += _trend_problems(rows, day)
                with_previous += sum(r["previous_views"] is not None for r in rows)
            metadata["games_with_previous_day"] = dg.MetadataValue.int(with_previous)
        elif spec is DURATION_COUNTS:
            for day in days:
                problems += [
                    f"{r['game']} {day}: buckets hold {r['stored']} videos, the snapshots "
                    f"{r['expected']}"
                    for r in _duration_counts(warehouse, day)
                    if r["stored"] != r["expected"]
                ]
        elif spec is REGIONAL_SCORES:
            for day in days:
                problems += [
                    f"{r['category_key']} {day} {r['language_code']}: a score outside [0, 100]"
                    for r in warehouse.fetch_dicts(
                        "SELECT category_key, language_code FROM intel_regional_performance"
                        " WHERE date = %s AND NOT (competition_score BETWEEN 0 AND 100"
                        " AND opportunity_score BETWEEN 0 AND 100"
                        " AND market_share_percent BETWEEN 0 AND 100) ORDER BY 1, 2",
                        (day,),
                    )
                ]
        else:
            for day in days:
                problems += _premiere_problems(warehouse, day)
        yield check_result(spec, problems, metadata)


def _premiere_problems(warehouse: PostgresWarehouse, day: date) -> list[str]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    rows = warehouse.fetch_dicts(
        "WITH seen AS (SELECT DISTINCT game_key FROM video_snapshots"
        " WHERE collected_at >= %s AND collected_at < %s),"
        " stored AS (SELECT category_key, count(*) AS n FROM intel_premiere_performance"
        " WHERE date = %s GROUP BY 1)"
        " SELECT coalesce(seen.game_key, stored.category_key) AS game,"
        " seen.game_key IS NOT NULL AS has_videos, coalesce(stored.n, 0) AS rows"
        " FROM seen FULL JOIN stored ON stored.category_key = seen.game_key ORDER BY 1",
        (start, start + timedelta(days=1), day),
    )
    return [
        f"{r['game']} {day}: {r['rows']} rows for a game "
        + ("with videos" if r["has_videos"] else "without videos")
        for r in rows
        if r["rows"] != (1 if r["has_videos"] else 0)
    ]
