from datetime import timedelta

import dagster as dg
import httpx

from intel_assets_tests.conftest import DagsterDev


def test_every_collection_and_rollup_asset_carries_its_freshness_policy():
    from intel_assets.definitions import defs

    definitions = defs()

    def policy(fail_hours: float, warn_hours: float) -> dg.FreshnessPolicy:
        return dg.FreshnessPolicy.time_window(
            fail_window=timedelta(hours=fail_hours), warn_window=timedelta(hours=warn_hours)
        )

    # The seed's 4 hours for collections; an hour past each rollup schedule's cadence.
    expected = {
        "youtube_videos": policy(4, 3),
        "twitch_streams": policy(4, 3),
        "hourly_metrics": policy(2, 1.5),
        "daily_rollup": policy(26, 25),
        "duration_performance": policy(26, 25),
        "regional_performance": policy(26, 25),
        "premiere_performance": policy(26, 25),
        "twitch_game_stats": policy(26, 25),
        "channel_growth": policy(26, 25),
        "twitch_broadcaster_growth": policy(26, 25),
    }
    found = {}
    for key in expected:
        (spec,) = definitions.resolve_assets_def(key).specs
        found[key] = spec.freshness_policy
    assert found == expected


def test_the_ui_shows_the_freshness_policies(dagster_dev: DagsterDev):
    query = (
        "{ assetNodes { assetKey { path } internalFreshnessPolicy { __typename"
        " ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds } } } }"
    )
    answer = httpx.post(f"{dagster_dev.url}/graphql", json={"query": query}, timeout=60).json()
    policies = {
        "/".join(node["assetKey"]["path"]): node["internalFreshnessPolicy"]
        for node in answer["data"]["assetNodes"]
    }

    def window(fail_hours: float, warn_hours: float) -> dict:
        return {
            "__typename": "TimeWindowFreshnessPolicy",
            "failWindowSeconds": int(fail_hours * 3600),
            "warnWindowSeconds": int(warn_hours * 3600),
        }

    assert policies["youtube_videos"] == policies["twitch_streams"] == window(4, 3)
    assert policies["hourly_metrics"] == window(2, 1.5)
    assert policies["daily_rollup"] == policies["premiere_performance"] == window(26, 25)
