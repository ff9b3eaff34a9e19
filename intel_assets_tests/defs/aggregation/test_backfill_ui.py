"""Weeks of `hourly_metrics` and `twitch_game_stats` backfilled the way the Dagster UI does it,
on a running instance: one backfill of both ranges, as the UI's "Materialize selected" dialog
launches it for two partitioned assets, each filled by one run."""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pytest

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
from intel_assets_tests.defs.aggregation.test_twitch_stats import _random_week
from intel_assets_tests.defs.aggregation.twitch_oracle import assert_same_rows, expected_day
from intel_assets_tests.defs.snapshot_rows import insert_videos

FIRST_HOUR = "2026-02-01-00:00"
LAST_HOUR = "2026-02-07-23:00"
HOURS_START = datetime(2026, 2, 1, tzinfo=UTC)
GAMES = ("backfill_alpha", "backfill_beta")

# The Twitch week follows the hourly one, so neither rollup sees the other's snapshots.
FIRST_DAY = date(2026, 2, 8)
DAYS = 7
DAYS_START = datetime(2026, 2, 8, tzinfo=UTC)
TWITCH_TABLES = {
    "twitch_game_stats": (DAILY_STATS_COLUMNS, "day"),
    "twitch_game_stats_hourly": (HOURLY_STATS_COLUMNS, "hour_start"),
    "twitch_game_top_streamers": (TOP_STREAMER_COLUMNS, "day"),
}

BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      assetBackfillData {
        assetBackfillStatuses {
          ... on AssetPartitionsStatusCounts {
            assetKey { path } numPartitionsTargeted numPartitionsMaterialized numPartitionsFailed
          }
        }
      }
    }
  }
}
"""
RUNS = """
query Runs($id: String!) {
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
    ... on Runs { results { runId status startTime endTime assetSelection { path } } }
  }
}
"""
PARTITIONS = """
{
  assetNodeOrError(assetKey: {path: ["hourly_metrics"]}) {
    ... on AssetNode {
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { startKey endKey status } }
      }
    }
  }
}
"""


@dataclass
class Backfilled:
    """What the UI's backfill of both weeks left: its status and runs, and the warehouse."""

    backfill: dict[str, Any]
    runs: list[dict[str, Any]]
    warehouse: PostgresWarehouse


def _wait(url: str, backfill_id: str) -> dict[str, Any]:
    started = time.monotonic()
    backfill: dict[str, Any] = {}
    while time.monotonic() - started < 300:
        backfill = graphql(url, BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING"):
            break
        time.sleep(2)
    print(f"backfill {backfill_id}: {backfill['status']} after {time.monotonic() - started:.1f} s")
    return backfill


@pytest.fixture(scope="module")
def backfilled(dagster_dev: DagsterDev, test_settings: Settings) -> Iterator[Backfilled]:
    """Both weeks' snapshots stored, then one backfill of both assets' ranges, finished.

    The session's `dagster dev` runs with its sensors and schedules stopped (as a user would
    before a large backfill on a small machine), so the backfill's runs wait behind nothing.
    """
    assert test_settings.postgres_url
    warehouse = PostgresWarehouse(url=test_settings.postgres_url)
    try:
        # One video per game per hour of the week, its views the hour's number.
        insert_videos(
            warehouse,
            (
                dict(video_id=f"{game}-v", game_key=game, view_count=hour,
                     collected_at=HOURS_START + timedelta(hours=hour, minutes=30))
                for game in GAMES
                for hour in range(168)
            ),
        )  # fmt: skip
        _random_week(warehouse, FIRST_DAY, DAYS)
        last_day = FIRST_DAY + timedelta(days=DAYS - 1)
        # Exactly what the UI's "Materialize selected" range dialog sends for two assets.
        params = {
            "partitionsByAssets": [
                {
                    "assetKey": {"path": ["hourly_metrics"]},
                    "partitions": {"range": {"start": FIRST_HOUR, "end": LAST_HOUR}},
                },
                {
                    "assetKey": {"path": ["twitch_game_stats"]},
                    "partitions": {
                        "range": {"start": FIRST_DAY.isoformat(), "end": last_day.isoformat()}
                    },
                },
            ]
        }
        launched = graphql(dagster_dev.url, LAUNCH, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill = _wait(dagster_dev.url, launched["backfillId"])
        runs = graphql(dagster_dev.url, RUNS, {"id": launched["backfillId"]})["runsOrError"]
        yield Backfilled(backfill=backfill, runs=runs["results"], warehouse=warehouse)
    finally:
        warehouse.close()


def _asset_counts(backfilled: Backfilled, asset: str) -> dict[str, Any]:
    assert backfilled.backfill["status"] == "COMPLETED_SUCCESS", backfilled.backfill
    statuses = backfilled.backfill["assetBackfillData"]["assetBackfillStatuses"]
    (counts,) = [s for s in statuses if s["assetKey"]["path"] == [asset]]
    return counts


def _runs_of(backfilled: Backfilled, asset: str) -> list[dict[str, Any]]:
    return [r for r in backfilled.runs if {"path": [asset]} in (r["assetSelection"] or [])]


def test_a_week_backfill_from_the_ui_is_one_run_filling_168_hours(
    backfilled: Backfilled, dagster_dev: DagsterDev
):
    assert _asset_counts(backfilled, "hourly_metrics") == {
        "assetKey": {"path": ["hourly_metrics"]},
        "numPartitionsTargeted": 168,
        "numPartitionsMaterialized": 168,
        "numPartitionsFailed": 0,
    }
    runs = _runs_of(backfilled, "hourly_metrics")
    assert [r["status"] for r in runs] == ["SUCCESS"]  # one run for the whole week
    print(f"the run took {runs[0]['endTime'] - runs[0]['startTime']:.1f} s")
    ranges = graphql(dagster_dev.url, PARTITIONS)["assetNodeOrError"]["assetPartitionStatuses"][
        "ranges"
    ]
    assert {"startKey": FIRST_HOUR, "endKey": LAST_HOUR, "status": "MATERIALIZED"} in ranges

    stored = backfilled.warehouse.fetch_dicts(
        "SELECT category_key, count(*) AS hours, sum(video_count) AS videos, "
        "sum(total_views) AS views FROM intel_hourly_metrics "
        "WHERE hour_start >= %s AND hour_start < %s GROUP BY 1 ORDER BY 1",
        (HOURS_START, HOURS_START + timedelta(days=7)),
    )
    # Each game: 168 hours, one video each, views 0 + 1 + ... + 167 = 167 * 168 / 2.
    assert stored == [
        {"category_key": game, "hours": 168, "videos": 168, "views": 14028} for game in GAMES
    ]


def _twitch_week(warehouse: PostgresWarehouse) -> dict[str, pd.DataFrame]:
    start, end = DAYS_START, DAYS_START + timedelta(days=DAYS)
    frames = {}
    for table, (columns, period) in TWITCH_TABLES.items():
        bounds = (start, end) if period == "hour_start" else (start.date(), end.date())
        frame = warehouse.fetch_frame(
            f"SELECT * FROM {table} WHERE {period} >= %s AND {period} < %s".encode(), bounds
        )
        keys = [c for c in columns if c in ("game_key", "day", "hour_start", "rank")]
        frames[table] = frame[list(columns)].sort_values(keys).reset_index(drop=True)
    return frames


def test_a_week_of_twitch_statistics_from_the_ui_equals_day_by_day_runs(backfilled: Backfilled):
    counts = _asset_counts(backfilled, "twitch_game_stats")
    assert (counts["numPartitionsMaterialized"], counts["numPartitionsFailed"]) == (DAYS, 0)
    runs = _runs_of(backfilled, "twitch_game_stats")
    assert [r["status"] for r in runs] == ["SUCCESS"]  # one run for the week
    warehouse = backfilled.warehouse
    from_ui = _twitch_week(warehouse)

    for n in range(DAYS):
        result = dg.materialize(
            [twitch_game_stats],
            partition_key=(FIRST_DAY + timedelta(days=n)).isoformat(),
            resources={"warehouse": warehouse, "collection_policy": CollectionPolicy()},
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert result.success
    day_by_day = _twitch_week(warehouse)

    for table in TWITCH_TABLES:
        pd.testing.assert_frame_equal(from_ui[table], day_by_day[table])
    daily = from_ui["twitch_game_stats"]
    assert len(daily) == DAYS * daily["game_key"].nunique()
    snapshots = warehouse.fetch_frame(
        b"SELECT game_key, stream_id, user_id, user_login, user_name, collected_at,"
        b" viewer_count FROM stream_snapshots WHERE collected_at >= %s AND collected_at < %s",
        (DAYS_START, DAYS_START + timedelta(days=DAYS)),
    )
    snapshots["collected_at"] = pd.to_datetime(snapshots["collected_at"], utc=True)
    games = list(daily["game_key"].unique())
    floats = ["hours_watched", "hours_streamed", "avg_viewers", "avg_channels", "viewer_ratio"]
    for n in range(DAYS):
        day = FIRST_DAY + timedelta(days=n)
        expected = expected_day(snapshots, games, day)[0]
        stored = daily[daily["day"] == day]
        assert_same_rows(stored, expected, ["game_key"], floats, ["peak_viewers"])
