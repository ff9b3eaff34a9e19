"""A deployment of separate processes on this machine, driven as an operator would drive one.

`intel-assets code-server`, `webserver`, `daemon` and `worker` processes (each in a process
group of its own, so a whole tree can be killed), on servers and an instance the caller gives;
runs are queued through the webserver's GraphQL API, as the UI queues them, and the daemon
launches them. Shared by `test_scale_out.py` and `benchmarks/workers.py`.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import psutil

from intel_assets.settings import PROJECT_ROOT

LOCATION = {"repositoryLocationName": "creator_intel", "repositoryName": "__repository__"}
GAME_ASSETS = (
    "youtube_videos", "twitch_streams", "viral_intel", "title_intel", "format_intel",
    "description_intel", "semantic_intel", "regional_intel", "live_intel", "competition_intel",
)  # fmt: skip
"""One game's collection and analysis (the collection checks come with their assets)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
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
class Deployment:
    """The processes of a deployment and where their logs go.

    Attributes:
        env: The environment every process gets (services, executor, APIs).
        logs: Folder of one log file per process.
        processes: Running processes by name; a killed one is renamed `killed-<name>`.
        url: The webserver's address once `start` has it serving.
    """

    env: dict[str, str]
    logs: Path
    processes: dict[str, "subprocess.Popen[bytes]"] = field(default_factory=dict)
    url: str = ""

    def spawn(self, name: str, *args: str) -> "subprocess.Popen[bytes]":
        """Start `intel-assets <args>` as the process `name`."""
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "intel-assets"), *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the whole tree can be killed
        )
        self.processes[name] = process
        return process

    def start(
        self,
        workers: Sequence[str],
        *,
        keep_sensors: Sequence[str] = ("run_outcomes_sensor",),
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        """Code server, workers and webserver; then, with the instigators stopped, the daemon.

        Args:
            workers: Names of the Celery workers to start.
            keep_sensors: Sensors left running; every other sensor and every schedule is
                stopped before the daemon starts, so no run is launched but the caller's.
            meanwhile: Called once the processes are starting (work to overlap with them).
        """
        code_port = int(self.env["INTEL_CODE_SERVER_PORT"])
        self.spawn("code-server", "code-server", "--port", str(code_port))
        for name in workers:
            self.spawn(name, "worker", "--name", name)
        if meanwhile is not None:
            meanwhile()
        self.wait("the code server", lambda: listening(code_port), 240)
        web_port = free_port()
        self.spawn("webserver", "webserver", "--port", str(web_port))
        self.url = f"http://127.0.0.1:{web_port}"
        wait_for_loaded_workspace(self.url, self.processes["webserver"], timeout_s=240)
        stop_instigators(self.url, keep=set(keep_sensors))
        self.spawn("daemon", "daemon")
        for name in workers:
            self.wait(f"{name} to take tasks", lambda n=name: self.worker_ready(n), 240)

    def worker_ready(self, name: str) -> bool:
        """Whether a Celery worker said it is ready (connected, consuming its queues)."""
        path = self.logs / f"{name}.log"
        pattern = re.compile(rf"{re.escape(name)}@\S+ ready\.")
        return path.exists() and pattern.search(path.read_text(errors="replace")) is not None

    def tree_pids(self, name: str) -> set[int]:
        """The process ids of a process and all its descendants."""
        root = psutil.Process(self.processes[name].pid)
        return {root.pid, *(child.pid for child in root.children(recursive=True))}

    def kill_tree(self, name: str) -> None:
        """SIGKILL a process and all its descendants at once (its process group)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        self.processes[f"killed-{name}"] = process

    def wait(self, what: str, condition: Callable[[], bool], timeout_s: float) -> None:
        """Poll `condition` until true; fail when a process died or time ran out."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            for name, process in self.processes.items():
                if process.poll() is not None and not name.startswith("killed-"):
                    raise AssertionError(f"{name} exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop every process: SIGTERM, then SIGKILL whatever still runs after 5 s."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for process in self.processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                # Nothing of theirs is read after this point; a process still shutting down
                # (Celery's warm shutdown, the webserver) need not take the caller's time.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def log_tails(self, lines: int = 25) -> str:
        """The last lines of every process's log, for a failure message."""
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"===== {path.name}\n" + "\n".join(tail))
        return "\n".join(parts)


def environment(
    base: Mapping[str, str],
    *,
    state_dir: Path,
    warehouse_url: str,
    dagster_url: str,
    redis_url: str,
    api: Mapping[str, str],
    visibility_timeout_seconds: int,
) -> dict[str, str]:
    """The environment of a deployment with Celery workers on the given services."""
    clean = {k: v for k, v in base.items() if not k.startswith(("INTEL_", "DAGSTER_"))}
    return {
        **clean,
        **api,
        "INTEL_STATE_DIR": str(state_dir),
        "INTEL_POSTGRES_URL": warehouse_url,
        "INTEL_DAGSTER_POSTGRES_URL": dagster_url,
        "INTEL_REDIS_URL": redis_url,
        "INTEL_ARCHIVE_URL": str(state_dir / "archive"),
        "INTEL_EXECUTOR": "celery",
        "INTEL_CELERY_VISIBILITY_TIMEOUT_SECONDS": str(visibility_timeout_seconds),
        "INTEL_CODE_SERVER_HOST": "127.0.0.1",
        "INTEL_CODE_SERVER_PORT": str(free_port()),
    }


def listening(port: int) -> bool:
    """Whether a server accepts connections on the port (the code server: once it has loaded)."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """One request to the webserver's GraphQL API; its data (errors fail)."""
    answer = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
    )
    answer.raise_for_status()
    body = answer.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def stop_instigators(url: str, keep: set[str]) -> None:
    """Stop the sensors and schedules (but `keep`) that would launch runs of their own."""
    found = graphql(
        url,
        """query($r: RepositorySelector!) {
          sensorsOrError(repositorySelector: $r) {
            __typename ... on Sensors { results { id name } } ... on PythonError { message } }
          schedulesOrError(repositorySelector: $r) {
            __typename ... on Schedules { results { id name } } ... on PythonError { message } }
        }""",
        {"r": LOCATION},
    )
    assert found["sensorsOrError"]["__typename"] == "Sensors", found
    assert found["schedulesOrError"]["__typename"] == "Schedules", found
    for sensor in found["sensorsOrError"]["results"]:
        if sensor["name"] not in keep:
            stopped = graphql(
                url,
                "mutation($id: String) { stopSensor(id: $id) { __typename } }",
                {"id": sensor["id"]},
            )
            assert stopped["stopSensor"]["__typename"] == "StopSensorMutationResult"
    for schedule in found["schedulesOrError"]["results"]:
        stopped = graphql(
            url,
            "mutation($id: String) { stopRunningSchedule(id: $id) { __typename } }",
            {"id": schedule["id"]},
        )
        assert stopped["stopRunningSchedule"]["__typename"] == "ScheduleStateResult"


def launch(url: str, game: str, run_config: dict[str, Any], *, priority: int = 0) -> str:
    """Queue one run of a game's collection and analysis, as the UI does; its run id."""
    added = graphql(
        url,
        """mutation($r: RepositorySelector!, $p: String!, $k: String!) {
          addDynamicPartition(repositorySelector: $r, partitionsDefName: $p, partitionKey: $k)
          { __typename } }""",
        {"r": LOCATION, "p": "games", "k": game},
    )
    assert added["addDynamicPartition"]["__typename"] == "AddDynamicPartitionSuccess"
    params = {
        "selector": {
            **LOCATION,
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [{"path": [key]} for key in GAME_ASSETS],
        },
        "mode": "default",
        "runConfigData": run_config,
        "executionMetadata": {
            "tags": [
                {"key": "dagster/partition", "value": game},
                {"key": "dagster/priority", "value": str(priority)},
            ]
        },
    }
    launched = graphql(
        url,
        """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
          __typename ... on LaunchRunSuccess { run { runId } }
          ... on PythonError { message } ... on RunConfigValidationInvalid { errors { message } }
        } }""",
        {"p": params},
    )["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def step_events(
    instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType
) -> list[tuple[str, int]]:
    """(step key, process id) of each event of a kind in the run's event log."""
    return [
        (entry.dagster_event.step_key or "", entry.dagster_event.pid or 0)
        for entry in instance.all_logs(run_id, of_type=kind)
        if entry.dagster_event is not None
    ]


def runs_finished(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> bool:
    """Whether every one of the runs has ended (any outcome)."""
    runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
    return all(run is not None and run.is_finished for run in runs)
