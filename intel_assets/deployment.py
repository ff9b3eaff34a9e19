"""The processes of a deployment on more than one machine, as Dagster runs them in production.

`intel-assets dev` runs everything in one `dagster dev` process tree. Past one machine the same
code runs as separate processes against the shared Postgres instance (DESIGN.md, growth path):

| command | runs |
|---|---|
| `intel-assets code-server` | `dagster api grpc` serving `intel_assets.definitions` (port 4266) |
| `intel-assets webserver` | `dagster-webserver` with `deploy/workspace.yaml` |
| `intel-assets daemon` | `dagster-daemon run` with `deploy/workspace.yaml` |
| `intel-assets worker` | a dagster-celery worker taking steps (with `INTEL_EXECUTOR=celery`) |

`deploy/workspace.yaml` reaches the code server at `INTEL_CODE_SERVER_HOST` and
`INTEL_CODE_SERVER_PORT`, which these commands default to localhost:4266.
"""

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from intel_assets.execution import ExecutionConfigError
from intel_assets.settings import PROJECT_ROOT

LOCATION_NAME = "creator_intel"
DEFINITIONS_MODULE = "intel_assets.definitions"
DEFINITIONS_ATTRIBUTE = "defs"
DEPLOY_DIR = PROJECT_ROOT / "deploy"
DEPLOY_WORKSPACE = DEPLOY_DIR / "workspace.yaml"

CODE_SERVER_HOST_VARIABLE = "INTEL_CODE_SERVER_HOST"
CODE_SERVER_PORT_VARIABLE = "INTEL_CODE_SERVER_PORT"
DEFAULT_CODE_SERVER_HOST = "localhost"
DEFAULT_CODE_SERVER_PORT = 4266

CELERY_APP = "dagster_celery.app"


def _bin(name: str) -> str:
    """A console script of this Python environment (the venv's `bin`)."""
    return str(Path(sys.executable).parent / name)


def code_server_address(environ: Mapping[str, str]) -> tuple[str, int]:
    """(host, port) where the webserver and daemon look for the code server.

    Raises:
        ExecutionConfigError: The port is not a number.
    """
    host = environ.get(CODE_SERVER_HOST_VARIABLE) or DEFAULT_CODE_SERVER_HOST
    raw_port = environ.get(CODE_SERVER_PORT_VARIABLE) or str(DEFAULT_CODE_SERVER_PORT)
    if not raw_port.isdigit():
        raise ExecutionConfigError(
            f"{CODE_SERVER_PORT_VARIABLE} must be a port number, not {raw_port!r}"
        )
    return host, int(raw_port)


def code_server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables `deploy/workspace.yaml` reads, with their defaults filled in."""
    host, port = code_server_address(environ)
    return {CODE_SERVER_HOST_VARIABLE: host, CODE_SERVER_PORT_VARIABLE: str(port)}


def code_server_command(host: str, port: int) -> list[str]:
    """`dagster api grpc` serving the project's definitions on host:port."""
    return [
        _bin("dagster"), "api", "grpc",
        "-m", DEFINITIONS_MODULE, "-a", DEFINITIONS_ATTRIBUTE,
        "--location-name", LOCATION_NAME,
        "-h", host, "-p", str(port),
    ]  # fmt: skip


def webserver_command(host: str, port: int) -> list[str]:
    """`dagster-webserver` on host:port, loading the code location from the code server."""
    return [_bin("dagster-webserver"), "-w", str(DEPLOY_WORKSPACE), "-h", host, "-p", str(port)]


def daemon_command() -> list[str]:
    """`dagster-daemon run`, loading the code location from the code server."""
    return [_bin("dagster-daemon"), "run", "-w", str(DEPLOY_WORKSPACE)]


def worker_command(
    name: str, config_path: Path, *, concurrency: int, queues: Sequence[str], loglevel: str
) -> list[str]:
    """`dagster-celery worker start` for one named worker.

    The definitions module is imported by the worker's main process before it forks its pool,
    so each pool process starts with the code loaded instead of importing it for its first step.
    """
    command = [
        _bin("dagster-celery"), "worker", "start",
        "-A", CELERY_APP, "-y", str(config_path), "-n", name,
        "-i", DEFINITIONS_MODULE, "-l", loglevel,
    ]  # fmt: skip
    for queue in queues:
        command += ["-q", queue]
    return [*command, "--", "--concurrency", str(concurrency)]


def with_venv_on_path(env: Mapping[str, str]) -> dict[str, str]:
    """The environment with this Python environment's `bin` first on PATH.

    `dagster-celery worker start` starts `celery` by name, and Dagster starts `dagster` by name
    for runs launched from a code server.
    """
    bin_dir = str(Path(sys.executable).parent)
    path = env.get("PATH", "")
    parts = [p for p in path.split(":") if p and p != bin_dir]
    return {**env, "PATH": ":".join([bin_dir, *parts])}
