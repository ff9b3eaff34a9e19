from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest

from intel_assets.defs.aggregation.checks import daily_tables_checks, hourly_metrics_checks
from intel_assets.defs.aggregation.definitions import DAILY_ASSETS
from intel_assets.defs.aggregation.hourly import hourly_metrics
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.check_results import evaluations, failed
from intel_assets_tests.defs.snapshot_rows import insert_streams, insert_videos

H = datetime(2026, 3, 4, 5, tzinfo=UTC)
D1 = datetime(2026, 3, 4, tzinfo=UTC)
D2 = D1 + timedelta(days=1)
HOURLY_NAMES = {
    "hourly_metrics_cover_every_game_with_data",
    "hourly_metrics_has_engagement_between_0_and_1",
    "hourly_metrics_video_counts_match_snapshots",
}
DAILY_NAMES = {
    "daily_rollup_agrees_with_hourly_rows",
    "daily_rollup_trends_match_previous_day",
    "duration_performance_counts_match_snapshots",
    "regional_performance_scores_between_0_and_100",
    "premiere_performance_covers_every_game_with_videos",
}


def _materialize(
    assets: list[Any],
    warehouse: PostgresWarehouse,
    instance: dg.DagsterInstance,
    partition: str | None = None,
    **tags: str,
) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize(
        assets,
        partition_key=partition,
        resources={"warehouse": warehouse},
        instance=instance,
        tags=tags or None,
        raise_on_error=False,
    )
    return evaluations(result)


def _checks_alone(
    checks: dg.AssetChecksDefinition,
    assets: list[dg.AssetsDefinition],
    warehouse: PostgresWarehouse,
    instance: dg.DagsterInstance,
    partition: str,
) -> dict[str, dg.AssetCheckEvaluation]:
    """Run only the checks on one partition, tagged as the UI tags a run of one partition."""
    result = dg.materialize(
        [*assets, checks],
        selection=dg.AssetSelection.checks(checks),
        resources={"warehouse": warehouse},
        instance=instance,
        tags={"dagster/partition": partition},
        raise_on_error=False,
    )
    return evaluations(result)


def _seed_hour(warehouse: PostgresWarehouse) -> None:
    insert_videos(
        warehouse,
        [
            dict(video_id="v1", game_key="fortnite", collected_at=H + timedelta(minutes=10),
                 view_count=100, like_count=10, comment_count=0),
            dict(video_id="v1", game_key="fortnite", collected_at=H + timedelta(minutes=50),
                 view_count=200, like_count=20, comment_count=0),
            dict(video_id="v2", game_key="fortnite", collected_at=H + timedelta(minutes=20),
                 view_count=1000, like_count=None),
            dict(video_id="v9", game_key="valorant", collected_at=H + timedelta(minutes=30),
                 view_count=50, like_count=5),
        ],
    )  # fmt: skip
    insert_streams(
        warehouse,
        [dict(stream_id=s, game_key="minecraft", collected_at=H + timedelta(minutes=15),
              viewer_count=v) for s, v in (("s1", 7), ("s2", 3))],
    )  # fmt: skip


def test_a_rolled_up_hour_passes_its_checks(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    _seed_hour(warehouse)
    one_hour = _materialize(
        [hourly_metrics, hourly_metrics_checks], warehouse, instance, f"{H:%Y-%m-%d-%H:%M}"
    )
    whole_day = _materialize(
        [hourly_metrics, hourly_metrics_checks],
        warehouse,
        instance,
        **{
            "dagster/asset_partition_range_start": f"{D1:%Y-%m-%d-%H:%M}",
            "dagster/asset_partition_range_end": f"{D1 + timedelta(hours=23):%Y-%m-%d-%H:%M}",
        },
    )

    assert set(one_hour) == set(whole_day) == HOURLY_NAMES
    assert failed(one_hour) == failed(whole_day) == {}
    cover = one_hour["hourly_metrics_cover_every_game_with_data"].metadata
    # fortnite and valorant have videos at 05:xx, minecraft streams: three game-hours.
    assert cover["game_hours_with_data"].value == 3
    assert cover["rows_checked"].value == 3
    assert cover["hours_checked"].value == 1
    # The single-run backfill of the day is checked as one window of 24 hours.
    assert (
        whole_day["hourly_metrics_video_counts_match_snapshots"].metadata["hours_checked"].value
        == 24
    )


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        # Valorant's row is gone though it has a snapshot in the hour.
        (["DELETE FROM intel_hourly_metrics WHERE category_key = 'valorant'"],
         {"hourly_metrics_cover_every_game_with_data": 1}),
        # Engagement 1.5 (the table's constraint, dropped in this test's own database, would
        # refuse it; the check must catch it on its own).
        (["ALTER TABLE intel_hourly_metrics"
          " DROP CONSTRAINT intel_hourly_metrics_avg_engagement_check",
          "UPDATE intel_hourly_metrics SET avg_engagement = 1.5 WHERE category_key = 'fortnite'"],
         {"hourly_metrics_has_engagement_between_0_and_1": 1}),
        # A snapshot that arrived after the rollup: fortnite now has 3 videos in 4 rows, its
        # row says 2 in 3 (two columns disagree).
        (["INSERT INTO video_snapshots (video_id, game_key, collected_at, collection_id, source,"
          " title, channel_id, published_at, is_short, live_state) VALUES ('v3', 'fortnite',"
          " '2026-03-04 05:55+00', 'late', 'chart', 't', 'c', '2026-03-01+00', false, 'none')"],
         {"hourly_metrics_video_counts_match_snapshots": 2}),
    ],
)  # fmt: skip
def test_each_hourly_check_fails_on_rows_that_break_it(
    warehouse: PostgresWarehouse,
    instance: dg.DagsterInstance,
    statements: list[str],
    expected: dict[str, int],
):
    _seed_hour(warehouse)
    assert (
        failed(
            _materialize(
                [hourly_metrics, hourly_metrics_checks], warehouse, instance, f"{H:%Y-%m-%d-%H:%M}"
            )
        )
        == {}
    )
    with warehouse.connection() as conn:
        for statement in statements:
            conn.execute(statement.encode())

    evaluations = _checks_alone(
        hourly_metrics_checks, [hourly_metrics], warehouse, instance, f"{H:%Y-%m-%d-%H:%M}"
    )

    assert set(evaluations) == HOURLY_NAMES
    assert failed(evaluations) == expected


def _video(video_id: str, at: datetime, views: int, likes: int | None, **extra: Any) -> dict:
    return dict(video_id=video_id, game_key="fortnite", collected_at=at, view_count=views,
                like_count=likes, comment_count=0, **extra)  # fmt: skip


def _seed_two_days(warehouse: PostgresWarehouse) -> None:
    short = dict(duration_seconds=30, is_short=True, default_audio_language="en")
    mid = dict(duration_seconds=600, default_audio_language="es")
    insert_videos(
        warehouse,
        [
            _video("v1", D1 + timedelta(hours=5, minutes=10), 100, 10, **short),
            _video("v2", D1 + timedelta(hours=5, minutes=10), 300, 30, **mid),
            _video("v1", D1 + timedelta(hours=9, minutes=10), 200, 20, **short),
            _video("v3", D1 + timedelta(hours=9, minutes=10), 1000, None, duration_seconds=1200),
            _video("v1", D2 + timedelta(hours=10), 400, 40, **short),
            _video("v2", D2 + timedelta(hours=10), 500, 100, **mid),
            # An upcoming premiere: no duration yet, left out of the duration buckets.
            _video("v4", D2 + timedelta(hours=10), 0, 0, live_state="upcoming"),
        ],
    )
    insert_streams(
        warehouse,
        [dict(stream_id="s", game_key="minecraft", collected_at=D2 + timedelta(hours=3),
              viewer_count=7, language="en")],
    )  # fmt: skip


def _roll_up_two_days(warehouse: PostgresWarehouse, instance: dg.DagsterInstance) -> list[dict]:
    _seed_two_days(warehouse)
    _materialize(
        [hourly_metrics],
        warehouse,
        instance,
        **{
            "dagster/asset_partition_range_start": f"{D1:%Y-%m-%d-%H:%M}",
            "dagster/asset_partition_range_end": f"{D2 + timedelta(hours=23):%Y-%m-%d-%H:%M}",
        },
    )
    days = []
    for day in (D1, D2):
        days.append(
            _materialize(
                [*DAILY_ASSETS, daily_tables_checks], warehouse, instance, f"{day:%Y-%m-%d}"
            )
        )
    return days


def test_rolled_up_days_pass_their_checks(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
):
    first, second = _roll_up_two_days(warehouse, instance)

    assert set(first) == set(second) == DAILY_NAMES
    assert failed(first) == failed(second) == {}
    # Day 1: fortnite in 2 hours (05:00, 09:00). Day 2: fortnite at 10:00, minecraft at 03:00.
    assert first["daily_rollup_agrees_with_hourly_rows"].metadata["hours_covered_min"].value == 2
    hours = second["daily_rollup_agrees_with_hourly_rows"].metadata
    assert (hours["games"].value, hours["hours_covered_mean"].value) == (2, 1.0)
    # Only fortnite has a day before the second day.
    trends = second["daily_rollup_trends_match_previous_day"].metadata
    assert trends["games_with_previous_day"].value == 1


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("UPDATE intel_daily_metrics SET hours_covered = 5"
         " WHERE date = '2026-03-05' AND category_key = 'fortnite'",
         {"daily_rollup_agrees_with_hourly_rows": 1}),
        # The first day re-materialized with other views: the second day's views trend is stale.
        ("UPDATE intel_daily_metrics SET avg_views = avg_views * 2"
         " WHERE date = '2026-03-04' AND category_key = 'fortnite'",
         {"daily_rollup_trends_match_previous_day": 1}),
        # v1 (30 s) was the under_1m bucket's only video: the buckets now hold 1 of 2 videos.
        ("DELETE FROM intel_duration_performance"
         " WHERE date = '2026-03-05' AND bucket_label = 'under_1m'",
         {"duration_performance_counts_match_snapshots": 1}),
        ("UPDATE intel_regional_performance SET market_share_percent = 120"
         " WHERE date = '2026-03-05' AND category_key = 'fortnite' AND language_code = 'en'",
         {"regional_performance_scores_between_0_and_100": 1}),
        ("DELETE FROM intel_premiere_performance"
         " WHERE date = '2026-03-05' AND category_key = 'fortnite'",
         {"premiere_performance_covers_every_game_with_videos": 1}),
    ],
)  # fmt: skip
def test_each_daily_check_fails_on_rows_that_break_it(
    warehouse: PostgresWarehouse,
    instance: dg.DagsterInstance,
    statement: str,
    expected: dict[str, int],
):
    _roll_up_two_days(warehouse, instance)
    with warehouse.connection() as conn:
        changed = conn.execute(statement.encode()).rowcount
    assert changed == 1

    evaluations = _checks_alone(
        daily_tables_checks, DAILY_ASSETS, warehouse, instance, f"{D2:%Y-%m-%d}"
    )

    assert set(evaluations) == DAILY_NAMES
    assert failed(evaluations) == expected
