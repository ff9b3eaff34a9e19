"""Prometheus metrics of Creator Intel, read at scrape time from where every process keeps them.

The API clients, the quota ledger, the breakers and the warehouse count in Redis (see
`intel_assets.counters` for the keys), so the counts of every run worker, sensor and CLI
process add up; the collection state in Postgres says how old each game's data is. A scrape
reads them all (a few pipelined Redis round trips and one query) through `IntelCollector`; no
process keeps counts of its own. A source that does not answer is reported as
`intel_metrics_source_up{source=...} 0` and its metrics are left out, so the scrape itself
still succeeds and says what is missing.

Metrics (all prefixed `intel_`):

| metric | type | labels | meaning |
| --- | --- | --- | --- |
| `api_calls_total` | counter | api, method, status | HTTP attempts (2xx..5xx, timeout, network) |
| `api_errors_total` | counter | api, method, status | attempts that were not 2xx |
| `api_latency_seconds` | histogram | api, method | time from request to the end of the answer |
| `quota_used_units` | gauge | platform, bucket | units spent in the bucket's current window |
| `quota_limit_units` | gauge | platform, bucket | units the bucket holds per window |
| `quota_used_ratio` | gauge | platform, bucket | used / limit |
| `quota_bucket_closed` | gauge | platform, bucket | 1 while the API has closed the bucket |
| `circuit_breaker_state` | gauge | api, state | 1 for its state (closed, open, half_open) |
| `circuit_breaker_failures` | gauge | api | consecutive failed calls counted |
| `twitch_ratelimit_remaining` | gauge | | points Twitch said were left (last answer) |
| `rows_written_total` | counter | table | rows the warehouse wrote (committed) |
| `data_age_seconds` | gauge | game, source | time since the game's last good collection |
| `collection_failures_in_row` | gauge | game, source | failed collections since the last success |
| `run_outcomes_total` | counter | job, outcome | runs that ended (success, failure, canceled) |
| `run_duration_seconds` | histogram | job | seconds from a run's start to its end |
| `analyzer_outcomes_total` | counter | analyzer, outcome | results fresh, stale, rejected, failed |
| `metrics_source_up` | gauge | source | 1 if Redis / Postgres answered this scrape |

Run outcomes and durations are counted by `run_outcomes_sensor` in the daemon, once per run
whichever machine ran it; analyzer outcomes by the analysis assets.
"""

import logging
import math
import signal
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime

import psycopg
import redis
from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from intel_assets.counters import (
    read_analyzer_outcomes,
    read_api_metrics,
    read_rows_written,
    read_run_metrics,
)
from intel_assets.resources.api_state import ApiStateReader
from intel_assets.resources.errors import StateUnavailableError
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.twitch import read_rate_status

log = logging.getLogger(__name__)

BREAKER_STATES = ("closed", "open", "half_open")
POSTGRES_TIMEOUT_SECONDS = 3


def collection_ages(postgres_url: str, now: datetime) -> list[dict]:
    """Per game and source: seconds since the last good collection, and failures since.

    Raises:
        psycopg.Error: Postgres did not answer.
    """
    with psycopg.connect(postgres_url, connect_timeout=POSTGRES_TIMEOUT_SECONDS) as conn:
        rows = conn.execute(
            "SELECT game_key, source, last_collected_at, failures_in_row"
            " FROM intel_collection_state ORDER BY 1, 2"
        ).fetchall()
    return [
        {
            "game": game,
            "source": source,
            "age_seconds": (now - collected).total_seconds() if collected else None,
            "failures_in_row": failures,
        }
        for game, source, collected, failures in rows
    ]


def _bucket_bound(label: str) -> float:
    return math.inf if label == "+Inf" else float(label)


class IntelCollector(Collector):
    """Reads every metric at scrape time (see the module docstring for the list).

    Args:
        redis_url: The Redis server the resources count in.
        postgres_url: The warehouse database (None: an embedded server that was not running;
            the data-age metrics are then missing and Postgres is reported down).
    """

    def __init__(self, redis_url: str, postgres_url: str | None) -> None:
        self._postgres_url = postgres_url
        self._state = ApiStateReader(RedisHotTier(url=redis_url))
        self._redis = self._state.hot_tier

    def collect(self) -> Iterator[Metric]:
        """The metric families of one scrape."""
        up = GaugeMetricFamily(
            "intel_metrics_source_up", "Whether the source answered this scrape.", labels=["source"]
        )
        try:
            families = list(self._redis_families())
            up.add_metric(["redis"], 1.0)
        except (redis.RedisError, OSError, StateUnavailableError) as error:
            log.warning("metrics: Redis did not answer (%s: %s)", type(error).__name__, error)
            families = []
            up.add_metric(["redis"], 0.0)
        yield from families
        if self._postgres_url is None:
            up.add_metric(["postgres"], 0.0)
        else:
            try:
                yield from self._postgres_families()
                up.add_metric(["postgres"], 1.0)
            except psycopg.Error as error:
                log.warning("metrics: Postgres did not answer (%s)", type(error).__name__)
                up.add_metric(["postgres"], 0.0)
        yield up

    def _redis_families(self) -> Iterable[Metric]:
        client = self._redis.client()
        api = read_api_metrics(client)
        calls = CounterMetricFamily(
            "intel_api_calls", "HTTP attempts per API method and status class.",
            labels=["api", "method", "status"],
        )  # fmt: skip
        for (name, method, status), count in sorted(api.calls.items()):
            calls.add_metric([name, method, status], count)
        errors = CounterMetricFamily(
            "intel_api_errors", "HTTP attempts that were not 2xx.",
            labels=["api", "method", "status"],
        )  # fmt: skip
        for (name, method, status), count in sorted(api.errors.items()):
            errors.add_metric([name, method, status], count)
        latency = HistogramMetricFamily(
            "intel_api_latency_seconds", "Seconds from request to the end of the answer.",
            labels=["api", "method"],
        )  # fmt: skip
        for (name, method), total in sorted(api.latency_sum.items()):
            bounds = sorted(
                ((le, count) for (a, m, le), count in api.latency_buckets.items()
                 if (a, m) == (name, method)),
                key=lambda item: _bucket_bound(item[0]),
            )  # fmt: skip
            latency.add_metric([name, method], [(le, float(n)) for le, n in bounds], total)
        rows = CounterMetricFamily(
            "intel_rows_written", "Rows the warehouse wrote, per table.", labels=["table"]
        )
        for table, count in sorted(read_rows_written(client).items()):
            rows.add_metric([table], count)
        families: list[Metric] = [calls, errors, latency, rows]
        families += _run_families(client)
        families += self._quota_families()
        families += self._breaker_families()
        rate = read_rate_status(client)
        if rate.remaining is not None:
            remaining = GaugeMetricFamily(
                "intel_twitch_ratelimit_remaining", "Points Twitch reported left (last answer)."
            )
            remaining.add_metric([], rate.remaining)
            families.append(remaining)
        return families

    def _quota_families(self) -> list[Metric]:
        labels = ["platform", "bucket"]
        used = GaugeMetricFamily(
            "intel_quota_used_units", "Units spent in the bucket's current window.", labels=labels
        )
        limit = GaugeMetricFamily(
            "intel_quota_limit_units", "Units the bucket holds per window.", labels=labels
        )
        ratio = GaugeMetricFamily(
            "intel_quota_used_ratio", "Share of the bucket's units spent.", labels=labels
        )
        closed = GaugeMetricFamily(
            "intel_quota_bucket_closed", "1 while the API has closed the bucket.", labels=labels
        )
        for (platform, bucket), status in sorted(self._state.buckets().items()):
            used.add_metric([platform, bucket], status.used)
            limit.add_metric([platform, bucket], status.limit)
            ratio.add_metric([platform, bucket], status.share_used)
            closed.add_metric([platform, bucket], float(status.closed))
        return [used, limit, ratio, closed]

    def _breaker_families(self) -> list[Metric]:
        state = GaugeMetricFamily(
            "intel_circuit_breaker_state", "1 for the breaker's current state.",
            labels=["api", "state"],
        )  # fmt: skip
        failures = GaugeMetricFamily(
            "intel_circuit_breaker_failures", "Consecutive failed calls counted.", labels=["api"]
        )
        for breaker in self._state.breakers():
            for name in BREAKER_STATES:
                state.add_metric([breaker.api, name], float(breaker.state == name))
            failures.add_metric([breaker.api], breaker.failures)
        return [state, failures]

    def _postgres_families(self) -> list[Metric]:
        assert self._postgres_url is not None
        ages = collection_ages(self._postgres_url, datetime.now(UTC))
        age = GaugeMetricFamily(
            "intel_data_age_seconds", "Seconds since the game's last good collection.",
            labels=["game", "source"],
        )  # fmt: skip
        failures = GaugeMetricFamily(
            "intel_collection_failures_in_row", "Failed collections since the last success.",
            labels=["game", "source"],
        )  # fmt: skip
        for row in ages:
            if row["age_seconds"] is not None:
                age.add_metric([row["game"], row["source"]], row["age_seconds"])
            failures.add_metric([row["game"], row["source"]], row["failures_in_row"])
        return [age, failures]


def _run_families(client: redis.Redis) -> list[Metric]:
    """Run outcomes and durations per job, and analysis outcomes per analyzer."""
    runs = read_run_metrics(client)
    outcomes = CounterMetricFamily(
        "intel_run_outcomes", "Runs that ended, per job and outcome.", labels=["job", "outcome"]
    )
    for (job, outcome), count in sorted(runs.outcomes.items()):
        outcomes.add_metric([job, outcome], count)
    durations = HistogramMetricFamily(
        "intel_run_duration_seconds", "Seconds from a run's start to its end.", labels=["job"]
    )
    for job, total in sorted(runs.duration_sum.items()):
        bounds = sorted(
            ((le, n) for (j, le), n in runs.duration_buckets.items() if j == job),
            key=lambda item: _bucket_bound(item[0]),
        )
        durations.add_metric([job], [(le, float(n)) for le, n in bounds], total)
    analyzers = CounterMetricFamily(
        "intel_analyzer_outcomes", "Analysis results per analyzer and outcome.",
        labels=["analyzer", "outcome"],
    )  # fmt: skip
    for (analyzer, outcome), count in sorted(read_analyzer_outcomes(client).items()):
        analyzers.add_metric([analyzer, outcome], count)
    return [outcomes, durations, analyzers]


def build_registry(redis_url: str, postgres_url: str | None) -> CollectorRegistry:
    """A registry holding only Creator Intel's collector (no process metrics of its own)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IntelCollector(redis_url, postgres_url))
    return registry


def metrics_text(registry: CollectorRegistry) -> bytes:
    """One scrape in Prometheus' text exposition format."""
    return generate_latest(registry)


def serve_metrics(
    registry: CollectorRegistry,
    port: int,
    host: str = "127.0.0.1",
    stop: threading.Event | None = None,
) -> None:
    """Serve `/metrics` on host:port until SIGINT or SIGTERM (or until `stop` is set)."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    stopping = stop or threading.Event()
    previous: Mapping[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        previous = {
            sig: signal.signal(sig, lambda *_: stopping.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
    log.info("serving Prometheus metrics on http://%s:%d/metrics", host, port)
    try:
        stopping.wait()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
