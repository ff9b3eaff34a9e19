import json
import logging
import sys
from collections.abc import Iterator

import dagster as dg
import pytest
import yaml

from intel_assets.catalog import load_catalog
from intel_assets.defs.collection.assets import twitch_streams
from intel_assets.defs.collection.checks import twitch_streams_checks
from intel_assets.dev import history_seeding
from intel_assets.logs import JsonLogFormatter
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import PROJECT_ROOT
from intel_assets.simulator import Simulator
from intel_assets.simulator.server import RunningSimulator


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    with Simulator(seed=3, videos_per_game_per_day=20, channels=200).running() as running:
        yield running


@pytest.fixture
def project_instance() -> Iterator[dg.DagsterInstance]:
    """A test instance with the project's `python_logs` settings from `dagster.yaml`."""
    settings = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    with dg.instance_for_test(overrides={"python_logs": settings["python_logs"]}) as instance:
        instance.add_dynamic_partitions("games", load_catalog().keys)
        yield instance


def test_every_run_line_is_json_with_the_run_id_and_partition(
    capfd: pytest.CaptureFixture[str],
    simulator: RunningSimulator,
    project_instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
):
    resources = history_seeding.simulator_resources(
        simulator.youtube_url, simulator.twitch_url, simulator.auth_url, warehouse, hot_tier
    )
    capfd.readouterr()
    result = dg.materialize(
        [twitch_streams, twitch_streams_checks],
        partition_key="fortnite",
        resources=resources,
        instance=project_instance,
    )
    out = capfd.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]

    assert result.success
    # stdout holds nothing but JSON lines, each of this run and partition.
    assert lines and {line["run_id"] for line in lines} == {result.run_id}
    assert {line["partition"] for line in lines} == {"fortnite"}
    # Our module's logger (intel_assets.resources.twitch), handed over by dagster.yaml.
    token = [line for line in lines if line["logger"] == "intel_assets.resources.twitch"]
    assert token and token[0]["message"].startswith("obtained a Twitch app token")
    assert token[0]["step"] == "twitch_streams" and token[0]["level"] == "INFO"
    events = {line.get("event") for line in lines}
    assert {"STEP_SUCCESS", "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"} <= events


def test_a_line_outside_runs_has_null_run_fields_and_the_error():
    try:
        raise ValueError("bad input")
    except ValueError:
        record = logging.getLogger("intel_assets.cli").makeRecord(
            "intel_assets.cli",
            logging.ERROR,
            __file__,
            1,
            "could not %s",
            ("start",),
            sys.exc_info(),
        )
    line = json.loads(JsonLogFormatter().format(record))

    assert line["logger"] == "intel_assets.cli"
    assert line["message"] == "could not start"
    assert (line["run_id"], line["partition"], line["step"]) == (None, None, None)
    assert "ValueError: bad input" in line["error"]
