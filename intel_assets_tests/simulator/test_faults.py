"""Each injected fault does what it says, to the requests it is meant for."""

import email.utils
import json

import httpx
import pytest

from intel_assets.simulator import Fault
from intel_assets_tests.simulator.conftest import helix_headers, youtube


def _chart(http, sim):
    return youtube(http, sim, "videos", part="id", chart="mostPopular")


def test_status_fault_answers_count_times_then_stops(sim, http):
    sim.inject(Fault(kind="status", api="youtube", path_prefix="/youtube/v3/videos", count=3))

    statuses = [_chart(http, sim).status_code for _ in range(4)]

    assert statuses == [503, 503, 503, 200]
    assert sim.faults() == []


def test_path_prefix_and_api_pick_the_requests(sim, http):
    sim.inject(Fault(kind="status", api="youtube", path_prefix="/youtube/v3/search", status=500))
    sim.inject(Fault(kind="status", api="twitch", status=502))

    chart = _chart(http, sim)
    search = youtube(http, sim, "search", part="id", q="fortnite", type="video")
    token = http.post(
        f"{sim.auth_url}/token",
        data={"client_id": "simulator-client", "client_secret": "simulator-secret",
              "grant_type": "client_credentials"},
    )  # fmt: skip
    streams = http.get(
        f"{sim.twitch_url}/streams",
        headers={"Authorization": f"Bearer {token.json()['access_token']}",
                 "Client-Id": "simulator-client"},
    )  # fmt: skip

    assert (chart.status_code, search.status_code) == (200, 500)
    assert token.status_code == 200  # the Twitch fault is for Helix, not the token endpoint
    assert streams.status_code == 502
    assert streams.json() == {"error": "Bad Gateway", "status": 502, "message": "Simulated failure"}


def test_youtube_rate_limit_sends_retry_after(sim, http):
    sim.inject(Fault(kind="rate_limit", api="youtube", retry_after_seconds=2))

    limited = _chart(http, sim)

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert limited.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    assert _chart(http, sim).status_code == 200


def test_twitch_rate_limit_resets_that_many_seconds_after_the_servers_date(sim, http):
    headers = helix_headers(http, sim)
    sim.inject(Fault(kind="rate_limit", api="twitch", retry_after_seconds=2))

    limited = http.get(f"{sim.twitch_url}/streams", headers=headers)

    assert limited.status_code == 429
    assert limited.headers["Ratelimit-Remaining"] == "0"
    server_now = email.utils.parsedate_to_datetime(limited.headers["Date"]).timestamp()
    assert int(limited.headers["Ratelimit-Reset"]) == int(server_now) + 2


def test_slow_fault_delays_the_answer(sim, http):
    sim.inject(Fault(kind="slow", api="youtube", delay_seconds=2.0))

    with httpx.Client(timeout=0.3) as impatient, pytest.raises(httpx.ReadTimeout):
        youtube(impatient, sim, "videos", part="id", chart="mostPopular")


def test_malformed_json_is_a_200_whose_body_does_not_parse(sim, http):
    sim.inject(Fault(kind="malformed_json", api="youtube"))

    answer = _chart(http, sim)

    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)


def test_truncated_body_ends_half_way(sim, http):
    whole = _chart(http, sim).content
    sim.inject(Fault(kind="truncated", api="youtube"))

    with pytest.raises(httpx.RemoteProtocolError) as failure:
        _chart(http, sim)

    # The server announces the whole body and sends half of it.
    assert f"received {len(whole) // 2} bytes, expected {len(whole)}" in str(failure.value)


def test_expire_tokens_invalidates_every_issued_token_but_not_new_ones(sim, http):
    old = helix_headers(http, sim)
    assert http.get(f"{sim.twitch_url}/games/top", headers=old).status_code == 200

    sim.inject(Fault(kind="expire_tokens"))
    expired = http.get(f"{sim.twitch_url}/games/top", headers=old)
    fresh = http.get(f"{sim.twitch_url}/games/top", headers=helix_headers(http, sim))

    assert expired.status_code == 401
    assert expired.json()["message"] == "Invalid OAuth token"
    assert fresh.status_code == 200


def test_clear_faults_drops_pending_ones(sim, http):
    sim.inject(Fault(kind="status", count=5))
    sim.clear_faults()

    assert _chart(http, sim).status_code == 200


def test_a_fault_must_hit_something():
    from intel_assets.simulator import Simulator

    simulator = Simulator(channels=50, videos_per_game_per_day=1)
    with pytest.raises(ValueError):
        simulator.inject(Fault(kind="status", count=0))
    with pytest.raises(ValueError):
        simulator.inject(Fault(kind="status", status=200))
