"""`intel-assets dev` on a fresh state folder: the UI at once, the history arriving as runs."""

import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from intel_assets.dev.local_deployment import graphql
from intel_assets.settings import Settings
from intel_assets_tests.conftest import free_port, start_dagster_dev, stop_dagster_dev

SEED_HOURS = 1
SEEDING_RUNS = """
{ runsOrError(filter: {tags: [{key: "intel/seeding", value: "true"}]}) {
    ... on Runs { results { runId status tags { key value } } } } }
"""
HOURLY_PARTITIONS = """
{ assetNodeOrError(assetKey: {path: ["hourly_metrics"]}) {
    ... on AssetNode { assetPartitionStatuses {
      ... on TimePartitionStatuses { ranges { startKey endKey status } } } } } }
"""
MATERIALIZATIONS = """
{ assetOrError(assetKey: {path: ["hourly_metrics"]}) {
    ... on Asset { assetMaterializations(limit: 50) { partition runId } } } }
"""
SEEDED = re.compile(r"seeded (\d{4}-\d\d-\d\d \d\d:\d\d) to (\d{4}-\d\d-\d\d \d\d:\d\d) UTC")


def _hours(start: datetime, end: datetime) -> list[str]:
    hours, at = [], start
    while at < end:
        hours.append(f"{at:%Y-%m-%d-%H:%M}")
        at += timedelta(hours=1)
    return hours


def _materialized_hours(url: str) -> set[str]:
    """Every hourly partition the UI shows materialized."""
    ranges = graphql(url, HOURLY_PARTITIONS)["assetNodeOrError"]["assetPartitionStatuses"]
    found: set[str] = set()
    for r in ranges["ranges"]:
        if r["status"] != "MATERIALIZED":
            continue
        at = datetime.strptime(r["startKey"], "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
        end = datetime.strptime(r["endKey"], "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
        found.update(_hours(at, end + timedelta(hours=1)))
    return found


@pytest.mark.long
def test_dev_serves_the_ui_within_a_minute_and_seeds_as_dagster_runs(
    tmp_path: Path, server_state: Path
):
    settings = Settings(state_dir=server_state)
    log = tmp_path / "dev.log"
    # A fresh state folder: dev starts its own Postgres and Redis, as on a fresh clone.
    running = start_dagster_dev(
        settings, free_port(), log, seed_days=SEED_HOURS / 24, partitions_start=None
    )
    try:
        print(f"GraphQL answered {running.seconds_to_ui:.1f} s after the command started")
        assert running.seconds_to_ui < 60

        seen_while_seeding: list[dict[str, Any]] = []
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if "seeding backfills:" in text:
                break
            if not seen_while_seeding:
                seen_while_seeding = graphql(running.url, SEEDING_RUNS)["runsOrError"]["results"]
            time.sleep(3)
        text = log.read_text(errors="replace")
        assert "seeding backfills:" in text, text[-3000:]
        match = SEEDED.search(text)
        assert match, text[-3000:]
        start, end = (
            datetime.strptime(m, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) for m in match.groups()
        )
        assert end - start == timedelta(hours=SEED_HOURS)
        seeded = _hours(start, end)

        runs = graphql(running.url, SEEDING_RUNS)["runsOrError"]["results"]
        print(f"seeding runs: {len(runs)}; {len(seen_while_seeding)} seen before seeding ended")
        assert runs and all(r["status"] == "SUCCESS" for r in runs), runs
        # An hour: one batch, one backfill run of hourly_metrics over the range.
        (run,) = runs
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert tags["dagster/asset_partition_range_start"] == seeded[0]
        assert tags["dagster/asset_partition_range_end"] == seeded[-1]
        assert set(seeded) <= _materialized_hours(running.url)
        materialized = graphql(running.url, MATERIALIZATIONS)["assetOrError"][
            "assetMaterializations"
        ]
        assert {m["partition"] for m in materialized if m["runId"] == run["runId"]} == set(seeded)

        # The partitions start on the UTC day of the first seeded hour, kept for the next
        # start (dev reads the clock a moment before the seeding does: when an hour began in
        # between, its first hour is the one before); the seeding marked the folder seeded.
        kept = date.fromisoformat((server_state / "partitions-start").read_text())
        assert kept in {start.date(), (start - timedelta(hours=1)).date()}
        assert (server_state / "history-seeded").exists()
    finally:
        stop_dagster_dev(running.process)
