"""A simulator on a free port for each test, with its clock frozen at a known time."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from intel_assets.simulator import RunningSimulator, Simulator, Video

KEY = "simulator-key"
CLIENT_ID = "simulator-client"
CLIENT_SECRET = "simulator-secret"
# A Friday in November (PST, UTC-8): 18:00 UTC is 10:00 in Los Angeles, Pacific day 2026-11-20.
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
# The repository's byte-for-byte copy of the shared real responses (see its PROVENANCE.md).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real"


def fixture(name: str) -> Any:
    """A real recorded response from the shared fixtures."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def shared_simulator() -> Iterator[RunningSimulator]:
    """One small world (40 uploads per game and day) served for the whole session."""
    with Simulator(seed=7, videos_per_game_per_day=40, channels=600).running() as running:
        yield running


@pytest.fixture
def sim(shared_simulator: RunningSimulator) -> RunningSimulator:
    """The shared simulator as good as new (counts, quota, faults, tokens), clock at NOW."""
    shared_simulator.reset()
    shared_simulator.set_clock(NOW)
    return shared_simulator


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain HTTP client (the project's own clients are tested elsewhere)."""
    with httpx.Client(timeout=10) as client:
        yield client


def youtube(
    http: httpx.Client, sim: RunningSimulator, method: str, **params: Any
) -> httpx.Response:
    """GET a YouTube method with the right key unless the test gives another."""
    params.setdefault("key", KEY)
    return http.get(f"{sim.youtube_url}/{method}", params=params)


def app_token(http: httpx.Client, sim: RunningSimulator) -> str:
    """A fresh app token by client credentials."""
    answer = http.post(
        f"{sim.auth_url}/token",
        data={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials",
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def helix_headers(http: httpx.Client, sim: RunningSimulator) -> dict[str, str]:
    """Headers of an authorised Helix call, with a fresh app token."""
    return {"Authorization": f"Bearer {app_token(http, sim)}", "Client-Id": CLIENT_ID}


def truth(sim: RunningSimulator, video_id: str) -> Video:
    """The ground truth of a video the test knows exists."""
    video = sim.world.video(video_id)
    assert video is not None, f"no video {video_id}"
    return video
