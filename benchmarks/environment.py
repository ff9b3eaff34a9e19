"""Where the benchmarks run: a Postgres server, a Redis server and a scratch folder.

`python -m benchmarks` starts the project's embedded servers under `.intel/bench` (apart from
the development and test servers) and stops them when it is done; the smoke test hands in the
test session's servers instead (`use`). Every benchmark makes its own databases and drops them
afterwards, so nothing it writes outlives it.
"""

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis
from psycopg import sql

from intel_assets import migrate, services
from intel_assets.settings import PROJECT_ROOT, Settings, with_database

BENCH_STATE_DIR = PROJECT_ROOT / ".intel" / "bench"
DATABASE_PREFIX = "intel_bench_"


@dataclass(frozen=True)
class BenchEnvironment:
    """The servers and folder one benchmark run uses.

    Attributes:
        postgres_server_url: URL of the server's maintenance database (databases are made here).
        redis_url: A Redis database the benchmarks may empty at will.
        scratch: A folder for files (archives, catalogs); removed by whoever made it.
    """

    postgres_server_url: str
    redis_url: str
    scratch: Path

    def flush_redis(self) -> None:
        """Empty the Redis database (each benchmark starts from nothing)."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()

    @contextmanager
    def database(self, *, migrated: bool = True) -> Iterator[str]:
        """A new database (with every migration applied unless `migrated` is False), dropped after.

        Yields:
            Its URL.
        """
        name = f"{DATABASE_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.postgres_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = with_database(self.postgres_server_url, name)
        try:
            if migrated:
                migrate.apply_pending(url)
            yield url
        finally:
            drop_database(self.postgres_server_url, url)


def drop_database(server_url: str, url: str) -> None:
    """Drop the database of `url`, closing its sessions."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


_current: BenchEnvironment | None = None


@contextmanager
def use(environment: BenchEnvironment) -> Iterator[BenchEnvironment]:
    """Run the benchmarks of this block on `environment` (the servers of a test session)."""
    global _current
    previous, _current = _current, environment
    try:
        yield environment
    finally:
        _current = previous


def current() -> BenchEnvironment:
    """The environment set by `use` or `embedded`; an error outside both."""
    if _current is None:
        raise RuntimeError("no benchmark environment: run inside benchmarks.environment.embedded()")
    return _current


@contextmanager
def embedded(state_dir: Path = BENCH_STATE_DIR) -> Iterator[BenchEnvironment]:
    """The project's embedded Postgres and Redis under `state_dir`, stopped when the block ends."""
    settings = Settings(state_dir=state_dir)
    # Servers another run already had up stay up; the ones started here stop at the end.
    running_before = services.embedded_pids(settings)
    server_url = services.embedded_postgres_server_url(settings)
    redis_url = services.embedded_redis_url(settings)
    try:
        with (
            _dropping_leftovers(server_url),
            tempfile.TemporaryDirectory(prefix="intel-bench-") as scratch,
            use(BenchEnvironment(server_url, redis_url, Path(scratch))) as environment,
        ):
            yield environment
    finally:
        if not any(running_before.values()):
            services.stop(settings)


@contextmanager
def _dropping_leftovers(server_url: str) -> Iterator[None]:
    """Drop benchmark databases a killed run left behind, before and after the block."""
    drop_leftover_databases(server_url)
    try:
        yield
    finally:
        drop_leftover_databases(server_url)


def drop_leftover_databases(server_url: str) -> None:
    """Drop the benchmark databases whose process (the number in the name) is gone."""
    import psutil

    with psycopg.connect(server_url, autocommit=True) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (DATABASE_PREFIX + "%",)
        ).fetchall()
    for (name,) in names:
        owner = name[len(DATABASE_PREFIX) :].split("_", 1)[0]
        if owner.isdigit() and int(owner) != os.getpid() and psutil.pid_exists(int(owner)):
            continue
        drop_database(server_url, with_database(server_url, name))
