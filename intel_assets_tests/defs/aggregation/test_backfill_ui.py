"""A week of `hourly_metrics` backfilled the way the Dagster UI does it, on a running instance."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from intel_assets.dev.background_seeding import LAUNCH
from intel_assets.dev.local_deployment import graphql
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import Settings
from intel_assets_tests.conftest import DagsterDev
from intel_assets_tests.defs.snapshot_rows import insert_videos

FIRST_HOUR = "2026-02-01-00:00"
LAST_HOUR = "2026-02-07-23:00"
START = datetime(2026, 2, 1, tzinfo=UTC)
GAMES = ("backfill_alpha", "backfill_beta")

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
    ... on Runs { results { runId status startTime endTime } }
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

SENSORS = """
{ sensorsOrError(repositorySelector: {repositoryLocationName: "creator_intel",
                                      repositoryName: "__repository__"}) {
    ... on Sensors { results { id name sensorState { status } } } } }
"""
STOP_SENSOR = """
mutation Stop($id: String!) { stopSensor(id: $id) { __typename } }
"""
UNFINISHED_RUNS = """
{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {
    ... on Runs { results { runId } } } }
"""
TERMINATE = """
mutation Terminate($ids: [String!]!) {
  terminateRuns(runIds: $ids, terminatePolicy: MARK_AS_CANCELED_IMMEDIATELY) { __typename }
}
"""


def test_a_week_backfill_from_the_ui_is_one_run_filling_168_hours(
    dagster_dev: DagsterDev, test_settings: Settings
):
    assert test_settings.postgres_url
    warehouse = PostgresWarehouse(url=test_settings.postgres_url)
    try:
        # One video per game per hour of the week, its views the hour's number.
        insert_videos(
            warehouse,
            (
                dict(video_id=f"{game}-v", game_key=game, view_count=hour,
                     collected_at=START + timedelta(hours=hour, minutes=30))
                for game in GAMES
                for hour in range(168)
            ),
        )  # fmt: skip

        # As a user would before a large backfill on a small machine: stop the sensors and
        # cancel the collections they queued, so the backfill's run does not wait behind them.
        sensors = graphql(dagster_dev.url, SENSORS)["sensorsOrError"]["results"]
        for sensor in sensors:
            if sensor["sensorState"]["status"] == "RUNNING":
                stopped = graphql(dagster_dev.url, STOP_SENSOR, {"id": sensor["id"]})
                assert stopped["stopSensor"]["__typename"] == "StopSensorMutationResult", stopped
        unfinished = graphql(dagster_dev.url, UNFINISHED_RUNS)["runsOrError"]["results"]
        if unfinished:
            graphql(dagster_dev.url, TERMINATE, {"ids": [r["runId"] for r in unfinished]})

        # Exactly what the UI's "Materialize selected" range dialog sends for one asset.
        params = {
            "partitionsByAssets": [
                {
                    "assetKey": {"path": ["hourly_metrics"]},
                    "partitions": {"range": {"start": FIRST_HOUR, "end": LAST_HOUR}},
                }
            ]
        }
        launched = graphql(dagster_dev.url, LAUNCH, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill_id = launched["backfillId"]

        started = time.monotonic()
        status = ""
        backfill: dict[str, Any] = {}
        while time.monotonic() - started < 300:
            backfill = graphql(dagster_dev.url, BACKFILL, {"id": backfill_id})[
                "partitionBackfillOrError"
            ]
            status = backfill["status"]
            if status not in ("REQUESTED", "CANCELING", "FAILING"):
                break
            time.sleep(2)
        elapsed = time.monotonic() - started
        print(f"backfill {backfill_id}: {status} after {elapsed:.1f} s")

        assert status == "COMPLETED_SUCCESS", backfill
        counts = backfill["assetBackfillData"]["assetBackfillStatuses"]
        assert counts == [
            {
                "assetKey": {"path": ["hourly_metrics"]},
                "numPartitionsTargeted": 168,
                "numPartitionsMaterialized": 168,
                "numPartitionsFailed": 0,
            }
        ]
        runs = graphql(dagster_dev.url, RUNS, {"id": backfill_id})["runsOrError"]["results"]
        assert [r["status"] for r in runs] == ["SUCCESS"]  # one run for the whole week
        print(f"the run took {runs[0]['endTime'] - runs[0]['startTime']:.1f} s")
        ranges = graphql(dagster_dev.url, PARTITIONS)["assetNodeOrError"]["assetPartitionStatuses"][
            "ranges"
        ]
        assert {"startKey": FIRST_HOUR, "endKey": LAST_HOUR, "status": "MATERIALIZED"} in ranges

        stored = warehouse.fetch_dicts(
            "SELECT category_key, count(*) AS hours, sum(video_count) AS videos, "
            "sum(total_views) AS views FROM intel_hourly_metrics "
            "WHERE hour_start >= %s AND hour_start < %s GROUP BY 1 ORDER BY 1",
            (START, START + timedelta(days=7)),
        )
        # Each game: 168 hours, one video each, views 0 + 1 + ... + 167 = 167 * 168 / 2.
        assert stored == [
            {"category_key": game, "hours": 168, "videos": 168, "views": 14028} for game in GAMES
        ]
    finally:
        warehouse.close()
