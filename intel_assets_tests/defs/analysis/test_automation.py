"""How analysis follows collection in the project's Definitions: the conditions and the sensor."""

from collections.abc import Iterator

import dagster as dg
import pytest

from intel_assets.analyzers.registry import ANALYZERS
from intel_assets.definitions import defs as project_defs

ALL_INTEL = {dg.AssetKey(f"{name}_intel") for name in ANALYZERS}
READS_STREAMS = {dg.AssetKey(f"{n}_intel") for n, s in ANALYZERS.items() if "streams" in s.needs}


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return project_defs()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        ephemeral.add_dynamic_partitions("games", ["fortnite", "minecraft"])
        yield ephemeral


def _requested(result: dg.EvaluateAutomationConditionsResult) -> dict[dg.AssetKey, set[str]]:
    return {
        key: {str(partition) for partition in result.get_requested_partitions(key)}
        for key in ALL_INTEL
        if result.get_num_requested(key)
    }


def _collected(instance: dg.DagsterInstance, asset: str, game: str) -> None:
    """A collection's materialization, as the collection asset reports it."""
    instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=game))


def test_the_eight_assets_are_in_the_project_with_a_sensor_that_starts_running(
    definitions: dg.Definitions,
):
    graph = definitions.resolve_asset_graph()
    assert set(graph.get_all_asset_keys()) >= ALL_INTEL
    for key in ALL_INTEL:
        node = graph.get(key)
        assert node.group_name == "analysis"
        assert node.automation_condition is not None
        assert node.automation_condition.get_label() == "after_each_collection"
        parents = {parent.path[0] for parent in node.parent_keys}
        assert parents == (
            {"youtube_videos", "twitch_streams"} if key in READS_STREAMS else {"youtube_videos"}
        )
    sensor = definitions.resolve_sensor_def("analysis_automation_sensor")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.asset_selection.resolve(graph) == ALL_INTEL


def test_each_collection_requests_the_analyses_reading_it_once(
    definitions: dg.Definitions, instance: dg.DagsterInstance
):
    tick = dg.evaluate_automation_conditions(definitions, instance)
    assert _requested(tick) == {}

    _collected(instance, "youtube_videos", "fortnite")
    tick = dg.evaluate_automation_conditions(definitions, instance, cursor=tick.cursor)
    # Twitch was never collected: the analyses that read streams wait for it.
    assert _requested(tick) == {key: {"fortnite"} for key in ALL_INTEL - READS_STREAMS}

    tick = dg.evaluate_automation_conditions(definitions, instance, cursor=tick.cursor)
    assert _requested(tick) == {}

    _collected(instance, "twitch_streams", "fortnite")
    _collected(instance, "youtube_videos", "minecraft")
    tick = dg.evaluate_automation_conditions(definitions, instance, cursor=tick.cursor)
    assert _requested(tick) == {
        **{key: {"fortnite"} for key in READS_STREAMS},
        **{key: {"minecraft"} for key in ALL_INTEL - READS_STREAMS},
    }
