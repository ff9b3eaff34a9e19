"""The `intel-assets` command: services, migrations, the development server and the tests.

Every sub-command reads its settings from the environment when it runs (see
`intel_assets.settings`); none prints a secret.
"""

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from intel_assets import migrate, services
from intel_assets.settings import PROJECT_ROOT, Settings, redact_url


def runtime_environment(
    settings: Settings, endpoints: services.Endpoints, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment Dagster processes run with: where each service is.

    Args:
        settings: The command's settings.
        endpoints: The running services.
        base: The environment to extend (defaults to this process's).
    """
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "DAGSTER_HOME": str(settings.dagster_home),
            "INTEL_STATE_DIR": str(settings.state_dir),
            "INTEL_POSTGRES_URL": endpoints.postgres_url,
            "INTEL_DAGSTER_POSTGRES_URL": endpoints.dagster_postgres_url,
            "INTEL_REDIS_URL": endpoints.redis_url,
            "INTEL_ARCHIVE_URL": settings.resolved_archive_url,
        }
    )
    return env


def prepare_dagster_home(settings: Settings) -> Path:
    """Create DAGSTER_HOME with the project's `dagster.yaml` linked in; its path."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    link = home / "dagster.yaml"
    target = PROJECT_ROOT / "dagster.yaml"
    if link.is_symlink() or link.exists():
        if link.resolve() == target.resolve():
            return home
        link.unlink()
    link.symlink_to(target)
    return home


def prepare(settings: Settings) -> services.Endpoints:
    """Start or reuse the services, apply pending migrations and prepare DAGSTER_HOME."""
    endpoints = services.up(settings)
    applied = migrate.apply_pending(endpoints.postgres_url)
    for name in applied:
        print(f"migrated: {name}", file=sys.stderr)
    prepare_dagster_home(settings)
    return endpoints


def _cmd_services(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.action == "up":
        endpoints = services.up(settings)
        print(f"postgres: {redact_url(endpoints.postgres_url)}")
        print(f"redis:    {redact_url(endpoints.redis_url)}")
    elif args.action == "status":
        for name, line in services.status(settings).items():
            print(f"{name}: {line}")
    else:
        stopped = services.stop(settings)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    endpoints = services.up(settings)
    applied = migrate.apply_pending(endpoints.postgres_url)
    print("applied: " + (", ".join(applied) if applied else "nothing pending"))
    return 0


def _run_foreground(command: Sequence[str], env: dict[str, str]) -> int:
    """Run a child process in the foreground, passing Ctrl-C and SIGTERM on to it."""
    process = subprocess.Popen(list(command), cwd=PROJECT_ROOT, env=env)

    def forward(signum: int, _frame: object) -> None:
        process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _cmd_dev(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    endpoints = prepare(settings)
    env = runtime_environment(settings, endpoints)
    print(f"intel-assets: Dagster UI on http://{args.host}:{args.port}", file=sys.stderr)
    return _run_foreground(
        [
            sys.executable,
            "-m",
            "dagster",
            "dev",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "-h",
            args.host,
            "-p",
            str(args.port),
        ],
        env,
    )


def _cmd_test(args: argparse.Namespace) -> int:
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["pyright"],
        ["pytest", *args.pytest_args],
    ]
    bin_dir = Path(sys.executable).parent
    failed = []
    for step in steps:
        print(f"intel-assets test: {' '.join(step)}", file=sys.stderr, flush=True)
        code = subprocess.run([str(bin_dir / step[0]), *step[1:]], cwd=PROJECT_ROOT).returncode
        if code != 0:
            failed.append(step[0] if step[0] != "ruff" else " ".join(step[:2]))
    if failed:
        print(f"intel-assets test: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("intel-assets test: all passed", file=sys.stderr)
    return 0


def _cmd_simulator(args: argparse.Namespace) -> int:
    import logging

    from intel_assets.simulator.server import Simulator, serve_until_signalled

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    simulator = Simulator.from_environment(
        os.environ, seed=args.seed, videos_per_game_per_day=args.videos_per_game_per_day
    )
    running = simulator.start(args.host, args.port)
    print(f"YOUTUBE_API_URL={running.youtube_url}")
    print(f"TWITCH_API_URL={running.twitch_url}")
    print(f"TWITCH_AUTH_URL={running.auth_url}", flush=True)
    serve_until_signalled(running)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar of `intel-assets`."""
    parser = argparse.ArgumentParser(
        prog="intel-assets",
        description="Creator Intel: YouTube and Twitch game intelligence on Dagster.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("services", help="start, inspect or stop the embedded Postgres and Redis")
    p.add_argument("action", choices=["up", "status", "stop"])
    p.set_defaults(func=_cmd_services)

    p = sub.add_parser("migrate", help="apply pending warehouse migrations")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser("dev", help="start services, migrate, and serve the Dagster UI")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=_cmd_dev)

    p = sub.add_parser("simulator", help="serve the local YouTube + Twitch API simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--videos-per-game-per-day", type=int, default=120)
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(func=_cmd_simulator)

    p = sub.add_parser("test", help="run ruff, pyright and pytest (extra args go to pytest)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_test)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `intel-assets` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (services.ServiceError, migrate.MigrationError) as error:
        print(f"intel-assets: {error}", file=sys.stderr)
        return 2
