"""Helix and the token endpoint: auth, the token bucket, streams, games, videos, channels."""

from datetime import UTC, datetime, timedelta

import pytest

from intel_assets.simulator import Simulator
from intel_assets_tests.simulator.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    NOW,
    app_token,
    helix_headers,
)


def _token(http, sim, **params):
    return http.post(f"{sim.auth_url}/token", data=params)


def test_token_endpoint_refuses_wrong_credentials_with_twitchs_bodies(sim, http):
    wrong_secret = _token(
        http, sim, client_id=CLIENT_ID, client_secret="nope", grant_type="client_credentials"
    )
    wrong_client = _token(
        http, sim, client_id="nope", client_secret=CLIENT_SECRET, grant_type="client_credentials"
    )
    no_grant = _token(http, sim, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    assert (wrong_secret.status_code, wrong_secret.json()) == (
        403,
        {"status": 403, "message": "invalid client secret"},
    )
    assert (wrong_client.status_code, wrong_client.json()) == (
        400,
        {"status": 400, "message": "invalid client"},
    )
    assert no_grant.status_code == 400
    assert sim.counts()["auth"]["token"] == {"calls": 3}


def test_token_expires_after_its_lifetime_on_the_simulator_clock(http):
    with Simulator(
        channels=50, videos_per_game_per_day=1, twitch_token_lifetime_seconds=3600
    ).running() as sim:
        sim.set_clock(NOW)
        token = _token(
            http, sim, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            grant_type="client_credentials",
        ).json()  # fmt: skip
        headers = {"Authorization": f"Bearer {token['access_token']}", "Client-Id": CLIENT_ID}
        assert token["expires_in"] == 3600

        sim.advance_clock(timedelta(seconds=3599))
        assert http.get(f"{sim.twitch_url}/games/top", headers=headers).status_code == 200
        sim.advance_clock(timedelta(seconds=1))
        assert http.get(f"{sim.twitch_url}/games/top", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "OAuth token is missing"),
        ({"Authorization": "Bearer made-up", "Client-Id": CLIENT_ID}, "Invalid OAuth token"),
        ("no client id", "Client ID is missing"),
        ("other client id", "Client ID and OAuth token do not match"),
    ],
)
def test_helix_refuses_without_a_valid_token_and_client_id(sim, http, headers, message):
    if headers == "no client id":
        headers = {"Authorization": f"Bearer {app_token(http, sim)}"}
    elif headers == "other client id":
        headers = {"Authorization": f"Bearer {app_token(http, sim)}", "Client-Id": "someone"}

    answer = http.get(f"{sim.twitch_url}/streams", headers=headers)

    assert answer.status_code == 401
    assert answer.json() == {"error": "Unauthorized", "status": 401, "message": message}
    assert answer.headers["Ratelimit-Limit"] == "800"
    assert sim.counts()["twitch"]["streams"] == {"calls": 1, "points": 0}


def test_token_bucket_empties_answers_429_and_refills_with_time(http):
    with Simulator(
        channels=50, videos_per_game_per_day=1, twitch_points_per_minute=3
    ).running() as sim:
        sim.set_clock(NOW)
        headers = helix_headers(http, sim)
        answers = [http.get(f"{sim.twitch_url}/games/top", headers=headers) for _ in range(4)]

        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["Ratelimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        # Empty at NOW; 3 points a minute refill it in 60 s.
        assert answers[3].headers["Ratelimit-Reset"] == str(int(NOW.timestamp()) + 60)
        assert answers[3].json()["status"] == 429
        assert sim.counts()["twitch"]["games/top"] == {"calls": 4, "points": 3}

        sim.advance_clock(timedelta(seconds=20))  # 20 s at 3/60 s = 1 point back
        assert http.get(f"{sim.twitch_url}/games/top", headers=headers).status_code == 200
        assert http.get(f"{sim.twitch_url}/games/top", headers=headers).status_code == 429


def test_streams_page_through_every_live_stream_of_a_game_by_viewers(sim, http):
    headers = helix_headers(http, sim)
    seen, cursor = [], None
    while True:
        params = {"game_id": "33214", "first": 20}
        if cursor:
            params["after"] = cursor
        body = http.get(f"{sim.twitch_url}/streams", params=params, headers=headers).json()
        seen += body["data"]
        cursor = body["pagination"].get("cursor")
        if cursor is None:
            break

    truth = sim.world.live_streams("fortnite", NOW)
    assert [s["id"] for s in seen] == [s.stream_id for s in truth]
    assert len(truth) > 20  # more than one page
    viewers = [s["viewer_count"] for s in seen]
    assert viewers == sorted(viewers, reverse=True)
    assert {s["game_id"] for s in seen} == {"33214"} and {s["type"] for s in seen} == {"live"}
    assert all(s["started_at"] <= "2026-11-20T18:00:00Z" for s in seen)


def test_streams_filter_by_language_and_several_games(sim, http):
    headers = helix_headers(http, sim)

    german = http.get(
        f"{sim.twitch_url}/streams",
        params={"game_id": ["33214", "21779"], "language": "de", "first": 100},
        headers=headers,
    ).json()["data"]

    expected = [
        s.stream_id
        for game in ("fortnite", "league_of_legends")
        for s in sim.world.live_streams(game, NOW)
        if s.streamer.language == "de"
    ]
    assert german and sorted(s["id"] for s in german) == sorted(expected)
    assert {s["language"] for s in german} == {"de"}


def test_stream_ids_stay_while_live_and_counts_follow_the_time_of_day(sim):
    world = sim.world
    now = world.live_streams("fortnite", NOW)
    later = world.live_streams("fortnite", NOW + timedelta(minutes=5))
    still_live = [s for s in now if s.end > (NOW + timedelta(minutes=5)).timestamp()]

    assert {s.stream_id for s in still_live} <= {s.stream_id for s in later}
    counts = [
        len(world.live_streams("fortnite", datetime(2026, 11, 20, h, tzinfo=UTC)))
        for h in range(24)
    ]
    # Evenings in the Americas and Europe are busy, the Pacific morning is quiet.
    assert max(counts) >= 3 * max(1, min(counts))


def test_top_games_rank_by_live_viewers(sim, http):
    headers = helix_headers(http, sim)
    top = http.get(f"{sim.twitch_url}/games/top", params={"first": 100}, headers=headers).json()

    twitch = sim.world.twitch
    at = NOW.timestamp()
    viewers = {c.game_id: twitch.category_viewers(i, at) for i, c in enumerate(twitch.categories)}
    ranked = [g["id"] for g in top["data"]]
    assert [viewers[g] for g in ranked] == sorted(viewers.values(), reverse=True)
    assert top["pagination"] == {}  # every category fits in one page of 100


def test_games_by_id_and_name_and_search(sim, http):
    headers = helix_headers(http, sim)

    games = http.get(
        f"{sim.twitch_url}/games", params={"id": "33214", "name": "League of Legends"},
        headers=headers,
    ).json()["data"]  # fmt: skip
    found = http.get(
        f"{sim.twitch_url}/search/categories", params={"query": "legends"}, headers=headers
    ).json()["data"]
    missing = http.get(f"{sim.twitch_url}/games", headers=headers)

    assert [(g["id"], g["name"]) for g in games] == [
        ("33214", "Fortnite"),
        ("21779", "League of Legends"),
    ]
    assert {g["name"] for g in found} == {"Apex Legends", "League of Legends"}
    assert missing.status_code == 400


def test_videos_of_a_game_are_past_broadcasts_sorted_as_asked(sim, http):
    headers = helix_headers(http, sim)

    by_views = http.get(
        f"{sim.twitch_url}/videos",
        params={"game_id": "516575", "sort": "views", "period": "week", "first": 50},
        headers=headers,
    ).json()["data"]
    by_time = http.get(
        f"{sim.twitch_url}/videos", params={"game_id": "516575", "first": 50}, headers=headers
    ).json()["data"]
    unknown = http.get(f"{sim.twitch_url}/videos", params={"game_id": "1"}, headers=headers)

    views = [v["view_count"] for v in by_views]
    assert views == sorted(views, reverse=True)
    # period=week: published in the 7 days before 2026-11-20T18:00Z.
    assert by_views and all(v["created_at"] >= "2026-11-13T18:00:00Z" for v in by_views)
    times = [v["created_at"] for v in by_time]
    assert times == sorted(times, reverse=True)
    assert {v["type"] for v in by_time} == {"archive"}
    assert unknown.status_code == 404


def test_channels_answer_known_broadcasters_and_refuse_over_100(sim, http):
    headers = helix_headers(http, sim)
    streams = sim.world.live_streams("gta", NOW)[:2]

    known = http.get(
        f"{sim.twitch_url}/channels",
        params={"broadcaster_id": [s.streamer.user_id for s in streams] + ["1"]},
        headers=headers,
    ).json()["data"]
    too_many = http.get(
        f"{sim.twitch_url}/channels",
        params={"broadcaster_id": [str(n) for n in range(101)]},
        headers=headers,
    )

    assert [c["broadcaster_id"] for c in known] == [s.streamer.user_id for s in streams]
    assert {c["game_id"] for c in known} == {"32982"}
    assert too_many.status_code == 400


def test_first_over_100_is_refused(sim, http):
    answer = http.get(
        f"{sim.twitch_url}/streams", params={"first": 101}, headers=helix_headers(http, sim)
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "Bad Request"
