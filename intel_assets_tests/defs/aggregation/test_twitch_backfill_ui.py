"""A week of `twitch_game_stats` backfilled the way the Dagster UI does it, on a running instance,
against the same days run one by one."""

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from intel_assets.defs.aggregation.twitch_stats import (
    DAILY_STATS_COLUMNS,
    HOURLY_STATS_COLUMNS,
    TOP_STREAMER_COLUMNS,
    twitch_game_stats,
)
from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.dev.background_seeding import LAUNCH
from intel_assets.dev.local_deployment import graphql
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import Settings
from intel_assets_tests.conftest import DagsterDev
from intel_assets_tests.defs.aggregation.test_backfill_ui import (
    BACKFILL,
    RUNS,
    SENSORS,
    STOP_SENSOR,
    TERMINATE,
    UNFINISHED_RUNS,
)
from intel_assets_tests.defs.aggregation.test_twitch_stats import _random_week
from intel_assets_tests.defs.aggregation.twitch_oracle import assert_same_rows, expected_day

FIRST_DAY = date(2026, 2, 8)
DAYS = 7
START = datetime(2026, 2, 8, tzinfo=UTC)
TABLES = {
    "twitch_game_stats": (DAILY_STATS_COLUMNS, "day"),
    "twitch_game_stats_hourly": (HOURLY_STATS_COLUMNS, "hour_start"),
    "twitch_game_top_streamers": (TOP_STREAMER_COLUMNS, "day"),
}


def _quiet(url: str) -> None:
    """Stop the sensors and cancel what they queued, so the backfill's run does not wait."""
    for sensor in graphql(url, SENSORS)["sensorsOrError"]["results"]:
        if sensor["sensorState"]["status"] == "RUNNING":
            graphql(url, STOP_SENSOR, {"id": sensor["id"]})
    unfinished = graphql(url, UNFINISHED_RUNS)["runsOrError"]["results"]
    if unfinished:
        graphql(url, TERMINATE, {"ids": [r["runId"] for r in unfinished]})


def _week(warehouse: PostgresWarehouse) -> dict[str, pd.DataFrame]:
    start, end = START, START + timedelta(days=DAYS)
    frames = {}
    for table, (columns, period) in TABLES.items():
        bounds = (start, end) if period == "hour_start" else (start.date(), end.date())
        frame = warehouse.fetch_frame(
            f"SELECT * FROM {table} WHERE {period} >= %s AND {period} < %s".encode(), bounds
        )
        keys = [c for c in columns if c in ("game_key", "day", "hour_start", "rank")]
        frames[table] = frame[list(columns)].sort_values(keys).reset_index(drop=True)
    return frames


def _wait(url: str, backfill_id: str) -> dict[str, Any]:
    started = time.monotonic()
    backfill: dict[str, Any] = {}
    while time.monotonic() - started < 300:
        backfill = graphql(url, BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING"):
            break
        time.sleep(2)
    return backfill


def test_a_week_of_twitch_statistics_from_the_ui_equals_day_by_day_runs(
    dagster_dev: DagsterDev, test_settings: Settings
):
    assert test_settings.postgres_url
    warehouse = PostgresWarehouse(url=test_settings.postgres_url)
    try:
        _random_week(warehouse, FIRST_DAY, DAYS)
        _quiet(dagster_dev.url)
        last = FIRST_DAY + timedelta(days=DAYS - 1)
        params = {
            "partitionsByAssets": [
                {
                    "assetKey": {"path": ["twitch_game_stats"]},
                    "partitions": {
                        "range": {"start": FIRST_DAY.isoformat(), "end": last.isoformat()}
                    },
                }
            ]
        }
        launched = graphql(dagster_dev.url, LAUNCH, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill = _wait(dagster_dev.url, launched["backfillId"])

        assert backfill["status"] == "COMPLETED_SUCCESS", backfill
        (counts,) = backfill["assetBackfillData"]["assetBackfillStatuses"]
        assert (counts["numPartitionsMaterialized"], counts["numPartitionsFailed"]) == (DAYS, 0)
        runs = graphql(dagster_dev.url, RUNS, {"id": launched["backfillId"]})["runsOrError"]
        assert [r["status"] for r in runs["results"]] == ["SUCCESS"]  # one run for the week
        from_ui = _week(warehouse)

        for n in range(DAYS):
            result = dg.materialize(
                [twitch_game_stats],
                partition_key=(FIRST_DAY + timedelta(days=n)).isoformat(),
                resources={"warehouse": warehouse, "collection_policy": CollectionPolicy()},
                instance=dg.DagsterInstance.ephemeral(),
            )
            assert result.success
        day_by_day = _week(warehouse)

        for table in TABLES:
            pd.testing.assert_frame_equal(from_ui[table], day_by_day[table])
        daily = from_ui["twitch_game_stats"]
        assert len(daily) == DAYS * daily["game_key"].nunique()
        snapshots = warehouse.fetch_frame(
            b"SELECT game_key, stream_id, user_id, user_login, user_name, collected_at,"
            b" viewer_count FROM stream_snapshots WHERE collected_at >= %s AND collected_at < %s",
            (START, START + timedelta(days=DAYS)),
        )
        snapshots["collected_at"] = pd.to_datetime(snapshots["collected_at"], utc=True)
        games = list(daily["game_key"].unique())
        floats = ["hours_watched", "hours_streamed", "avg_viewers", "avg_channels", "viewer_ratio"]
        for n in range(DAYS):
            day = FIRST_DAY + timedelta(days=n)
            expected = expected_day(snapshots, games, day)[0]
            stored = daily[daily["day"] == day]
            assert_same_rows(stored, expected, ["game_key"], floats, ["peak_viewers"])
    finally:
        warehouse.close()
