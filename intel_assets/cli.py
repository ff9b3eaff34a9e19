"""The `intel-assets` command: services, migrations, the development server and the tests.

Every sub-command reads its settings from the environment when it runs (see
`intel_assets.settings`); none prints a secret.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import httpx
import redis

from intel_assets import deployment, execution, migrate, services, warning_filters
from intel_assets.partitions import DEFAULT_PARTITIONS_START, PARTITIONS_START_VARIABLE
from intel_assets.settings import PROJECT_ROOT, Settings, redact_url

if TYPE_CHECKING:
    from intel_assets.dev.background_seeding import SeedingBackfills
    from intel_assets.simulator.server import RunningSimulator, Simulator


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
            # Dagster's processes warn about the features the project opts into before they
            # import any of its code (warning_filters says which and why).
            "PYTHONWARNINGS": warning_filters.python_warnings(env.get("PYTHONWARNINGS")),
        }
    )
    if execution.executor_name(env) == "celery":
        env.update(execution.celery_environment(endpoints.redis_url, env))
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
    try:
        link.symlink_to(target)
    except FileExistsError:
        # Another process (a code server, daemon or worker starting beside this one) won.
        if link.resolve() != target.resolve():
            raise
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
        rows = [("SERVER", "STATE", "URL", "DATA")] + [
            (line.name, line.state, line.url, line.data_dir) for line in services.status(settings)
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [c.ljust(w) for c, w in zip(row[:3], widths, strict=True)]
            print("  ".join([*cells, row[3]]))
        if len(rows) == 1:
            print(f"no servers: nothing has been started in {settings.state_dir}")
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


def _run_foreground(
    command: Sequence[str],
    env: dict[str, str],
    cwd: Path = PROJECT_ROOT,
    companions: Sequence["subprocess.Popen[bytes]"] = (),
) -> int:
    """Run a child in a process group of its own until it exits; then end that whole group.

    Ctrl-C and SIGTERM are passed on to every process of the child's group, so `kill` of this
    command stops `dagster dev` and everything it started, as a terminal's Ctrl-C does. What
    of the group outlives the child (a code server) is terminated when the child has exited.
    `companions`, already started in groups of their own (the background seeding), get the
    same signals and are ended with the child.
    """
    started: list[subprocess.Popen[bytes]] = list(companions)

    def forward(signum: int, _frame: object) -> None:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)

    # Handlers go in before the child starts: a child begins with the default action for a
    # signal its parent handles, but inherits an ignored one, and a script's background job
    # starts with Ctrl-C ignored, which would leave `dagster dev` deaf to it.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        process = subprocess.Popen(list(command), cwd=cwd, env=env, start_new_session=True)
        started.append(process)
        code = process.wait()
        _end_group(process)
        return code
    finally:
        for companion in companions:
            _end_group(companion)
            with contextlib.suppress(subprocess.TimeoutExpired):
                companion.wait(timeout=1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _end_group(leader: "subprocess.Popen[bytes]", grace_s: float = 10.0) -> None:
    """Terminate what still runs in `leader`'s process group; kill it after `grace_s` seconds.

    The leader is reaped as soon as it has exited: until then it is a zombie, which still
    counts as a member of the group, so a companion that had already finished (the seeding)
    held the stop of `dev` for both grace periods, 20 s.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + grace_s
        try:
            os.killpg(leader.pid, sig)
            while time.monotonic() < deadline:
                leader.poll()
                os.killpg(leader.pid, 0)
                time.sleep(0.1)
        except ProcessLookupError:
            return


def _uses_real_apis(environ: Mapping[str, str]) -> bool:
    """Whether the user pointed the project at real APIs (else the simulator serves them)."""
    return bool(environ.get("YOUTUBE_API_URL") or environ.get("TWITCH_API_URL"))


def local_simulator() -> "Simulator":
    """The simulator `dev` and `seed-history` serve: it accepts only its own credentials.

    Whatever the environment holds: real credentials are for the real APIs and never go to
    the simulator, and the simulator and the collections pointed at it share one set.
    """
    from intel_assets.dev import history_seeding
    from intel_assets.simulator.server import Simulator

    return Simulator(
        youtube_api_key=history_seeding.SIMULATOR_KEY,
        twitch_client_id=history_seeding.SIMULATOR_CLIENT_ID,
        twitch_client_secret=history_seeding.SIMULATOR_CLIENT_SECRET,
    )


def simulator_environment(running: "RunningSimulator") -> dict[str, str]:
    """The API variables that point the pipeline at a running simulator, with its credentials.

    They replace any the user set (the simulator's defaults are not secrets), so the
    collections send the simulator the credentials it accepts.
    """
    from intel_assets.dev import history_seeding

    return {
        "YOUTUBE_API_URL": running.youtube_url,
        "TWITCH_API_URL": running.twitch_url,
        "TWITCH_AUTH_URL": running.auth_url,
        "YOUTUBE_API_KEY": history_seeding.SIMULATOR_KEY,
        "TWITCH_CLIENT_ID": history_seeding.SIMULATOR_CLIENT_ID,
        "TWITCH_CLIENT_SECRET": history_seeding.SIMULATOR_CLIENT_SECRET,
    }


def _seed(
    days: float,
    endpoints: services.Endpoints,
    running: "RunningSimulator",
    dagster_ui: str | None = None,
    marker: Path | None = None,
) -> None:
    """Replay `days` of history on the simulator running in this process.

    With `dagster_ui`, the live collection pauses meanwhile (`dev/background_seeding.py`) and
    each batch of seeded hours, then the seeded whole days, is backfilled through that
    webserver. `marker` is written once the collections are done.
    """
    from intel_assets.dev import background_seeding, history_seeding
    from intel_assets.resources.hot_tier import RedisHotTier
    from intel_assets.resources.warehouse import PostgresWarehouse

    warehouse = PostgresWarehouse(url=endpoints.postgres_url)
    hot_tier = RedisHotTier(url=endpoints.redis_url)
    resources = history_seeding.simulator_resources(
        running.youtube_url, running.twitch_url, running.auth_url, warehouse, hot_tier
    )
    backfills = background_seeding.SeedingBackfills(dagster_ui) if dagster_ui else None
    flag = hot_tier.client()

    def progress(at: datetime) -> None:
        if backfills is not None:
            background_seeding.hold_seeding_flag(flag)
        if at.hour == 0:
            print(f"intel-assets: seeding {at:%Y-%m-%d}", file=sys.stderr, flush=True)

    def backfill(start: datetime, end: datetime) -> None:
        if backfills is None:
            return
        try:
            backfills.launch_hours(start, end)
        except (httpx.HTTPError, RuntimeError) as error:
            print(f"intel-assets: seeded hours not backfilled: {error}", file=sys.stderr)

    try:
        if backfills is not None:
            background_seeding.hold_seeding_flag(flag)
            backfills.wait_until_ready()
        report = history_seeding.seed_history(days, resources, on_step=progress, on_hours=backfill)
    finally:
        warehouse.close()
        if backfills is not None:
            background_seeding.release_seeding_flag(flag)
    if marker is not None:
        marker.write_text(datetime.now(UTC).isoformat())
    print(
        f"intel-assets: seeded {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC: "
        + ", ".join(f"{n} {asset}" for asset, n in sorted(report.runs.items()))
        + (f"; {report.failed} runs failed" if report.failed else ""),
        file=sys.stderr,
        flush=True,
    )
    if backfills is not None:
        _backfill_seeded_days(backfills, report.start, report.end)


def _backfill_seeded_days(backfills: "SeedingBackfills", start: datetime, end: datetime) -> None:
    """Once the seeded hours' backfills are done, backfill the whole days seeded; wait for all."""
    from intel_assets.dev import background_seeding

    days_seeded = background_seeding.full_days(start, end)
    if days_seeded is not None:
        # A day rolls up its stored hours: they land first.
        backfills.wait_for_all()
        backfills.launch_days(*days_seeded)
    statuses = backfills.wait_for_all()
    print(
        "intel-assets: seeding backfills: " + ", ".join(f"{b} {s}" for b, s in statuses.items()),
        file=sys.stderr,
        flush=True,
    )


def dev_partitions_start(
    settings: Settings, seed_days: float, environ: Mapping[str, str], now: datetime
) -> str:
    """The first day of the time partitions `dev` runs Dagster with (`YYYY-MM-DD`).

    The user's `INTEL_PARTITIONS_START` wins. Otherwise the first start of a state folder fixes
    it at the UTC day of the first hour it seeds (seeding ends at the start of `now`'s hour;
    today without seeding) and keeps it in the folder, so later starts keep every partition; a
    folder seeded before the setting existed keeps the old default, which covers its history.
    """
    if environ.get(PARTITIONS_START_VARIABLE):
        return environ[PARTITIONS_START_VARIABLE]
    kept = settings.state_dir / "partitions-start"
    if kept.exists():
        return kept.read_text().strip()
    if (settings.state_dir / "history-seeded").exists():
        start = DEFAULT_PARTITIONS_START
    else:
        seeding_end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        start = (seeding_end - timedelta(days=max(seed_days, 0))).date()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    kept.write_text(start.isoformat())
    return start.isoformat()


def _cmd_dev(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    endpoints = prepare(settings)
    env = runtime_environment(settings, endpoints)
    env[PARTITIONS_START_VARIABLE] = dev_partitions_start(
        settings, args.seed_days, os.environ, datetime.now(UTC)
    )
    companions: list[subprocess.Popen[bytes]] = []
    running = None
    if not _uses_real_apis(os.environ):
        running = local_simulator().start("127.0.0.1", args.simulator_port)
        env.update(simulator_environment(running))
        print(f"intel-assets: API simulator on {running.base_url}", file=sys.stderr)
        marker = settings.state_dir / "history-seeded"
        if args.seed_days > 0 and not marker.exists():
            companions.append(_start_seeding(args, env, marker))
    print(f"intel-assets: Dagster UI on http://{args.host}:{args.port}", file=sys.stderr)
    try:
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
            # From DAGSTER_HOME, whose dagster.yaml is the project's: started beside the
            # project's own copy, `dagster dev` would warn that this copy is not used.
            cwd=settings.dagster_home,
            companions=companions,
        )
    finally:
        if running is not None:
            running.stop()


def _start_seeding(
    args: argparse.Namespace, env: Mapping[str, str], marker: Path
) -> "subprocess.Popen[bytes]":
    """Start `seed-history` beside `dagster dev`, backfilling through its webserver.

    A process of its own: the replay moves its process clock, which must not move the clock
    of the simulator that the live collections use.
    """
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    command = [
        str(Path(sys.executable).parent / "intel-assets"),
        "seed-history",
        "--days",
        str(args.seed_days),
        "--dagster-ui",
        f"http://{host}:{args.port}",
        "--marker",
        str(marker),
    ]
    print(
        f"intel-assets: seeding {args.seed_days:g} days of history in the background: "
        "watch the Runs page",
        file=sys.stderr,
    )
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=dict(env), start_new_session=True)


def _cmd_seed_history(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    endpoints = prepare(settings)
    marker = Path(args.marker) if args.marker else None
    with local_simulator().running() as running:
        _seed(args.days, endpoints, running, dagster_ui=args.dagster_ui, marker=marker)
    return 0


def run_tests(pytest_args: Sequence[str]) -> int:
    """`intel-assets test`: ruff, ruff format, pyright, then pytest with `pytest_args` as given.

    pyright (one process, most of the checks' time) runs beside ruff and pytest, whose start
    leaves a core idle for a while; its report is printed when pytest has finished.

    Returns:
        0 when every step passed, else 1 (each step runs even after one failed).
    """
    bin_dir = Path(sys.executable).parent
    failed = []
    with tempfile.TemporaryFile() as pyright_output:
        print("intel-assets test: pyright (report after pytest's)", file=sys.stderr, flush=True)
        pyright = subprocess.Popen(
            [str(bin_dir / "pyright")],
            cwd=PROJECT_ROOT,
            stdout=pyright_output,
            stderr=subprocess.STDOUT,
        )
        try:
            for step in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
                print(f"intel-assets test: {' '.join(step)}", file=sys.stderr, flush=True)
                code = subprocess.run([str(bin_dir / step[0]), *step[1:]], cwd=PROJECT_ROOT)
                if code.returncode != 0:
                    failed.append(" ".join(step[:2]))
            print(f"intel-assets test: pytest {' '.join(pytest_args)}", file=sys.stderr, flush=True)
            code = subprocess.run([str(bin_dir / "pytest"), *pytest_args], cwd=PROJECT_ROOT)
            if code.returncode != 0:
                failed.append("pytest")
        finally:
            pyright_code = pyright.wait()
        pyright_output.seek(0)
        print("intel-assets test: pyright", file=sys.stderr, flush=True)
        sys.stdout.buffer.write(pyright_output.read())
        sys.stdout.flush()
    if pyright_code != 0:
        failed.append("pyright")
    if failed:
        print(f"intel-assets test: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("intel-assets test: all passed", file=sys.stderr)
    return 0


def _cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from intel_assets.api import ApiConfig, create_app

    settings = Settings.from_env()
    endpoints = prepare(settings)
    config = ApiConfig.from_environment(
        endpoints.postgres_url, endpoints.redis_url, settings.resolved_archive_url, os.environ
    )
    keys = "API keys required" if config.api_keys else "no API keys: open to every client"
    print(f"intel-assets: read API on http://{args.host}:{args.port} ({keys})", file=sys.stderr)
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        access_log=not args.no_access_log,
        log_level="info",
    )
    return 0


def _cmd_health(args: argparse.Namespace) -> int:
    import json

    from intel_assets import health

    report = health.check_health(Settings.from_env())
    print(json.dumps(report.to_dict(), indent=2) if args.json else health.render_table(report))
    return 0 if report.healthy else 1


def _cmd_metrics(args: argparse.Namespace) -> int:
    from intel_assets import prometheus
    from intel_assets.logs import configure_cli_logging

    configure_cli_logging()
    urls = services.running_urls(Settings.from_env())
    registry = prometheus.build_registry(urls["redis"] or "", urls["postgres"])
    url = f"http://{args.host}:{args.port}/metrics"
    print(f"intel-assets: Prometheus metrics on {url}", file=sys.stderr, flush=True)
    prometheus.serve_metrics(registry, args.port, args.host)
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


def _exec_server(command: Sequence[str], env: Mapping[str, str]) -> NoReturn:
    """Replace this process with a long-running server, so signals reach it directly.

    A signal this process ignores would stay ignored across exec (a script's background job
    starts with Ctrl-C ignored); the server gets the default actions instead.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(PROJECT_ROOT)
    os.execve(command[0], list(command), dict(env))


def _deployment_environment(settings: Settings) -> dict[str, str]:
    """Services up and migrated; the environment of a code server, webserver or daemon."""
    endpoints = prepare(settings)
    env = runtime_environment(settings, endpoints)
    env.update(deployment.code_server_environment(env))
    return deployment.with_venv_on_path(env)


def _cmd_code_server(args: argparse.Namespace) -> int:
    env = _deployment_environment(Settings.from_env())
    where = f"{args.host}:{args.port}"
    executor = execution.executor_name(env)
    print(
        f"intel-assets: code location {deployment.LOCATION_NAME} on {where} (executor: {executor})",
        file=sys.stderr,
    )
    return _exec_server(deployment.code_server_command(args.host, args.port), env)


def _cmd_webserver(args: argparse.Namespace) -> int:
    env = _deployment_environment(Settings.from_env())
    host, port = deployment.code_server_address(env)
    print(
        f"intel-assets: Dagster UI on http://{args.host}:{args.port}, code server {host}:{port}",
        file=sys.stderr,
    )
    return _exec_server(deployment.webserver_command(args.host, args.port), env)


def _cmd_daemon(args: argparse.Namespace) -> int:
    env = _deployment_environment(Settings.from_env())
    host, port = deployment.code_server_address(env)
    print(f"intel-assets: Dagster daemon, code server {host}:{port}", file=sys.stderr)
    return _exec_server(deployment.daemon_command(), env)


def _cmd_worker(args: argparse.Namespace) -> int:
    import socket

    import yaml

    settings = Settings.from_env()
    endpoints = prepare(settings)
    env = runtime_environment(settings, endpoints)
    env.update(execution.celery_environment(endpoints.redis_url, env))
    name = args.name or f"intel-{socket.gethostname()}-{os.getpid()}"
    # One file per worker, replaced whole: workers starting together never read a half-written
    # file (dagster-celery would then start without the late-acknowledgement settings).
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    config_path = settings.dagster_home / f"celery-worker-{safe_name}.yaml"
    partial = config_path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(yaml.safe_dump(execution.worker_config_yaml(env), sort_keys=True))
    partial.replace(config_path)
    queues = args.queue or [execution.CELERY_QUEUE]
    print(
        f"intel-assets: Celery worker {name} on {redact_url(env['CELERY_BROKER_URL'])}, "
        f"queues {', '.join(queues)}, concurrency {args.concurrency}",
        file=sys.stderr,
    )
    command = deployment.worker_command(
        name, config_path, concurrency=args.concurrency, queues=queues, loglevel=args.loglevel
    )
    return _exec_server(command, deployment.with_venv_on_path(env))


def _add_deployment_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The commands of a deployment on several machines (README: Running on more than one)."""
    p = sub.add_parser("code-server", help="serve the code location over gRPC (dagster api grpc)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: all)")
    p.add_argument("--port", type=int, default=deployment.DEFAULT_CODE_SERVER_PORT)
    p.set_defaults(func=_cmd_code_server)

    p = sub.add_parser(
        "webserver", help="serve the Dagster UI, loading the code location from the code server"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=_cmd_webserver)

    p = sub.add_parser(
        "daemon", help="run the Dagster daemon (schedules, sensors, run queue, run monitoring)"
    )
    p.set_defaults(func=_cmd_daemon)

    p = sub.add_parser(
        "worker", help="run a Celery worker that executes steps (with INTEL_EXECUTOR=celery)"
    )
    p.add_argument("--name", help="worker name, unique among the workers (default: host-pid)")
    p.add_argument(
        "--concurrency", type=int, default=1, help="steps this worker runs at once (default 1)"
    )
    p.add_argument(
        "--queue",
        action="append",
        default=None,
        help=f"queue to take steps from (repeatable; default {execution.CELERY_QUEUE})",
    )
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(func=_cmd_worker)


def _add_development_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`dev` (the main command) and `seed-history`."""
    p = sub.add_parser("dev", help="start services, migrate, and serve the Dagster UI")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument(
        "--simulator-port", type=int, default=0, help="port of the API simulator (0: any free)"
    )
    p.add_argument(
        "--seed-days",
        type=float,
        default=2.0,
        help="days of history to seed on the simulator at the first start (0: none)",
    )
    p.set_defaults(func=_cmd_dev)

    p = sub.add_parser("seed-history", help="collect N past days on the simulator")
    p.add_argument("--days", type=float, default=2.0)
    p.add_argument(
        "--dagster-ui",
        help="a running Dagster webserver: pause live collection meanwhile and backfill the "
        "seeded hours and days through it",
    )
    p.add_argument("--marker", help="file to write once the collections are done")
    p.set_defaults(func=_cmd_seed_history)


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

    _add_development_commands(sub)

    p = sub.add_parser("api", help="serve the read API (FastAPI on uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-access-log", action="store_true", help="do not log each request")
    p.set_defaults(func=_cmd_api)

    p = sub.add_parser(
        "health",
        help="report Postgres, Redis, the archive, quota, breakers and freshness "
        "(exit 1 when something fails)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_health)

    p = sub.add_parser("metrics", help="serve Prometheus metrics read from Redis and Postgres")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9108)
    p.set_defaults(func=_cmd_metrics)

    p = sub.add_parser("simulator", help="serve the local YouTube + Twitch API simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--videos-per-game-per-day", type=int, default=120)
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(func=_cmd_simulator)

    _add_deployment_commands(sub)

    # Listed for --help only: main() hands everything after `test` to pytest unparsed.
    sub.add_parser(
        "test", help="run ruff, pyright and pytest (every argument after `test` goes to pytest)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `intel-assets` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["test"]:
        # pytest's arguments are pytest's to parse: `-k expr`, `-x`, `--help`, `-- path`.
        return run_tests(arguments[1:])
    args = build_parser().parse_args(arguments)
    try:
        return int(args.func(args))
    except (
        services.ServiceError,
        migrate.MigrationError,
        execution.ExecutionConfigError,
    ) as error:
        print(f"intel-assets: {error}", file=sys.stderr)
        return 2
    except (redis.ConnectionError, redis.TimeoutError) as error:
        # A server that is down is the user's to start, not a bug: one line, no traceback.
        print(
            f"intel-assets: Redis did not answer ({error}); "
            "`intel-assets services status` shows the servers",
            file=sys.stderr,
        )
        return 2
