"""What the Dagster UI shows about the graph: owners, descriptions, schemas, row counts, checks.

Read through the webserver's GraphQL API of the session's running `intel-assets dev`, as the
UI reads it.
"""

import time
from datetime import UTC, datetime, timedelta

from intel_assets.contracts.tables import ANALYSIS_RESULTS_COLUMNS, HOURLY_COLUMNS
from intel_assets.dev.local_deployment import graphql
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import Settings
from intel_assets_tests.conftest import DagsterDev
from intel_assets_tests.defs.snapshot_rows import insert_streams, insert_videos

REPOSITORY = {"repositoryLocationName": "creator_intel", "repositoryName": "__repository__"}

ASSETS = """
{ assetNodes {
    assetKey { path } description groupName
    owners { __typename ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    metadataEntries {
      label __typename
      ... on TableSchemaMetadataEntry { schema { columns { name type constraints { nullable } } } }
      ... on CodeReferencesMetadataEntry {
        codeReferences { __typename ... on LocalFileCodeReference { filePath lineNumber } }
      }
    }
} }
"""
SCHEDULES_AND_SENSORS = """
query Both($repo: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repo) {
    ... on Schedules { results { name description } }
  }
  sensorsOrError(repositorySelector: $repo) { ... on Sensors { results { name description } } }
}
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN = """
query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }
"""
MATERIALIZATION = """
query Latest($hour: String!) {
  assetNodeOrError(assetKey: {path: ["hourly_metrics"]}) {
    ... on AssetNode {
      latestMaterializationByPartition(partitions: [$hour]) {
        partition
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
}
"""
CHECK_EXECUTIONS = """
query Checks($name: String!, $partition: String) {
  assetCheckExecutions(assetKey: {path: ["hourly_metrics"]}, checkName: $name,
                       partition: $partition, limit: 5) {
    runId status partition evaluation { partition success }
  }
}
"""
HOURLY_CHECKS = (
    "hourly_metrics_cover_every_game_with_data",
    "hourly_metrics_has_engagement_between_0_and_1",
    "hourly_metrics_video_counts_match_snapshots",
)
TABLE_ASSETS = {
    "youtube_videos": "video_snapshots",
    "twitch_streams": "stream_snapshots",
    "hourly_metrics": "intel_hourly_metrics",
    "daily_rollup": "intel_daily_metrics",
    "duration_performance": "intel_duration_performance",
    "regional_performance": "intel_regional_performance",
    "premiere_performance": "intel_premiere_performance",
    **{
        f"{name}_intel": "intel_analysis_results"
        for name in (
            "viral", "title", "format", "description", "semantic", "regional", "live",
            "competition",
        )
    },
}  # fmt: skip
"""Each asset whose materialization replaces rows of one table, and that table."""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0]


def test_every_asset_has_an_owner_a_description_and_a_link_to_its_code(dagster_dev: DagsterDev):
    nodes = graphql(dagster_dev.url, ASSETS)["assetNodes"]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}

    assert set(TABLE_ASSETS) < set(by_key)
    assert {"monthly_archive", "retention"} < set(by_key)
    for key, node in by_key.items():
        assert node["owners"], key
        assert node["description"], key
        # The catalog and the graph show a description's first line as plain text.
        assert "`" not in _first_line(node["description"]), key
        (references,) = [
            e for e in node["metadataEntries"] if e["label"] == "dagster/code_references"
        ]
        (reference,) = references["codeReferences"]
        assert reference["filePath"].endswith(".py") and reference["lineNumber"] > 0, key
    owners = {key: node["owners"][0] for key, node in by_key.items()}
    assert owners["youtube_videos"] == {"__typename": "TeamAssetOwner", "team": "collection"}
    assert owners["viral_intel"] == {"__typename": "TeamAssetOwner", "team": "analysis"}
    assert owners["hourly_metrics"] == owners["monthly_archive"]
    assert owners["hourly_metrics"] == {"__typename": "TeamAssetOwner", "team": "warehouse"}


def test_every_table_asset_shows_its_table_and_column_schema(dagster_dev: DagsterDev):
    nodes = graphql(dagster_dev.url, ASSETS)["assetNodes"]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}

    schemas = {}
    for key in TABLE_ASSETS:
        entries = {e["label"]: e for e in by_key[key]["metadataEntries"]}
        assert entries["dagster/table_name"]["__typename"] == "TextMetadataEntry", key
        schemas[key] = entries["dagster/column_schema"]["schema"]["columns"]
    # The schema the UI shows is the column list the rollup writes, in table order.
    assert [c["name"] for c in schemas["hourly_metrics"]] == list(HOURLY_COLUMNS)
    assert [c["name"] for c in schemas["viral_intel"]] == list(ANALYSIS_RESULTS_COLUMNS)
    hour_start = next(c for c in schemas["hourly_metrics"] if c["name"] == "hour_start")
    assert hour_start == {
        "name": "hour_start",
        "type": "timestamp[us, tz=UTC]",
        "constraints": {"nullable": False},
    }
    views = next(c for c in schemas["youtube_videos"] if c["name"] == "view_count")
    assert views["type"] == "int64" and views["constraints"] == {"nullable": True}
    assert "dagster/column_schema" not in {
        e["label"] for e in by_key["monthly_archive"]["metadataEntries"]
    }


def test_every_schedule_and_sensor_says_what_it_does(dagster_dev: DagsterDev):
    data = graphql(dagster_dev.url, SCHEDULES_AND_SENSORS, {"repo": REPOSITORY})
    schedules = data["schedulesOrError"]["results"]
    sensors = data["sensorsOrError"]["results"]

    assert {s["name"] for s in schedules} >= {
        "hourly_metrics_schedule",
        "daily_rollup_schedule",
        "monthly_archive_schedule",
        "retention_schedule",
    }
    assert {s["name"] for s in sensors} >= {
        "collection_sensor",
        "game_discovery_sensor",
        "analysis_automation_sensor",
        "run_outcomes_sensor",
    }
    for item in schedules + sensors:
        assert item["description"], item["name"]
        assert "`" not in item["description"], item["name"]


def test_an_hour_run_shows_its_row_count_and_its_checks_on_the_partition(
    dagster_dev: DagsterDev, test_settings: Settings
):
    # An hour no other test of the session writes: two games, fortnite with two videos (one
    # seen twice), valorant with one video and a stream.
    hour = datetime(2026, 3, 2, 14, tzinfo=UTC)
    partition = f"{hour:%Y-%m-%d-%H:%M}"
    assert test_settings.postgres_url
    warehouse = PostgresWarehouse(url=test_settings.postgres_url)
    try:
        insert_videos(
            warehouse,
            [
                dict(video_id="ui-a", game_key="fortnite", view_count=100,
                     collected_at=hour + timedelta(minutes=5)),
                dict(video_id="ui-a", game_key="fortnite", view_count=160,
                     collected_at=hour + timedelta(minutes=35)),
                dict(video_id="ui-b", game_key="fortnite", view_count=40,
                     collected_at=hour + timedelta(minutes=35)),
                dict(video_id="ui-c", game_key="valorant", view_count=7,
                     collected_at=hour + timedelta(minutes=50)),
            ],
        )  # fmt: skip
        insert_streams(
            warehouse,
            [
                dict(stream_id="ui-s", game_key="valorant", viewer_count=12,
                     collected_at=hour + timedelta(minutes=20)),
            ],
        )  # fmt: skip
        # What the UI sends for "Materialize" of one partition of hourly_metrics.
        params = {
            "selector": {**REPOSITORY, "jobName": "hourly_metrics_job"},
            "mode": "default",
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        }
        launched = graphql(dagster_dev.url, LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        status, deadline = "", time.monotonic() + 240
        while time.monotonic() < deadline:
            status = graphql(dagster_dev.url, RUN, {"id": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(2)
        assert status == "SUCCESS"

        (latest,) = graphql(dagster_dev.url, MATERIALIZATION, {"hour": partition})[
            "assetNodeOrError"
        ]["latestMaterializationByPartition"]
        assert latest["partition"] == partition
        figures = {e["label"]: e.get("intValue") for e in latest["metadataEntries"]}
        # One row per game with snapshots in the hour: fortnite and valorant.
        assert figures["dagster/row_count"] == 2
        assert "rows_written" not in figures

        for name in HOURLY_CHECKS:
            executions = graphql(
                dagster_dev.url, CHECK_EXECUTIONS, {"name": name, "partition": partition}
            )["assetCheckExecutions"]
            assert [(e["runId"], e["status"], e["partition"]) for e in executions] == [
                (run_id, "SUCCEEDED", partition)
            ], name
            assert executions[0]["evaluation"] == {"partition": partition, "success": True}
    finally:
        warehouse.close()
