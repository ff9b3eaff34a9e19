import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg
import pytest
import redis

from intel_assets import cli, services
from intel_assets.settings import PROJECT_ROOT, Settings
from intel_assets_tests.conftest import DagsterDev, free_port, start_dagster_dev, stop_dagster_dev


def test_main_command_serves_the_ui_with_the_code_location_loaded(dagster_dev: DagsterDev):
    import httpx

    from intel_assets.dev.local_deployment import WORKSPACE_QUERY

    answer = httpx.post(f"{dagster_dev.url}/graphql", json={"query": WORKSPACE_QUERY}, timeout=10)
    entries = answer.json()["data"]["workspaceOrError"]["locationEntries"]

    assert [e["name"] for e in entries] == ["creator_intel"]
    assert entries[0]["loadStatus"] == "LOADED"
    assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation"


def _kill_hard(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def test_killed_servers_recover_with_their_data(server_state: Path):
    settings = Settings(state_dir=server_state)
    endpoints = cli.prepare(settings)
    try:
        with psycopg.connect(endpoints.postgres_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO intel_collection_state (game_key, source, unchanged_streak) "
                "VALUES ('fortnite', 'youtube', 4)"
            )
        client = redis.Redis.from_url(endpoints.redis_url)
        client.set("quota:probe", "17")
        client.close()

        pids = services.embedded_pids(settings)
        assert pids["postgres"] is not None and pids["redis"] is not None
        _kill_hard(pids["postgres"])
        _kill_hard(pids["redis"])
        states = {line.name: line.state for line in services.status(settings)}
        assert (states["postgres"], states["redis"]) == ("stopped", "stopped")

        endpoints = cli.prepare(settings)

        with psycopg.connect(endpoints.postgres_url) as conn:
            assert conn.execute(
                "SELECT unchanged_streak FROM intel_collection_state WHERE game_key = 'fortnite'"
            ).fetchall() == [(4,)]
        client = redis.Redis.from_url(endpoints.redis_url)
        assert client.get("quota:probe") == b"17"
        client.close()
        new_pids = services.embedded_pids(settings)
        assert new_pids["postgres"] not in (None, pids["postgres"])
    finally:
        assert set(services.stop(settings)) <= {"postgres", "redis"}
    assert services.embedded_pids(settings) == {"postgres": None, "redis": None}


def _descendants(pid: int) -> list[psutil.Process]:
    """Every process the command started, however deep (`dagster dev` runs in a group apart)."""
    return psutil.Process(pid).children(recursive=True)


@pytest.mark.parametrize(
    "stop_by",
    [
        # A terminal's Ctrl-C: SIGINT to the whole foreground process group.
        "ctrl-c",
        # `kill <pid>` of the command alone, as a process manager stops it.
        "sigterm",
    ],
)
@pytest.mark.long
def test_ctrl_c_or_sigterm_stops_the_main_command_and_all_it_started(
    tmp_path: Path, server_state: Path, stop_by: str
):
    settings = Settings(state_dir=server_state)
    # Started as a script's background job is, with Ctrl-C ignored: `dagster dev` and the
    # webserver and daemon it starts must not inherit that.
    running = start_dagster_dev(settings, free_port(), tmp_path / "dev.log", ignore_ctrl_c=True)
    started = _descendants(running.process.pid)
    try:
        # dagster dev, its webserver, its daemon and the code location's server at least.
        assert len(started) >= 4, [p.cmdline() for p in started]
        if stop_by == "ctrl-c":
            os.killpg(running.process.pid, signal.SIGINT)
        else:
            running.process.send_signal(signal.SIGTERM)
        running.process.wait(timeout=90)
        # Nothing outlives the command: a code server left to itself would wait out its
        # heartbeat (45 s) before it noticed.
        gone, alive = psutil.wait_procs(started, timeout=10)

        assert alive == [], [p.cmdline() for p in alive]
        assert len(gone) == len(started)
    finally:
        stop_dagster_dev(running.process)
        for process in started:
            with contextlib.suppress(psutil.Error):
                process.kill()
        services.stop(settings)


def test_definitions_validate_through_the_workspace(
    test_settings: Settings, endpoints: services.Endpoints
):
    import subprocess
    import sys

    from intel_assets.settings import PROJECT_ROOT

    cli.prepare_dagster_home(test_settings)
    env = cli.runtime_environment(test_settings, endpoints)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


@pytest.mark.long
def test_the_test_command_hands_every_argument_to_pytest_unchanged():
    # Leading dashes included: the README's `-k ... -x`, and options only pytest knows.
    pytest_args = [
        "--collect-only",
        "-q",
        "-k",
        "counters_expire or nothing_is_named_this",
        "-x",
        "-n",
        "0",
        "-p",
        "no:cacheprovider",
        "intel_assets_tests/resources/test_quota.py",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "intel_assets", "test", *pytest_args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"intel-assets test: pytest {' '.join(pytest_args)}" in result.stderr
    # Only the one test whose name matches the -k expression was collected.
    assert [line for line in result.stdout.splitlines() if "::" in line] == [
        "intel_assets_tests/resources/test_quota.py"
        "::test_counters_expire_at_the_pacific_midnight_of_the_ledgers_clock"
    ]


def _services_command(state: Path, action: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEL_")}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "intel-assets"), "services", action],
        env={**env, "INTEL_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def test_services_status_and_stop_cover_every_server_the_project_started():
    # A short folder: a Unix socket's path (the Postgres socket lives in its data folder) must
    # stay under about 107 bytes, which pytest's own temporary folders can exceed.
    state = Path(tempfile.mkdtemp(prefix="intel-services-"))
    # The main command's servers, the tests' Postgres, and a test session's Redis.
    services.up(Settings(state_dir=state))
    services.embedded_postgres_server_url(Settings(state_dir=state / "test"))
    services.embedded_redis_url(Settings(state_dir=state / "test" / "sessions" / "4242"))
    servers = {s.name: s for s in services.embedded_servers(Settings(state_dir=state))}
    names = ["postgres", "redis", "test/postgres", "test/sessions/4242/redis"]
    assert sorted(servers) == names
    pids = {name: server.pid for name, server in servers.items()}
    try:
        status = _services_command(state, "status").splitlines()
        rows = {line.split()[0]: line.split() for line in status[1:]}
        # Each URL shown is one a client connects with.
        answers = {}
        for name, row in rows.items():
            if row[-2].startswith("unix://"):
                client = redis.Redis.from_url(row[-2])
                answers[name] = client.ping()
                client.close()
            else:
                with psycopg.connect(row[-2]) as conn:
                    answers[name] = conn.execute("SELECT current_database()").fetchone()
        stopped = _services_command(state, "stop")
        after = _services_command(state, "status").splitlines()
    finally:
        services.stop(Settings(state_dir=state))
        shutil.rmtree(state, ignore_errors=True)

    assert status[0].split() == ["SERVER", "STATE", "URL", "DATA"]
    assert sorted(rows) == names
    for name, server in servers.items():
        _, running, pid_word, pid, _, data = rows[name]
        assert (running, pid_word, pid) == ("running", "(pid", f"{pids[name]})")
        assert data == str(server.data_dir)
    # The main command's Postgres opens on the warehouse, the tests' on the server's own.
    assert answers == {
        "postgres": ("intel",),
        "redis": True,
        "test/postgres": ("postgres",),
        "test/sessions/4242/redis": True,
    }
    assert stopped == f"stopped: {', '.join(names)}\n"
    assert [line.split()[:3] for line in after[1:]] == [[n, "stopped", "-"] for n in names]
    for pid in pids.values():
        assert pid is not None and not _running(pid)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_two_processes_starting_a_fresh_postgres_at_once_both_get_it():
    # Two test workers on a fresh machine do exactly this; the second used to read the first's
    # half-initialised folder (initdb's negative pid) and fail.
    state = Path(tempfile.mkdtemp(prefix="intel-race-"))
    start = (
        "import sys; from pathlib import Path; from intel_assets import services; "
        "from intel_assets.settings import Settings; "
        "print(services.embedded_postgres_server_url(Settings(state_dir=Path(sys.argv[1]))))"
    )
    try:

        def starter() -> "subprocess.Popen[str]":
            return subprocess.Popen(
                [sys.executable, "-c", start, str(state)], stdout=subprocess.PIPE, text=True
            )

        starters = [starter()]
        # The second starts while the first's initdb is half way (its folder has begun).
        deadline = time.monotonic() + 60
        while not (state / "postgres" / "PG_VERSION").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        starters.append(starter())
        urls = [p.communicate(timeout=180)[0].strip() for p in starters]
        assert [p.returncode for p in starters] == [0, 0]
        assert urls[0] == urls[1]
        with psycopg.connect(urls[0]) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        services.stop(Settings(state_dir=state))
        shutil.rmtree(state, ignore_errors=True)


def test_a_server_that_does_not_answer_is_one_line_not_a_traceback(
    warehouse_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    closed = free_port()  # nothing listens there
    monkeypatch.setenv("INTEL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("INTEL_POSTGRES_URL", warehouse_url)
    monkeypatch.setenv("INTEL_REDIS_URL", f"redis://127.0.0.1:{closed}/0")

    assert cli.main(["seed-history", "--days", str(1 / 24)]) == 2
    printed = capsys.readouterr().err.strip().splitlines()
    assert printed[-1] == (
        f"intel-assets: Redis did not answer (Error 111 connecting to 127.0.0.1:{closed}. "
        "Connection refused.); `intel-assets services status` shows the servers"
    )
    assert not any("Traceback" in line for line in printed)

    monkeypatch.setenv("INTEL_POSTGRES_URL", f"postgresql://intel@127.0.0.1:{closed}/intel")
    assert cli.main(["migrate"]) == 2
    printed = capsys.readouterr().err.strip().splitlines()
    # The project's databases are made first, so that step names the unreachable server.
    assert printed[-1].startswith("intel-assets: cannot create database 'dagster' on ")
    assert f"127.0.0.1:{closed}" in printed[-1]
    assert not any("Traceback" in line for line in printed)
