"""Shared fixtures: real Postgres and Redis servers for every test that needs them.

The test session starts (or reuses) the project's embedded servers under `.intel/test`, apart
from the development servers, migrates a template database once, and gives each test a fresh
database cloned from it and an empty Redis database. Nothing of our own is mocked.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import time_machine
from psycopg import sql

from intel_assets import migrate, services, warning_filters
from intel_assets.dev.local_deployment import (
    free_port,
    graphql,
    stop_instigators,
    wait_for_loaded_workspace,
)
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.settings import PROJECT_ROOT, Settings, with_database
from intel_assets_tests import clock

TEST_DATABASE_PREFIX = "intel_test_"
# Each pytest process has its own databases and Redis server, so sessions may run side by side.
SESSION_ID = str(os.getpid())
# Redis databases of the session's server: 0 is the tests' (emptied for each test), 1 to 3 the
# scale-out test's, this one the session's `dagster dev`.
DAGSTER_DEV_REDIS_DB = 15


def pytest_report_header() -> str:
    return clock.header()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests sharing a costly session or package fixture run on one worker, which starts it once.
    # First of the hook's implementations: xdist's own (on each worker) reads the groups then.
    for item in items:
        if "dagster_dev" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("dagster_dev"))
        elif item.nodeid.startswith("intel_assets_tests/api/"):
            item.add_marker(pytest.mark.xdist_group("api"))
    # Tests marked long (half a minute or more each) are handed out first, right after the two
    # groups, and the short ones fill in behind them: left to their place in the collection,
    # the longest came last, and one worker ran them alone for the suite's last minute or two.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_configure(config: pytest.Config) -> None:
    # Every worker of the session runs at the same anchor: the first process to read it passes
    # it on to those it starts.
    os.environ.setdefault(clock.ANCHOR_VARIABLE, clock.ANCHOR.isoformat())
    # pytest shows every warning again inside each test: the project's own filters must be
    # pytest's too. AutomationConditionTester (Dagster's, used by the automation tests) asks
    # for a beta selection itself.
    for start in [*warning_filters.OPTED_IN, "Parameter `include_sources` of function"]:
        config.addinivalue_line("filterwarnings", f"ignore:{re.escape(start)}")


@pytest.fixture(scope="session", autouse=True)
def groups_held(request: pytest.FixtureRequest) -> None:
    """Every test errors when xdist would spread a group over both workers.

    xdist hands a test's group to its scheduler as a suffix of the test's node id. When the
    suffix does not take (pytest 9.2 ignores xdist's way of setting it: pytest-xdist#1386),
    nothing else fails: every worker starts the group's `dagster dev` and filled API warehouse
    itself, which cost the suite minutes unseen.
    """
    if not getattr(request.config.option, "loadgroup", False):
        return
    lost = [
        item.nodeid
        for item in request.session.items
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid
    ]
    if lost:
        pytest.fail(
            f"--dist loadgroup did not group {len(lost)} tests (first: {lost[0]}); "
            "pyproject.toml pins the pytest whose node ids xdist's groups work with",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def session_clock() -> Iterator[None]:
    """This process's clock starts at the anchor (`clock.ANCHOR`) and runs on from there.

    Set first of all, so session and package fixtures see it too. Tests move it further with
    `time_machine.travel`; processes a test starts keep the machine's clock, so what they do is
    pinned by other means (fixed dates, the simulator's frozen clock).
    """
    with time_machine.travel(clock.ANCHOR, tick=True):
        yield


def _session_database(suffix: str) -> str:
    return f"{TEST_DATABASE_PREFIX}{SESSION_ID}_{suffix}"


def _tests_state_dir() -> Path:
    """The tests' part of the project's state folder: `services stop` finds its servers there."""
    return Settings.from_env().state_dir / "test"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """Maintenance-database URL of the test Postgres server (embedded, under `.intel/test`)."""
    return services.embedded_postgres_server_url(Settings(state_dir=_tests_state_dir()))


def _drop_databases_of_dead_sessions(server_url: str) -> None:
    import psutil

    with psycopg.connect(server_url, autocommit=True) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (TEST_DATABASE_PREFIX + "%",)
        ).fetchall()
        for (name,) in names:
            owner = name[len(TEST_DATABASE_PREFIX) :].split("_", 1)[0]
            if owner.isdigit() and int(owner) != os.getpid() and psutil.pid_exists(int(owner)):
                continue
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _remove_folders_of_dead_sessions(sessions: Path) -> None:
    """Stop the servers of sessions that died without their teardown, and remove their data."""
    import psutil

    for folder in sessions.glob("*"):
        if folder.name.isdigit() and psutil.pid_exists(int(folder.name)):
            continue
        services.stop(Settings(state_dir=folder))
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def session_dir() -> Iterator[Path]:
    """This session's own state folder (its Redis servers, DAGSTER_HOME, archive).

    Under the project's state folder, so that `intel-assets services stop` finds what a
    session that was killed left running.
    """
    sessions = _tests_state_dir() / "sessions"
    _remove_folders_of_dead_sessions(sessions)
    folder = sessions / SESSION_ID
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    services.stop(Settings(state_dir=folder))
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def endpoints(postgres_server_url: str, session_dir: Path) -> Iterator[services.Endpoints]:
    """This session's services: its own databases on the test Postgres server, its own Redis."""
    _drop_databases_of_dead_sessions(postgres_server_url)
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        for suffix in ("main", "dagster"):
            conn.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(_session_database(suffix)))
            )
    redis_settings = Settings(state_dir=session_dir)
    redis_url = services.embedded_redis_url(redis_settings)
    main_url = with_database(postgres_server_url, _session_database("main"))
    migrate.apply_pending(main_url)
    yield services.Endpoints(
        postgres_url=main_url,
        dagster_postgres_url=with_database(
            postgres_server_url, _session_database("dagster"), driver="psycopg2"
        ),
        redis_url=redis_url,
        embedded_postgres=False,
        embedded_redis=False,
    )
    services.stop(redis_settings)
    _drop_databases_of_dead_sessions(postgres_server_url)


@pytest.fixture(scope="session")
def test_settings(session_dir: Path, endpoints: services.Endpoints) -> Settings:
    """Settings that point every command of this session at the session's services."""
    return Settings(
        state_dir=session_dir,
        postgres_url=endpoints.postgres_url,
        dagster_postgres_url=endpoints.dagster_postgres_url,
        redis_url=endpoints.redis_url,
    )


@pytest.fixture(scope="session")
def template_database(postgres_server_url: str, endpoints: services.Endpoints) -> str:
    """A database migrated once per session, which each test's database is cloned from."""
    name = _session_database("template")
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.apply_pending(with_database(postgres_server_url, name))
    return name


def _admin_url(endpoints: services.Endpoints) -> str:
    return with_database(endpoints.postgres_url, "postgres")


def create_test_database(endpoints: services.Endpoints, template: str | None) -> str:
    """Create an empty (or template-cloned) database for one test; its URL."""
    name = _session_database(uuid.uuid4().hex[:12])
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
    """URL of this session's Redis server, emptied for this test."""
    url = endpoints.redis_url
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


def with_redis_db(url: str, database: int) -> str:
    """The session's embedded Redis socket URL, on another database."""
    assert url.startswith("unix://") and url.endswith("?db=0"), url
    return url[: -len("0")] + str(database)


@pytest.fixture
def hot_tier(redis_url: str) -> RedisHotTier:
    """The hot-tier resource on this test's Redis database."""
    return RedisHotTier(url=redis_url)


@pytest.fixture
def server_state() -> Iterator[Path]:
    """A state folder for servers the test starts itself, outside pytest's temporary folders.

    Run as root, pgserver runs Postgres as a user of its own and opens the folder's parents to
    it, but every pytest process that starts (the other worker's subprocesses included) makes
    `/tmp/pytest-of-root` private again, so a Postgres restarted under `tmp_path` can find its
    own folder shut. A short path also keeps the Postgres socket under Unix's 107 bytes. Every
    server left under the folder is stopped, and the folder removed, when the test ends.
    """
    root = Path(tempfile.mkdtemp(prefix="intel-state-"))
    yield root / "state"
    services.stop(Settings(state_dir=root))
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class DagsterDev:
    """A running `intel-assets dev` (the README's main command) on the test servers."""

    url: str
    process: "subprocess.Popen[bytes]"
    env: dict[str, str]
    seconds_to_ui: float = 0.0


def _ignore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_dagster_dev(
    settings: Settings,
    port: int,
    log_path: Path,
    *,
    ignore_ctrl_c: bool = False,
    seed_days: float = 0,
    partitions_start: str | None = "2026-01-01",
) -> DagsterDev:
    """Start the main command on the test servers and wait for its UI to load the code.

    `ignore_ctrl_c` starts it the way a script's background job starts: with SIGINT ignored.
    `partitions_start` defaults to where the tests' fixed dates (2026) start, whatever the
    day; None leaves it to the command.
    """
    env = dict(os.environ, INTEL_STATE_DIR=str(settings.state_dir))
    env.pop("INTEL_PARTITIONS_START", None)
    if partitions_start is not None:
        env["INTEL_PARTITIONS_START"] = partitions_start
    for name, value in (
        ("INTEL_POSTGRES_URL", settings.postgres_url),
        ("INTEL_DAGSTER_POSTGRES_URL", settings.dagster_postgres_url),
        ("INTEL_REDIS_URL", settings.redis_url),
    ):
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    log = log_path.open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        # No seeding unless asked: test_history covers seed-history.
        [
            str(Path(sys.executable).parent / "intel-assets"),
            "dev",
            "--port",
            str(port),
            "--seed-days",
            str(seed_days),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_ignore_ctrl_c if ignore_ctrl_c else None,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_loaded_workspace(url, process, timeout_s=240)
    except BaseException:
        stop_dagster_dev(process)
        raise
    return DagsterDev(url=url, process=process, env=env, seconds_to_ui=time.monotonic() - started)


def stop_dagster_dev(process: "subprocess.Popen[bytes]") -> None:
    """Stop the main command and every process it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


UNFINISHED_RUNS = """
{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {
    ... on Runs { results { runId } } } }
"""


def quiet_the_daemon(url: str, timeout_s: float = 180) -> None:
    """Stop every sensor and schedule, then cancel what they launched until nothing is left.

    A sensor tick under way when its sensor stops still submits the rest of its runs (one a
    second or so), so the runs are cancelled until two checks three seconds apart find none
    unfinished; those that started have their processes terminated.
    """
    stop_instigators(url, keep=set())
    deadline = time.monotonic() + timeout_s
    empty_checks = 0
    while empty_checks < 2:
        assert time.monotonic() < deadline, "runs kept arriving after the sensors stopped"
        unfinished = graphql(url, UNFINISHED_RUNS)["runsOrError"]["results"]
        if unfinished:
            empty_checks = 0
            terminated = graphql(
                url,
                "mutation($ids: [String!]!) { terminateRuns(runIds: $ids, "
                "terminatePolicy: SAFE_TERMINATE) { __typename } }",
                {"ids": [run["runId"] for run in unfinished]},
            )
            assert terminated["terminateRuns"]["__typename"] == "TerminateRunsResult", terminated
        else:
            empty_checks += 1
        time.sleep(3)


@pytest.fixture(scope="session")
def dagster_dev(
    test_settings: Settings, endpoints: services.Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterDev]:
    """The README's main command, running for the whole session on the test servers.

    It keeps a Redis database of its own: on the tests' database the quota spends, run counts
    and locks of whatever its daemon runs would land in whichever test runs beside it. Its
    sensors and schedules are stopped once it has loaded, and anything they launched by then
    is cancelled: no test of it needs the daemon's own collections, and for the rest of the
    session they would take the two cores from the other tests (test_dev_seeding and
    test_scale_out start daemons of their own and watch them launch runs).
    """
    log_path = tmp_path_factory.mktemp("dagster_dev") / "dev.log"
    url = with_redis_db(endpoints.redis_url, DAGSTER_DEV_REDIS_DB)
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    running = start_dagster_dev(replace(test_settings, redis_url=url), free_port(), log_path)
    try:
        quiet_the_daemon(running.url)
    except BaseException:
        stop_dagster_dev(running.process)
        raise
    yield running
    stop_dagster_dev(running.process)
