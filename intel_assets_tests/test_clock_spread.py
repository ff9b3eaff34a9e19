"""The clock spread: what depends on "now" holds on both sides of every boundary it keys on.

Each test runs once per boundary of `clock.BOUNDARIES` (Pacific and UTC midnight, the first of
a month, both daylight-saving changes, a leap day), with the process clock moved there. The
boundaries lie months away from the machine's clock, so whatever still read the machine's time
(a Redis expiry at an absolute time, Postgres's `now()`) would show here. The rest of the suite
runs at the session's anchor (`clock.ANCHOR`); together they are the clock-spread check.
"""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import redis
import time_machine

from intel_assets.api import ApiConfig, create_app
from intel_assets.catalog import CATALOG_PATH_VARIABLE
from intel_assets.defs.aggregation.definitions import DAILY_ASSETS
from intel_assets.defs.aggregation.hourly import hourly_metrics
from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.dev.history_seeding import seed_history, simulator_resources
from intel_assets.resources.errors import QuotaExhaustedError
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import BucketSpec, QuotaLedger
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Simulator
from intel_assets_tests.api.conftest import served
from intel_assets_tests.clock import BOUNDARIES, Boundary

SPREAD = [pytest.param(b, id=b.name) for b in BOUNDARIES]
GAMES = ("fortnite", "valorant")
# Two games of the packaged catalog, so that one hour on each side of a boundary stays cheap.
CATALOG = """
[games.fortnite]
display_name = "Fortnite"
priority = 1
refresh_hours = 2.0
video_budget = 30
phrases = ["fortnite"]
description_phrases = ["fortnite"]
exclude_phrases = []
search_query = "fortnite"
twitch_game_id = "33214"
twitch_name = "Fortnite"

[games.valorant]
display_name = "VALORANT"
priority = 1
refresh_hours = 2.0
video_budget = 30
phrases = ["valorant", "valo"]
description_phrases = ["valorant"]
exclude_phrases = []
search_query = "valorant"
twitch_game_id = "516575"
twitch_name = "VALORANT"
"""


class FixedClock:
    """The ledger's clock, set by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.mark.parametrize("boundary", SPREAD)
def test_the_quota_day_turns_exactly_at_pacific_midnight(redis_url: str, boundary: Boundary):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    clock = FixedClock(boundary.at - timedelta(seconds=30))
    ledger = QuotaLedger(
        client, platform="youtube", buckets=[BucketSpec("default", 10_000)], clock=clock
    )
    before = ledger.reserve("default", "videos.list", 3)
    clock.at = boundary.at + timedelta(seconds=30)
    after = ledger.reserve("default", "videos.list", 2)
    status = ledger.status()["default"]

    assert (before.window, after.window) == tuple(d.isoformat() for d in boundary.pacific_days)
    assert (before.reset_at, after.reset_at) == boundary.quota_resets
    # A new quota day starts from zero; within one day the spends add up.
    new_day = boundary.pacific_days[0] != boundary.pacific_days[1]
    assert status.used == (2 if new_day else 5)
    assert status.reset_at == boundary.quota_resets[1]
    # The counter lives until its reset on the ledger's clock, not on Redis's (months away).
    key = f"intel:quota:youtube:default:{after.window}"
    left = (boundary.quota_resets[1] - clock.at).total_seconds() * 1000
    assert left - 2000 <= int(client.pttl(key)) <= left  # type: ignore[arg-type]
    # quotaExceeded just after the boundary closes the day it happened in, until its reset.
    assert ledger.close_bucket("default") == boundary.quota_resets[1]
    clock.at = boundary.quota_resets[1] - timedelta(seconds=1)
    with pytest.raises(QuotaExhaustedError) as refused:
        ledger.reserve("default", "videos.list")
    assert refused.value.reason == "closed"
    clock.at = boundary.quota_resets[1]
    assert ledger.reserve("default", "videos.list").remaining == 9_999


def _rollup(assets: list, warehouse: PostgresWarehouse, **kwargs: Any) -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            assets, resources={"warehouse": warehouse}, instance=instance, **kwargs
        )
    assert result.success


def _midnight_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def _hour_starts(rows: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromisoformat(r["hour_start"]) for r in rows]


@pytest.mark.parametrize("boundary", SPREAD)
def test_an_hour_collected_on_each_side_of_a_boundary_rolls_up_and_is_served(
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    boundary: Boundary,
):
    catalog = tmp_path / "games.toml"
    catalog.write_text(CATALOG)
    monkeypatch.setenv(CATALOG_PATH_VARIABLE, str(catalog))
    b = boundary.at
    first, second = b - timedelta(minutes=55), b + timedelta(minutes=5)
    with Simulator(
        seed=3, videos_per_game_per_day=30, channels=200, twitch_streamers_per_category=300
    ).running() as sim:
        resources = simulator_resources(
            sim.youtube_url, sim.twitch_url, sim.auth_url, warehouse, hot_tier,
            CollectionPolicy(regions=["US"], uploads_playlists=0),
        )  # fmt: skip
        # The sensor steps hourly at :05: once 55 minutes before the boundary, once 5 after.
        report = seed_history(2 / 24, resources, end=b + timedelta(hours=1))
        live = {
            (game, at): len(sim.world.live_streams(game, at))
            for game in GAMES
            for at in (first, second)
        }

    # Both games: a first YouTube collection before the boundary (then not due for 2 hours),
    # and Twitch in each hour's slot.
    assert report.failed == 0
    assert report.runs["youtube_videos"] == 2 and report.runs["twitch_streams"] == 4
    spends = warehouse.fetch_frame(
        b"SELECT DISTINCT platform, quota_day, created_at FROM intel_quota_log"
    )
    days = {(p, pd.Timestamp(t).to_pydatetime()): d for p, d, t in spends.itertuples(index=False)}
    # Every spend is logged on the quota day it happened in.
    assert days[("youtube", first)] == days[("twitch", first)] == boundary.pacific_days[0]
    assert days[("twitch", second)] == boundary.pacific_days[1]
    # Each snapshot is stored in the month partition of its own time.
    partitions = warehouse.fetch_dicts(
        b"SELECT DISTINCT tableoid::regclass::text AS part, collected_at FROM stream_snapshots"
    )
    for row in partitions:
        month = boundary.months[0] if row["collected_at"] < b else boundary.months[1]
        assert row["part"] == f"stream_snapshots_{month:%Y_%m}"
    assert {row["collected_at"] for row in partitions} == {at for (_, at), n in live.items() if n}

    config = ApiConfig(postgres_url=warehouse.url, redis_url=redis_url)
    with time_machine.travel(b + timedelta(minutes=70), tick=True):
        _rollup(
            [hourly_metrics],
            warehouse,
            tags={
                "dagster/asset_partition_range_start": f"{b - timedelta(hours=1):%Y-%m-%d-%H:%M}",
                "dagster/asset_partition_range_end": f"{b:%Y-%m-%d-%H:%M}",
            },
        )
        with served(create_app(config)) as api:
            hourly = {game: api.get(f"/v1/games/{game}/hourly").json() for game in GAMES}
            quota = api.get("/v1/quota")
    # A day is rolled up once it is over, as its schedule does at 00:15.
    for day in sorted(set(boundary.utc_days)):
        with time_machine.travel(_midnight_after(day) + timedelta(minutes=15), tick=True):
            _rollup(DAILY_ASSETS, warehouse, partition_key=f"{day:%Y-%m-%d}")
    today = _midnight_after(boundary.utc_days[1]) + timedelta(minutes=30)
    with time_machine.travel(today, tick=True), served(create_app(config)) as api:
        daily = {game: api.get(f"/v1/games/{game}/daily").json() for game in GAMES}

    for game in GAMES:
        # The hour before the boundary holds the game's videos; the hour after it holds rows
        # only where the game had live streams then.
        expected = [b - timedelta(hours=1)] + ([b] if live[(game, second)] else [])
        assert _hour_starts(hourly[game]["hours"]) == expected, game
        assert hourly[game]["hours"][0]["video_count"] > 0
        # The default daily window ends today (UTC), the day after the boundary's: every day
        # with snapshots is in it.
        days_with_data = sorted(
            {boundary.utc_days[0]} | ({boundary.utc_days[1]} if live[(game, second)] else set())
        )
        assert [d["date"] for d in daily[game]["days"]] == [d.isoformat() for d in days_with_data]
    assert quota.status_code == 200
    default = next(
        x for x in quota.json()["buckets"] if (x["platform"], x["bucket"]) == ("youtube", "default")
    )
    # 10 minutes after the boundary: a new quota day has spent nothing yet.
    new_day = boundary.pacific_days[0] != boundary.pacific_days[1]
    assert (default["used"] == 0) == new_day
    assert datetime.fromisoformat(default["reset_at"]) == boundary.quota_resets[1]
