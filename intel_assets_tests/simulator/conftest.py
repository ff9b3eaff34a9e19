"""A simulator on a free port for each test, with its clock frozen at a known time."""

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from intel_assets.simulator import RunningSimulator, Simulator

KEY = "simulator-key"
# A Friday afternoon in UTC: 10:00 in Los Angeles, so the Pacific day is 2026-11-20.
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """A small world (40 uploads per game and day) served on a free port, clock at NOW."""
    with Simulator(seed=7, videos_per_game_per_day=40, channels=600).running() as running:
        running.set_clock(NOW)
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain HTTP client (the project's own clients are tested elsewhere)."""
    with httpx.Client(timeout=10) as client:
        yield client


def helix_headers(http: httpx.Client, sim: RunningSimulator) -> dict[str, str]:
    """Headers of an authorised Helix call, with a fresh app token."""
    token = http.post(
        f"{sim.auth_url}/token",
        data={
            "client_id": "simulator-client",
            "client_secret": "simulator-secret",
            "grant_type": "client_credentials",
        },
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Client-Id": "simulator-client"}
