"""Shared fixtures: real Postgres and Redis servers for every test that needs them.

The test session starts (or reuses) the project's embedded servers under `.intel/test`, apart
from the development servers, migrates a template database once, and gives each test a fresh
database cloned from it and an empty Redis database. Nothing of our own is mocked.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from psycopg import sql

from intel_assets import migrate, services
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import PROJECT_ROOT, Settings, with_database

TEMPLATE_DATABASE = "intel_test_template"
TEST_DATABASE_PREFIX = "intel_test_"
# Redis database the tests use; 0 stays free for anything else on the test server.
TEST_REDIS_DB = 1


@pytest.fixture(scope="session")
def test_settings() -> Settings:
    """Settings of the test session: embedded servers under `.intel/test`."""
    return Settings(state_dir=PROJECT_ROOT / ".intel" / "test")


@pytest.fixture(scope="session")
def endpoints(test_settings: Settings) -> services.Endpoints:
    """The running test servers."""
    return services.up(test_settings)


def _admin_url(endpoints: services.Endpoints) -> str:
    return with_database(endpoints.postgres_url, "postgres")


@pytest.fixture(scope="session")
def template_database(endpoints: services.Endpoints) -> str:
    """A database migrated once per session, which each test's database is cloned from."""
    with psycopg.connect(_admin_url(endpoints), autocommit=True) as conn:
        stale = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname = %s",
            (TEST_DATABASE_PREFIX + "%", TEMPLATE_DATABASE),
        ).fetchall()
        for (name,) in stale:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DATABASE)))
    migrate.apply_pending(with_database(endpoints.postgres_url, TEMPLATE_DATABASE))
    return TEMPLATE_DATABASE


def create_test_database(endpoints: services.Endpoints, template: str | None) -> str:
    """Create an empty (or template-cloned) database for one test; its URL."""
    name = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_url(endpoints), autocommit=True) as conn:
        if template is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
    return with_database(endpoints.postgres_url, name)


def drop_test_database(endpoints: services.Endpoints, url: str) -> None:
    """Drop a database made by `create_test_database`, closing its sessions."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(endpoints), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def warehouse_url(endpoints: services.Endpoints, template_database: str) -> Iterator[str]:
    """URL of a fresh, fully migrated warehouse database for this test only."""
    url = create_test_database(endpoints, template_database)
    yield url
    drop_test_database(endpoints, url)


@pytest.fixture
def empty_database_url(endpoints: services.Endpoints) -> Iterator[str]:
    """URL of a fresh database with no tables at all."""
    url = create_test_database(endpoints, None)
    yield url
    drop_test_database(endpoints, url)


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[PostgresWarehouse]:
    """The warehouse resource on this test's database."""
    resource = PostgresWarehouse(url=warehouse_url)
    yield resource
    resource.close()


@pytest.fixture
def redis_url(endpoints: services.Endpoints) -> str:
    """URL of an emptied Redis database on the test server."""
    url = endpoints.redis_url.replace("db=0", f"db={TEST_REDIS_DB}")
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture
def hot_tier(redis_url: str) -> RedisHotTier:
    """The hot-tier resource on this test's Redis database."""
    return RedisHotTier(url=redis_url)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


WORKSPACE_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""


def wait_for_loaded_workspace(url: str, process: "subprocess.Popen[bytes]", timeout_s: float):
    """Poll the webserver's GraphQL endpoint until the code location has loaded; its entries."""
    import httpx

    deadline = time.monotonic() + timeout_s
    last_error: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the main command exited with {process.returncode}")
        try:
            answer = httpx.post(f"{url}/graphql", json={"query": WORKSPACE_QUERY}, timeout=5)
            entries = answer.json()["data"]["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return entries
            last_error = entries
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as error:
            last_error = error
        time.sleep(1)
    raise AssertionError(f"the UI did not load the code location in {timeout_s} s: {last_error}")


@dataclass
class DagsterDev:
    """A running `intel-assets dev` (the README's main command) on the test servers."""

    url: str
    process: "subprocess.Popen[bytes]"
    env: dict[str, str]


def start_dagster_dev(settings: Settings, port: int, log_path: Path) -> DagsterDev:
    """Start the main command on the test servers and wait for its UI to load the code."""
    env = dict(os.environ, INTEL_STATE_DIR=str(settings.state_dir))
    for name in ("INTEL_POSTGRES_URL", "INTEL_REDIS_URL", "INTEL_DAGSTER_POSTGRES_URL"):
        env.pop(name, None)
    log = log_path.open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "intel-assets"), "dev", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_loaded_workspace(url, process, timeout_s=240)
    except BaseException:
        stop_dagster_dev(process)
        raise
    return DagsterDev(url=url, process=process, env=env)


def stop_dagster_dev(process: "subprocess.Popen[bytes]") -> None:
    """Stop the main command and every process it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def dagster_dev(
    test_settings: Settings, endpoints: services.Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterDev]:
    """The README's main command, running for the whole session on the test servers."""
    log_path = tmp_path_factory.mktemp("dagster_dev") / "dev.log"
    running = start_dagster_dev(test_settings, free_port(), log_path)
    yield running
    stop_dagster_dev(running.process)
