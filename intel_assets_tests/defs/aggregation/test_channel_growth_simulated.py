"""Channel growth recovered from collections on the simulator, whose channels grow at known rates.

A simulated channel has `subscribers` on 2026-01-01 and gains `subscriber_gain_per_day` at each
UTC midnight after; the API shows the count rounded down to three significant figures.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
import time_machine

from intel_assets.defs.aggregation.channel_growth import channel_growth
from intel_assets.defs.aggregation.twitch_checks import channel_growth_checks
from intel_assets.defs.collection.assets import COLLECTION_ID_TAG, youtube_videos
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Simulator
from intel_assets_tests.defs.check_results import evaluations, failed
from intel_assets_tests.defs.collection.conftest import api_resources

DAY_END = datetime(2026, 3, 21, tzinfo=UTC)
COLLECTED = [DAY_END - timedelta(days=d, hours=12) for d in (8, 2, 1)]  # days D-7, D-1, D


def _as_shown(count: int) -> int:
    """A subscriber count as YouTube shows it: rounded down to three significant figures."""
    if count < 1000:
        return count
    scale = 10 ** (len(str(count)) - 3)
    return count // scale * scale


def test_collected_channels_grow_by_their_known_daily_gain(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier, instance: dg.DagsterInstance
):
    instance.add_dynamic_partitions("games", ["fortnite"])
    with Simulator(seed=23, videos_per_game_per_day=40, channels=300).running() as simulator:
        resources = api_resources(simulator, warehouse, hot_tier)
        for n, at in enumerate(COLLECTED):
            # A day later the day-long channel cache has expired; Redis's own clock cannot
            # see the simulated days go by, so the test empties it.
            for key in hot_tier.client().scan_iter("youtube:channel:*"):
                hot_tier.client().delete(key)
            simulator.set_clock(at)
            with time_machine.travel(at, tick=False):
                collected = dg.materialize(
                    [youtube_videos],
                    partition_key="fortnite",
                    resources=resources,
                    instance=instance,
                    tags={COLLECTION_ID_TAG: f"fortnite:yt:{n}"},
                )
            assert collected.success
        world = simulator.world.youtube

    result = dg.materialize(
        [channel_growth, channel_growth_checks],
        partition_key=f"{COLLECTED[-1]:%Y-%m-%d}",
        resources={"warehouse": warehouse},
        instance=instance,
    )
    assert result.success and failed(evaluations(result)) == {}

    rows = warehouse.fetch_dicts("SELECT * FROM channel_growth WHERE game_key = 'fortnite'")
    changed = [r for r in rows if r["subscribers_change_1d"] is not None]
    assert len(changed) >= 5, len(changed)
    unrounded = 0
    for row in rows:
        channel = world.channel(row["channel_id"])
        assert channel is not None
        if channel.hidden_subscribers:
            assert row["subscriber_count"] is None and row["subscribers_change_1d"] is None
            continue
        now = channel.subscribers_at(row["fetched_at"].timestamp())
        assert row["subscriber_count"] == _as_shown(now)
        for days in (1, 7):
            before = row[f"fetched_at_{days}d"]
            if before is None:
                continue
            then = channel.subscribers_at(before.timestamp())
            assert row[f"subscribers_change_{days}d"] == _as_shown(now) - _as_shown(then)
            if now < 1000:  # shown exactly: the change is the known gain of `days` days
                assert row[f"subscribers_change_{days}d"] == days * channel.subscriber_gain_per_day
                unrounded += 1
    assert unrounded >= 3, unrounded
    ranked = sorted(
        (r for r in changed if r["rank_7d_absolute"]), key=lambda r: r["rank_7d_absolute"]
    )
    gains = [r["subscribers_change_7d"] for r in ranked]
    assert gains == sorted(gains, reverse=True)
