"""The whole graph over one simulated day, with every asset check: none may fail.

Collection runs through the real sensor (`seed_history` steps the clock hour by hour; each
YouTube collection is followed by the eight analyses), then the day's 24 hours are rolled up in
one single-run backfill, the day's daily tables, channel and broadcaster growth, channel
projections and Twitch statistics follow (and one game's top Twitch broadcasters), the month's
Twitch statistics, the month is archived and retention runs, each with its checks. The simulated
day is yesterday by the test clock (`clock.ANCHOR`).
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import time_machine
from dagster_aws.s3 import S3Resource

from intel_assets.defs.aggregation.definitions import DAILY_ASSETS, GROWTH_ASSETS
from intel_assets.defs.aggregation.hourly import hourly_metrics
from intel_assets.defs.aggregation.twitch_stats import twitch_game_stats, twitch_game_stats_monthly
from intel_assets.defs.archive.monthly import monthly_archive
from intel_assets.defs.archive.retention import retention
from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.defs.collection.twitch_channels import twitch_channels
from intel_assets.dev.history_seeding import seed_history, simulator_resources
from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Simulator
from intel_assets_tests.clock import utc_midnight

REGIONS = ["US", "JP"]


def _graph() -> tuple[list[dg.AssetChecksDefinition], set[dg.AssetCheckKey]]:
    """The project's check definitions, and every check key of its asset graph."""
    from intel_assets.definitions import defs

    definitions = defs()
    checks = [c for c in definitions.asset_checks or [] if isinstance(c, dg.AssetChecksDefinition)]
    return checks, set(definitions.resolve_asset_graph().asset_check_keys)


def _checks_of(
    checks: list[dg.AssetChecksDefinition], assets: list[dg.AssetsDefinition]
) -> list[dg.AssetChecksDefinition]:
    """The check definitions that check any of `assets` (so a run evaluates all their checks)."""
    keys = {key for asset in assets for key in asset.keys}
    return [c for c in checks if any(k.asset_key in keys for k in c.check_keys)]


def _text_numbers(metadata: dict[str, Any]) -> list[str]:
    """Metadata entries that hold a number as text (the UI cannot plot them)."""
    found = []
    for key, value in metadata.items():
        if isinstance(value, dg.TextMetadataValue) and value.text is not None:
            try:
                float(value.text)
            except ValueError:
                continue
            found.append(key)
    return found


def _top_broadcasters_of_one_game(
    check_defs: list[dg.AssetChecksDefinition], resources: dict[str, Any], at: datetime
) -> list[dg.AssetCheckEvaluation]:
    """`twitch_channels[fortnite]` with its checks at `at` (the simulator's clock set there)."""
    with time_machine.travel(at, tick=False), dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("games", ["fortnite"])
        result = dg.materialize(
            [twitch_channels, *_checks_of(check_defs, [twitch_channels])],
            partition_key="fortnite",
            resources=resources,
            instance=instance,
        )
    assert result.success
    return list(result.get_asset_check_evaluations())


@pytest.mark.long
def test_a_simulated_day_runs_the_whole_graph_and_every_check_passes(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier, tmp_path: Path
):
    check_defs, every_check = _graph()
    day: date = utc_midnight(-1).date()
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    day_end = day_start + timedelta(days=1)
    last_hour = day_end - timedelta(hours=1)
    next_month = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    archive = ArchiveStore(url=str(tmp_path / "archive"), s3=S3Resource())
    # Twitch every 3 hours: the statistics weigh each snapshot with the same interval.
    policy = CollectionPolicy(regions=REGIONS, twitch_interval_minutes=180)
    evaluated: set[dg.AssetCheckKey] = set()
    failed: list[str] = []
    text_numbers: list[str] = []

    def run(assets: list[dg.AssetsDefinition], **kwargs: Any) -> None:
        result = dg.materialize(
            [*assets, *_checks_of(check_defs, assets)],
            resources={"warehouse": warehouse, "archive": archive, "collection_policy": policy},
            instance=instance,
            raise_on_error=False,
            **kwargs,
        )
        assert result.success, [e.event_type_value for e in result.all_events if e.is_failure]
        for check in result.get_asset_check_evaluations():
            evaluated.add(dg.AssetCheckKey(check.asset_key, check.check_name))
            if not check.passed:
                failed.append(f"{check.check_name}: {check.description}")
            text_numbers.extend(_text_numbers(dict(check.metadata)))
        for event in result.get_asset_materialization_events():
            text_numbers.extend(_text_numbers(dict(event.materialization.metadata)))

    # Collection, through the real sensor, with the collection checks and the analyses.
    with Simulator(
        seed=21, videos_per_game_per_day=40, channels=400, twitch_streamers_per_category=150
    ).running() as sim:
        resources = simulator_resources(
            sim.youtube_url, sim.twitch_url, sim.auth_url, warehouse, hot_tier,
            policy,
        )  # fmt: skip
        report = seed_history(1, resources, end=day_end)
        sim.set_clock(day_end)
        for check in _top_broadcasters_of_one_game(check_defs, resources, day_end):
            evaluated.add(dg.AssetCheckKey(check.asset_key, check.check_name))
            if not check.passed:
                failed.append(f"{check.check_name}: {check.description}")

    with dg.instance_for_test() as instance:
        with time_machine.travel(day_end + timedelta(minutes=30), tick=False):
            run(
                [hourly_metrics],
                tags={
                    "dagster/asset_partition_range_start": f"{day_start:%Y-%m-%d-%H:%M}",
                    "dagster/asset_partition_range_end": f"{last_hour:%Y-%m-%d-%H:%M}",
                },
            )
            run(list(DAILY_ASSETS), partition_key=f"{day:%Y-%m-%d}")
            run(list(GROWTH_ASSETS), partition_key=f"{day:%Y-%m-%d}")
            run([twitch_game_stats], partition_key=f"{day:%Y-%m-%d}")
        with time_machine.travel(
            datetime(next_month.year, next_month.month, 1, 0, 30, tzinfo=UTC), tick=False
        ):
            run([twitch_game_stats_monthly], partition_key=f"{day:%Y-%m}-01")
            run([monthly_archive], partition_key=f"{day:%Y-%m}-01")
            run(
                [retention],
                run_config={"ops": {"retention": {"config": {"as_of": day_end.isoformat()}}}},
            )

    evaluated |= {key for key in every_check if key.name in report.checks}
    assert report.failed == 0
    # Every check of the graph was evaluated: collection and analysis while seeding, the
    # rollups', the archive's and retention's after.
    assert every_check - evaluated == set()
    # Twitch every 3 hours: 8 games x 8 slots. Each YouTube collection ran its checks and all
    # eight analyses (with theirs).
    assert report.runs["twitch_streams"] == 8 * 8
    collections = report.runs["youtube_videos"]
    assert collections >= 8 * 6  # every game at least every 4 hours (6 a day)
    assert {n for a, n in report.runs.items() if a.endswith("_intel")} == {collections}
    assert report.checks["youtube_videos_has_unique_video_ids"] == collections
    # No check failed, not even a warning.
    assert report.failed_checks == []
    assert failed == []
    assert text_numbers == []
