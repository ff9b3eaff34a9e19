"""Driving the simulator over HTTP (`/_sim`), its clock, its Date header and its command."""

import email.utils
from datetime import UTC, datetime, timedelta

import time_machine

from intel_assets import cli
from intel_assets.simulator import Fault, RemoteSimulator, Simulator
from intel_assets_tests.simulator.conftest import NOW, truth, youtube


def test_remote_controls_drive_and_read_a_simulator(sim, http):
    remote = RemoteSimulator(sim.base_url)
    try:
        remote.set_clock(datetime(2026, 11, 21, 12, tzinfo=UTC))
        remote.set_quota_limit("default", 1)
        remote.inject(Fault(kind="status", api="youtube", path_prefix="/youtube/v3/search"))
        statuses = [
            youtube(http, sim, "videos", part="id", chart="mostPopular").status_code,
            youtube(http, sim, "videos", part="id", chart="mostPopular").status_code,
            youtube(http, sim, "search", part="id", q="gta", type="video").status_code,
        ]

        assert statuses == [200, 403, 503]
        assert remote.now() == datetime(2026, 11, 21, 12, tzinfo=UTC)
        assert remote.counts()["youtube"]["videos.list"] == {"calls": 2, "units": 1}
        assert remote.units_by_bucket() == {"default": 1, "search": 1, "batch_stats": 0}
        assert remote.quota_limits()["default"] == 1
        assert remote.faults() == []

        remote.advance_clock(timedelta(hours=1))
        assert sim.now() == datetime(2026, 11, 21, 13, tzinfo=UTC)
        at = sim.now()
        assert remote.chart_ids("JP") == sim.world.chart_ids("JP", at)
        assert remote.viral_video_ids("gta", within=timedelta(days=2)) == sim.world.viral_video_ids(
            "gta", at, timedelta(days=2)
        )
        shares = remote.language_shares("gta")
        assert shares == sim.world.language_shares("gta", at)
        video_id = sim.world.chart_ids("US", at)[0]
        answer = remote.video_truth(video_id)
        assert answer["video_id"] == video_id
        assert answer["views"] == truth(sim, video_id).views_at(at.timestamp())

        remote.reset_quota()
        assert remote.units_by_bucket() == {"default": 0, "search": 0, "batch_stats": 0}
        assert remote.counts()["youtube"]["videos.list"]["calls"] == 0
        remote.follow_wall_clock()
        assert abs(sim.now() - datetime.now(UTC)) < timedelta(seconds=5)
    finally:
        remote.close()


def test_date_header_is_the_simulator_clock(sim, http):
    answer = youtube(http, sim, "videoCategories", part="snippet", regionCode="US")

    assert email.utils.parsedate_to_datetime(answer.headers["Date"]) == NOW


def test_default_clock_follows_time_machine(http):
    with Simulator(channels=50, videos_per_game_per_day=1).running() as sim:
        with time_machine.travel(datetime(2027, 3, 1, 9, 30, tzinfo=UTC), tick=False):
            answer = youtube(http, sim, "videoCategories", part="snippet", regionCode="US")
            assert sim.now() == datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
        date = email.utils.parsedate_to_datetime(answer.headers["Date"])
        assert date == datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def test_unknown_control_paths_are_404(sim, http):
    assert http.get(f"{sim.base_url}/_sim/nothing").status_code == 404
    assert http.post(f"{sim.base_url}/_sim/clock", json={}).status_code == 400


def test_command_line_has_the_simulator(sim):
    args = cli.build_parser().parse_args(["simulator", "--port", "0", "--seed", "3"])

    assert (args.port, args.seed, args.videos_per_game_per_day) == (0, 3, 120)
    assert args.func.__name__ == "_cmd_simulator"


def test_credentials_come_from_the_clients_environment(http):
    environ = {"YOUTUBE_API_KEY": "from-env", "TWITCH_CLIENT_ID": "env-client"}
    with Simulator.from_environment(environ, videos_per_game_per_day=1).running() as sim:
        accepted = youtube(
            http, sim, "videoCategories", part="snippet", regionCode="US", key="from-env"
        )
        token = http.post(
            f"{sim.auth_url}/token",
            data={"client_id": "env-client", "client_secret": "simulator-secret",
                  "grant_type": "client_credentials"},
        )  # fmt: skip

    assert accepted.status_code == 200
    assert token.status_code == 200
