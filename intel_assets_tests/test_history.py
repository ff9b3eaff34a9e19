from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import time_machine

from intel_assets.catalog import load_catalog
from intel_assets.dev.history_seeding import seed_history, simulator_resources
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Simulator
from intel_assets_tests.clock import pacific_time
from intel_assets_tests.defs.collection.conftest import REGIONS


@pytest.mark.long
def test_seeding_replays_past_hours_through_the_sensor_and_the_collection_assets(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier
):
    from intel_assets.defs.collection.assets import CollectionPolicy

    end = pacific_time(6)
    with Simulator(seed=5, videos_per_game_per_day=40, channels=500).running() as sim:
        resources: dict[str, Any] = simulator_resources(
            sim.youtube_url,
            sim.twitch_url,
            sim.auth_url,
            warehouse,
            hot_tier,
            CollectionPolicy(regions=REGIONS),
        )
        report = seed_history(5 / 24, resources, end=end)
    games = load_catalog().keys

    assert report.failed == 0
    assert report.start == end - timedelta(hours=5)
    streams = warehouse.fetch_frame(
        b"SELECT game_key, collected_at, count(*) AS n FROM stream_snapshots GROUP BY 1, 2"
    )
    videos = warehouse.fetch_frame(
        b"SELECT game_key, collected_at FROM video_snapshots GROUP BY 1, 2"
    )
    # Twitch every 30 minutes, stepped hourly: every game once in each of the 5 hours, at :05,
    # each time with every stream the simulated world had live then (a game with none then
    # stores no rows for that collection, but its collection still ran: see the quota log).
    collected = [report.start + timedelta(hours=h, minutes=5) for h in range(5)]
    for game in games:
        rows = streams[streams.game_key == game]
        stored = {
            pd.Timestamp(t).to_pydatetime(): int(n)
            for t, n in zip(rows["collected_at"], rows["n"], strict=True)
        }
        live = {at: len(sim.world.live_streams(game, at)) for at in collected}
        assert stored == {at: n for at, n in live.items() if n}, game
    spent = warehouse.fetch_frame(
        b"SELECT DISTINCT category_key, date_trunc('minute', created_at) AS at "
        b"FROM intel_quota_log WHERE platform = 'twitch'"
    )
    for game in games:
        times = spent.loc[spent.category_key == game, "at"]
        assert sorted(pd.Timestamp(t).to_pydatetime() for t in times) == collected, game
    # YouTube: every game at the first hour; priority-1 games (every 2 h) again at +2 h, +4 h;
    # priority-2/3 games (every 3-4 h) once more at +3 h or +4 h.
    per_game = videos.groupby("game_key")["collected_at"].count().to_dict()
    assert per_game == {
        "fortnite": 3, "minecraft": 3, "valorant": 3,
        "apex_legends": 2, "warzone": 2, "gta": 2, "roblox": 2, "league_of_legends": 2,
    }  # fmt: skip
    assert report.runs["twitch_streams"] == 5 * len(games)
    assert report.runs["youtube_videos"] == sum(per_game.values())


def test_seed_history_collects_with_real_looking_credentials_in_the_environment(
    warehouse_url: str,
    redis_url: str,
    warehouse: PostgresWarehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    """The command's simulator and its collections share the simulator's own credentials."""
    from intel_assets import cli

    for name, value in {
        "YOUTUBE_API_KEY": "AIzaSyD4-real-looking-key-0123456789abc",
        "TWITCH_CLIENT_ID": "gp762nuuoqcoxypju8c569th9wz7q5",
        "TWITCH_CLIENT_SECRET": "41vpdji4e9gif29md0ouet6fktd2",
        "INTEL_POSTGRES_URL": warehouse_url,
        "INTEL_REDIS_URL": redis_url,
        "INTEL_STATE_DIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(name, value)
    # Two hourly steps: 23:00 and 00:00 (UTC) before the pinned start of the hour.
    with time_machine.travel(datetime(2026, 11, 18, 1, 30, tzinfo=UTC), tick=False):
        assert cli.main(["seed-history", "--days", str(2 / 24)]) == 0
    printed = capsys.readouterr().err
    assert "seeded 2026-11-17 23:00 to 2026-11-18 01:00 UTC" in printed
    assert "runs failed" not in printed
    collected = warehouse.fetch_dicts(
        b"SELECT count(DISTINCT game_key)::int AS games FROM video_snapshots"
    )
    assert collected == [{"games": len(load_catalog().keys)}]
    failures = warehouse.fetch_dicts(
        b"SELECT count(*)::int AS n FROM intel_collection_state WHERE failures_in_row > 0"
    )
    assert failures == [{"n": 0}]
