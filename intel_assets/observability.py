"""API metrics kept in Redis, where every process adds to them and Prometheus can read them.

The API clients call `record_api_attempt` after every HTTP attempt; it writes in ONE pipelined
round trip. Counters only ever grow (Prometheus computes rates), so processes never overwrite
each other. Key layout (all hashes; `|` separates the parts of a field):

    intel:metrics:api:calls            field `api|method|class` → attempts (counter)
    intel:metrics:api:errors           field `api|method|class` → attempts that were not 2xx
    intel:metrics:api:latency_sum      field `api|method`       → seconds spent, summed (float)
    intel:metrics:api:latency_count    field `api|method`       → attempts timed
    intel:metrics:api:latency_bucket   field `api|method|le`    → attempts that took <= le
                                                                   seconds (cumulative, as
                                                                   Prometheus histograms are;
                                                                   le is one of LATENCY_BUCKETS
                                                                   or `+Inf`)

`api` is "youtube", "twitch" or "twitch_auth"; `method` the API method ("videos.list",
"streams", "oauth2.token"); `class` the status class: `2xx`, `3xx`, `4xx`, `5xx`, `timeout`
(no answer in time) or `network` (no connection, or the connection broke mid-answer).

The other state a Prometheus exporter reads lives where its owner keeps it:

    intel:breaker:{api}                         breaker hash: state, failures, open_until
                                                (see intel_assets.resources.breaker)
    intel:quota:{platform}:{bucket}:{window}    units used in the bucket's current window, and
    ...:closed                                  "1" while the API has closed it
                                                (see intel_assets.resources.quota)
    intel:twitch:ratelimit                      hash: limit, remaining, reset (epoch seconds)
                                                from Twitch's last Ratelimit-* headers

The warehouse counts what it writes, after each committed transaction:

    intel:metrics:rows_written         field `table` → rows written (counter; `replace_many`
                                                       and `append_rows` of PostgresWarehouse)

`intel_assets.metrics` exposes all of it to Prometheus.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

log = logging.getLogger(__name__)

CALLS_KEY = "intel:metrics:api:calls"
ERRORS_KEY = "intel:metrics:api:errors"
LATENCY_SUM_KEY = "intel:metrics:api:latency_sum"
LATENCY_COUNT_KEY = "intel:metrics:api:latency_count"
LATENCY_BUCKET_KEY = "intel:metrics:api:latency_bucket"
ROWS_WRITTEN_KEY = "intel:metrics:rows_written"
# Upper bounds (seconds) of the latency histogram: local answers take milliseconds, Google's
# tens to hundreds, a slow or stuck API seconds up to the timeout.
LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def status_class(status: int | None, *, timed_out: bool = False) -> str:
    """The status class an attempt is counted under: `2xx`..`5xx`, `timeout` or `network`."""
    if status is None:
        return "timeout" if timed_out else "network"
    return f"{status // 100}xx"


def _le_label(bound: float) -> str:
    return f"{bound:g}"


def record_api_attempt(
    client: redis.Redis,
    *,
    api: str,
    method: str,
    status: str,
    latency_seconds: float,
    gauges: Mapping[str, Mapping[str, Any]] | None = None,
) -> bool:
    """Count one HTTP attempt and its latency, in one pipelined round trip.

    Metrics never fail a call: if Redis does not answer, the attempt goes uncounted and a
    warning is logged.

    Args:
        client: The Redis connection.
        api: "youtube", "twitch" or "twitch_auth".
        method: The API method.
        status: The status class (`status_class`).
        latency_seconds: From sending the request to the end of the answer's body.
        gauges: Hashes to overwrite in the same round trip (hash key to fields), e.g. the last
            rate-limit headers.

    Returns:
        Whether Redis recorded it.
    """
    call_field = f"{api}|{method}|{status}"
    method_field = f"{api}|{method}"
    pipe = client.pipeline(transaction=False)
    pipe.hincrby(CALLS_KEY, call_field, 1)
    if status != "2xx":
        pipe.hincrby(ERRORS_KEY, call_field, 1)
    pipe.hincrbyfloat(LATENCY_SUM_KEY, method_field, latency_seconds)
    pipe.hincrby(LATENCY_COUNT_KEY, method_field, 1)
    for bound in LATENCY_BUCKETS:
        if latency_seconds <= bound:
            pipe.hincrby(LATENCY_BUCKET_KEY, f"{method_field}|{_le_label(bound)}", 1)
    pipe.hincrby(LATENCY_BUCKET_KEY, f"{method_field}|+Inf", 1)
    for key, fields in (gauges or {}).items():
        mapping: dict[Any, Any] = dict(fields)
        pipe.hset(key, mapping=mapping)
    try:
        pipe.execute()
    except (redis.RedisError, OSError) as error:
        log.warning("API metrics not recorded (%s: %s)", type(error).__name__, error)
        return False
    return True


@dataclass
class ApiMetrics:
    """Every API metric in Redis, as a Prometheus exporter would expose it.

    Attributes:
        calls: (api, method, status class) to attempts.
        errors: (api, method, status class) to attempts that were not 2xx.
        latency_sum: (api, method) to seconds summed.
        latency_count: (api, method) to attempts timed.
        latency_buckets: (api, method, le) to cumulative attempts, le as in the key layout.
    """

    calls: dict[tuple[str, str, str], int] = field(default_factory=dict)
    errors: dict[tuple[str, str, str], int] = field(default_factory=dict)
    latency_sum: dict[tuple[str, str], float] = field(default_factory=dict)
    latency_count: dict[tuple[str, str], int] = field(default_factory=dict)
    latency_buckets: dict[tuple[str, str, str], int] = field(default_factory=dict)


def _split3(raw: str) -> tuple[str, str, str]:
    api, method, last = raw.split("|", 2)
    return api, method, last


def _split2(raw: str) -> tuple[str, str]:
    api, method = raw.split("|", 1)
    return api, method


def read_api_metrics(client: redis.Redis) -> ApiMetrics:
    """Read every API metric in one pipelined round trip."""
    pipe = client.pipeline(transaction=False)
    for key in (CALLS_KEY, ERRORS_KEY, LATENCY_SUM_KEY, LATENCY_COUNT_KEY, LATENCY_BUCKET_KEY):
        pipe.hgetall(key)
    calls, errors, sums, counts, buckets = pipe.execute()
    return ApiMetrics(
        calls={_split3(k): int(v) for k, v in calls.items()},
        errors={_split3(k): int(v) for k, v in errors.items()},
        latency_sum={_split2(k): float(v) for k, v in sums.items()},
        latency_count={_split2(k): int(v) for k, v in counts.items()},
        latency_buckets={_split3(k): int(v) for k, v in buckets.items()},
    )


def record_rows_written(client: redis.Redis, rows_by_table: Mapping[str, int]) -> bool:
    """Count rows a committed write put in each table, in one pipelined round trip.

    Like the API metrics, this never fails the write it counts: if Redis does not answer, the
    rows go uncounted and a warning is logged.

    Returns:
        Whether Redis recorded them.
    """
    pipe = client.pipeline(transaction=False)
    for table, rows in rows_by_table.items():
        pipe.hincrby(ROWS_WRITTEN_KEY, table, int(rows))
    try:
        pipe.execute()
    except (redis.RedisError, OSError) as error:
        log.warning("rows written not recorded (%s: %s)", type(error).__name__, error)
        return False
    return True


def read_rows_written(client: redis.Redis) -> dict[str, int]:
    """Rows written per table since the counters began (one round trip)."""
    raw: Mapping[str, str] = client.hgetall(ROWS_WRITTEN_KEY)  # type: ignore[assignment]
    return {table: int(rows) for table, rows in raw.items()}
