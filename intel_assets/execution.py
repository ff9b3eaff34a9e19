"""Where a run's steps execute: in the run's own processes, or on Celery workers.

`INTEL_EXECUTOR` picks Dagster's executor for every job of the code location:

| value | executor |
|---|---|
| unset, `default` | Dagster's default: steps run in the run worker's own process tree |
| `celery` | `dagster_celery.celery_executor`: each step is a Celery task for any worker |

(Workers are `intel-assets worker` processes, on any machine that reaches the Redis server.)

The Celery broker and result backend live on the project's Redis server, in databases of their
own so the queue never mixes with the hot tier's keys: the hot tier's database plus one (broker)
and plus two (results), unless `INTEL_CELERY_BROKER_URL` / `INTEL_CELERY_BACKEND_URL` say
otherwise. Both URLs reach Dagster only as environment variables, never as literal config, so a
Redis password never lands in a job snapshot or the event log.

A step must survive the loss of its worker: tasks are acknowledged only when they end (late
acknowledgement), a worker whose pool process dies hands its task back to the queue
(reject on worker lost), and a task whose worker vanished entirely goes back to the queue once it
has been unacknowledged for the visibility timeout. That timeout must exceed the longest step
(`INTEL_CELERY_VISIBILITY_TIMEOUT_SECONDS`, 2 h by default), or a step still running would be
handed to a second worker.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dagster as dg

EXECUTOR_VARIABLE = "INTEL_EXECUTOR"
BROKER_VARIABLE = "INTEL_CELERY_BROKER_URL"
BACKEND_VARIABLE = "INTEL_CELERY_BACKEND_URL"
VISIBILITY_VARIABLE = "INTEL_CELERY_VISIBILITY_TIMEOUT_SECONDS"

EXECUTORS = ("default", "celery")
CELERY_QUEUE = "dagster"
"""The queue dagster-celery submits steps to unless a step's tag says otherwise."""

DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 7200
"""Above the longest step: a month's archive or a long backfill run take minutes, not hours."""

# Redis has 16 databases unless configured otherwise.
_REDIS_DATABASES = 16


class ExecutionConfigError(ValueError):
    """The executor settings in the environment cannot be used; the message says why."""


def executor_name(environ: Mapping[str, str]) -> str:
    """The executor `INTEL_EXECUTOR` selects ("default" when unset).

    Raises:
        ExecutionConfigError: The value is not one of `EXECUTORS`.
    """
    name = (environ.get(EXECUTOR_VARIABLE) or "default").strip().lower()
    if name not in EXECUTORS:
        raise ExecutionConfigError(
            f"{EXECUTOR_VARIABLE}={name!r} is not an executor; use one of {', '.join(EXECUTORS)}"
        )
    return name


def visibility_timeout_seconds(environ: Mapping[str, str]) -> int:
    """Seconds a delivered task may stay unacknowledged before the broker hands it out again.

    Raises:
        ExecutionConfigError: The variable is not a positive whole number.
    """
    raw = environ.get(VISIBILITY_VARIABLE) or str(DEFAULT_VISIBILITY_TIMEOUT_SECONDS)
    try:
        seconds = int(raw)
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise ExecutionConfigError(f"{VISIBILITY_VARIABLE} must be a positive integer, not {raw!r}")
    return seconds


def celery_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The Celery settings that every run worker and every Celery worker must share.

    They go to `celery_executor`'s `config_source` (the side that submits steps) and into the
    worker's configuration file (the side that takes them), from this one function.
    """
    visibility = visibility_timeout_seconds(environ)
    return {
        # A task is acknowledged when it ends, so a worker that dies mid-step leaves it queued.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One step at a time per pool process: a worker never hoards steps it cannot start.
        "worker_prefetch_multiplier": 1,
        # With late acknowledgement, a task running when the broker connection drops would be
        # redelivered while it still runs; cancelling it keeps one copy of each step running.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": visibility,
            # Every worker looks for tasks whose worker vanished at least this often, so a lost
            # step is requeued within a tenth of the timeout (at most 10 s) after it expires.
            "unacked_restore_interval": max(1, min(10, visibility // 10)),
            "unacked_restore_throttle": 1,
            # dagster-celery's own defaults for publishing retries, kept.
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
    }


def _with_database(url: str, database: int) -> tuple[str, str]:
    """(broker URL, backend URL) on the server of a redis-py URL, in `database`."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("db", "virtual_host")]
    if parts.scheme == "unix":
        # kombu spells a Unix socket `redis+socket://` and takes the database as virtual_host;
        # Celery's result backend takes the same scheme with `db`.
        # (urlunsplit would drop the `//` of an empty host: "redis+socket:/path".)
        broker = f"redis+socket://{parts.path}?{urlencode([*query, ('virtual_host', database)])}"
        backend = f"redis+socket://{parts.path}?{urlencode([*query, ('db', database)])}"
        return broker, backend
    same = urlunsplit(parts._replace(path=f"/{database}", query=urlencode(query)))
    return same, same


def _database_of(url: str) -> int:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "db" in query:
        return int(query["db"])
    path = parts.path.strip("/")
    return int(path) if parts.scheme in ("redis", "rediss") and path.isdigit() else 0


def celery_urls(redis_url: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """(broker URL, result backend URL) for Celery: the configured ones, else derived.

    Derived from the project's Redis URL (`redis://`, `rediss://` or the embedded server's
    `unix://` socket): the same server, the hot tier's database + 1 for the broker and + 2 for
    the results.

    Raises:
        ExecutionConfigError: Nothing is configured and the Redis URL is of a kind that cannot
            be translated (e.g. Sentinel), or its database leaves no room for two more.
    """
    broker = environ.get(BROKER_VARIABLE)
    backend = environ.get(BACKEND_VARIABLE)
    if broker and backend:
        return broker, backend
    scheme = urlsplit(redis_url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ExecutionConfigError(
            f"cannot derive Celery URLs from a {scheme}:// Redis URL; "
            f"set {BROKER_VARIABLE} and {BACKEND_VARIABLE}"
        )
    database = _database_of(redis_url)
    if database + 2 >= _REDIS_DATABASES:
        raise ExecutionConfigError(
            f"the hot tier uses Redis database {database}; Celery needs the next two: "
            f"set {BROKER_VARIABLE} and {BACKEND_VARIABLE}"
        )
    derived_broker, _ = _with_database(redis_url, database + 1)
    _, derived_backend = _with_database(redis_url, database + 2)
    return broker or derived_broker, backend or derived_backend


def celery_environment(redis_url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables that point run workers and Celery workers at the broker and backend.

    `CELERY_BROKER_URL` and `CELERY_RESULT_BACKEND` are Celery's own: a Celery worker reads them
    from the environment, so the URLs (and any password in them) are never written to a file.
    """
    broker, backend = celery_urls(redis_url, environ)
    return {
        BROKER_VARIABLE: broker,
        BACKEND_VARIABLE: backend,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": backend,
    }


def celery_executor_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """The `celery_executor` config: URLs from the environment at run time, shared settings."""
    return {
        "broker": {"env": BROKER_VARIABLE},
        "backend": {"env": BACKEND_VARIABLE},
        "config_source": celery_settings(environ),
    }


def worker_config_yaml(environ: Mapping[str, str]) -> dict[str, Any]:
    """The `-y` file of `dagster-celery worker start`: the executor block without the URLs.

    The worker takes the URLs from `CELERY_BROKER_URL` / `CELERY_RESULT_BACKEND` instead:
    dagster-celery would otherwise copy them, passwords included, into a file of its own.
    """
    return {"execution": {"config": {"config_source": celery_settings(environ)}}}


def executor_from_environment(environ: Mapping[str, str]) -> dg.ExecutorDefinition | None:
    """The executor every job uses, as `INTEL_EXECUTOR` says (None: Dagster's default).

    Raises:
        ExecutionConfigError: The settings are invalid.
    """
    if executor_name(environ) != "celery":
        return None
    from dagster_celery import celery_executor

    return celery_executor.configured(celery_executor_config(environ), name="celery")
