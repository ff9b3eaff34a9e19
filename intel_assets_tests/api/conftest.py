"""The read API's fixtures: warehouse and hot tier filled ONCE by the real pipeline.

`seeded` replays the last hours of yesterday (UTC, by the test clock) on the simulator through
the collection sensor, the collection and analysis assets (`seed_history`), then materializes
the hourly and daily rollups for them (`serving.fill_through_pipeline`, which the API benchmark
fills its data with too). The whole package runs with the clock an hour into the next day, so
"yesterday" is the replayed day in every test.

The hot tier is a Redis server of its own, so a test can stop it (the warm fallback) and start
it again: its append-only file brings the keys back with their expiry times.
"""

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
import time_machine
import uvicorn
from fastapi import FastAPI

from intel_assets import services
from intel_assets.api import ApiConfig, create_app
from intel_assets.dev.api_serving import fill_through_pipeline
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import Settings
from intel_assets_tests.clock import utc_midnight
from intel_assets_tests.conftest import create_test_database, drop_test_database, free_port

SEED_HOURS = 6
"""Hours of yesterday replayed: every game collected and analysed, six hourly rows each."""

API_KEYS = ("first-client-key", "second-client-key")
REDIS_RETRY_SECONDS = 0.2


@dataclass(frozen=True)
class Seeded:
    """Where the pipeline's output is and what it covers.

    Attributes:
        warehouse_url: The filled warehouse database.
        redis_settings: Settings of the hot tier's own Redis server (to stop and start it).
        redis_url: Its URL.
        start: First replayed hour (UTC).
        end: The UTC midnight that ended the replay (today's start).
    """

    warehouse_url: str
    redis_settings: Settings
    redis_url: str
    start: datetime
    end: datetime

    @property
    def day(self) -> date:
        """The UTC day the replayed hours belong to (yesterday)."""
        return self.start.date()


@pytest.fixture(scope="package")
def seeded(
    endpoints: services.Endpoints, template_database: str, session_dir: Path
) -> Iterator[Seeded]:
    url = create_test_database(endpoints, template_database)
    redis_settings = Settings(state_dir=session_dir / "api")
    redis_url = services.embedded_redis_url(redis_settings)
    end = utc_midnight()
    try:
        # The package lives an hour into the day after the replayed hours, however long the
        # session takes: "today" and "yesterday" cannot move between seeding and asserting.
        with time_machine.travel(end + timedelta(hours=1), tick=True):
            fill_through_pipeline(url, redis_url, SEED_HOURS, end)
            yield Seeded(url, redis_settings, redis_url, end - timedelta(hours=SEED_HOURS), end)
    finally:
        services.stop(redis_settings)
        drop_test_database(endpoints, url)


@pytest.fixture(scope="package")
def stored(seeded: Seeded) -> Iterator[PostgresWarehouse]:
    """The filled warehouse, for reading what the API should answer."""
    warehouse = PostgresWarehouse(url=seeded.warehouse_url)
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="package")
def hot(seeded: Seeded) -> Iterator[redis.Redis]:
    """A client of the filled hot tier, for reading what the API should answer."""
    client = redis.Redis.from_url(seeded.redis_url, decode_responses=True)
    yield client
    client.close()


def api_config(seeded: Seeded, **changes: object) -> ApiConfig:
    """The tests' configuration: both client keys; games re-read on every request."""
    settings: dict[str, object] = {
        "postgres_url": seeded.warehouse_url,
        "redis_url": seeded.redis_url,
        "archive_url": str(seeded.redis_settings.state_dir / "archive"),
        "api_keys": API_KEYS,
        "redis_retry_seconds": REDIS_RETRY_SECONDS,
        "games_refresh_seconds": 0.0,
        **changes,
    }
    return ApiConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture(scope="package")
def api_app(seeded: Seeded) -> FastAPI:
    return create_app(api_config(seeded))


@contextmanager
def served(app: FastAPI, headers: Mapping[str, str] | None = None) -> Iterator[httpx.Client]:
    """The app behind a real uvicorn server on loopback, and an HTTP client of it.

    The server runs in a thread of the test process, so tests still see its log records.
    """
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"api-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the API server on port {port} did not start")
        time.sleep(0.01)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=dict(headers or {}), timeout=30
        ) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="package")
def api(api_app: FastAPI) -> Iterator[httpx.Client]:
    """A client of the API, served over HTTP on loopback, sending the first key."""
    with served(api_app, headers={"X-API-Key": API_KEYS[0]}) as client:
        yield client


@pytest.fixture
def redis_stopped(seeded: Seeded, api: httpx.Client) -> Iterator[None]:
    """The hot tier's Redis server stopped for one test, then started again."""
    services.stop(seeded.redis_settings)
    try:
        yield
    finally:
        services.embedded_redis_url(seeded.redis_settings)
        # Past the gate's memory of the failure, so the next test reads Redis again.
        time.sleep(REDIS_RETRY_SECONDS * 2)
