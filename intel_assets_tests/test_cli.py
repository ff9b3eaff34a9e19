import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import redis

from intel_assets import cli, services
from intel_assets.settings import Settings
from intel_assets_tests.conftest import DagsterDev, free_port, start_dagster_dev, stop_dagster_dev


def test_main_command_serves_the_ui_with_the_code_location_loaded(dagster_dev: DagsterDev):
    import httpx

    from intel_assets_tests.conftest import WORKSPACE_QUERY

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


def test_killed_servers_recover_with_their_data(tmp_path: Path):
    settings = Settings(state_dir=tmp_path / "state")
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
        assert services.status(settings)["redis"].endswith("down")

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


def _group_alive(process: "subprocess.Popen[bytes]") -> bool:
    """Whether any process of the command's process group still runs (the command reaped)."""
    process.poll()
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_stops_the_main_command_and_all_it_started(tmp_path: Path):
    settings = Settings(state_dir=tmp_path / "state")
    # Started as a script's background job is, with Ctrl-C ignored: `dagster dev` and the
    # webserver and daemon it starts must not inherit that.
    running = start_dagster_dev(settings, free_port(), tmp_path / "dev.log", ignore_ctrl_c=True)
    try:
        # A terminal's Ctrl-C: SIGINT to the whole foreground process group.
        os.killpg(running.process.pid, signal.SIGINT)
        deadline = time.monotonic() + 60
        while _group_alive(running.process) and time.monotonic() < deadline:
            time.sleep(0.5)

        assert not _group_alive(running.process), "processes still ran 60 s after Ctrl-C"
    finally:
        stop_dagster_dev(running.process)
        if _group_alive(running.process):
            os.killpg(running.process.pid, signal.SIGKILL)
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
