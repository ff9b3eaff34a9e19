from typing import Any

import dagster as dg

from intel_assets.catalog import effective_catalog
from intel_assets.defs.collection.sensors import DISCOVERY_TOP_GAMES, game_discovery_sensor
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator.server import RunningSimulator
from intel_assets_tests.clock import pacific_time


def _evaluate(resources: dict[str, Any], instance: dg.DagsterInstance):
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return game_discovery_sensor(context)


def test_top_games_the_catalog_lacks_become_partitions_and_categories_that_are_not_games_do_not(
    simulator: RunningSimulator,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    warehouse: PostgresWarehouse,
):
    simulator.set_clock(pacific_time(12))
    catalog_ids = set(effective_catalog(warehouse).by_twitch_id())
    top = simulator.world.top_categories(simulator.now(), DISCOVERY_TOP_GAMES)
    expected = {c.name for c in top if c.igdb_id and c.game_id not in catalog_ids}
    not_games = {c.name for c in top if not c.igdb_id}
    assert expected and not_games  # the simulated top 20 holds both kinds

    result = _evaluate(resources, instance)

    assert isinstance(result, dg.SensorResult)
    added = result.dynamic_partitions_requests or []
    stored = warehouse.fetch_dicts(b"SELECT game_key, display_name FROM intel_discovered_games")
    assert {row["display_name"] for row in stored} == expected
    assert sorted(added[0].partition_keys) == sorted(row["game_key"] for row in stored)
    catalog = effective_catalog(warehouse)
    for row in stored:
        game = catalog.get(row["game_key"])
        assert game.phrases == (row["display_name"],)
        assert game.priority == 3
    # A second evaluation finds nothing new.
    again = _evaluate(resources, instance)
    assert isinstance(again, dg.SkipReason)
