"""API metrics kept in Redis, where every process adds to them and Prometheus can read them.

The API clients call `record_api_attempt` after every HTTP attempt; it writes in ONE pipelined
round trip. Counters only ever grow (Prometheus computes rates), so processes never overwrite
each other. Key layout (all hashes, named in `intel_assets.resources.redis_keys`; `|`
separates the parts of a field):

    CALLS_KEY                          field `api|method|class` → attempts (counter)
    ERRORS_KEY                         field `api|method|class` → attempts that were not 2xx
    LATENCY_SUM_KEY                    field `api|method`       → seconds spent, summed (float)
    LATENCY_COUNT_KEY                  field `api|method`       → attempts timed
    LATENCY_BUCKET_KEY                 field `api|method|le`    → attempts that took <= le
                                                                   seconds (cumulative, as
                                                                   Prometheus histograms are;
                                                                   le is one of LATENCY_BUCKETS
                                                                   or `+Inf`)

`api` is "youtube", "twitch" or "twitch_auth"; `method` the API method ("videos.list",
"streams", "oauth2.token"); `class` the status class: `2xx`, `3xx`, `4xx`, `5xx`, `timeout`
(no answer in time) or `network` (no connection, or the connection broke mid-answer).

The other state a Prometheus exporter reads lives where its owner keeps it:

    breaker_key(api)                            breaker hash: state, failures, open_until
                                                (see intel_assets.resources.breaker)
    quota_key(platform, bucket, window)         units used in the bucket's current window, and
    quota_closed_key(...)                       "1" while the API has closed it
                                                (see intel_assets.resources.quota)
    TWITCH_RATE_LIMIT_KEY                       hash: limit, remaining, reset (epoch seconds)
                                                from Twitch's last Ratelimit-* headers

The warehouse counts what it writes, after each committed transaction:

    ROWS_WRITTEN_KEY                   field `table` → rows written (counter; `replace_many`
                                                       and `append_rows` of PostgresWarehouse)

Every run that ends is counted once by `run_outcomes_sensor`, in the daemon, whichever machine
ran it (a run's id is remembered for a week, so a sensor tick evaluated twice counts nothing
twice):

    RUN_OUTCOMES_KEY                    field `job|outcome` → runs that ended so (counter;
                                                              outcome: success, failure, canceled)
    RUN_DURATION_SUM_KEY                field `job`         → seconds from start to end, summed
    RUN_DURATION_COUNT_KEY              field `job`         → runs timed (those that started)
    RUN_DURATION_BUCKET_KEY             field `job|le`      → runs that took <= le seconds
                                                              (cumulative; RUN_DURATION_BUCKETS)
    run_counted_key(run_id)             "1" once the run is counted, for COUNTED_RUN_TTL_SECONDS

The analysis assets count each analyzer's result per game and run:

    ANALYZER_OUTCOMES_KEY               field `analyzer|outcome` → results (counter; outcome:
                                        `fresh` written, `stale` written but a collection it
                                        reads failed last, `rejected` failed its blocking
                                        confidence check and was not written, `failed` raised)

`intel_assets.prometheus` exposes all of it to Prometheus.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from intel_assets.resources.redis_keys import (
    ANALYZER_OUTCOMES_KEY,
    CALLS_KEY,
    COUNTED_RUN_TTL_SECONDS,
    ERRORS_KEY,
    LATENCY_BUCKET_KEY,
    LATENCY_COUNT_KEY,
    LATENCY_SUM_KEY,
    ROWS_WRITTEN_KEY,
    RUN_DURATION_BUCKET_KEY,
    RUN_DURATION_COUNT_KEY,
    RUN_DURATION_SUM_KEY,
    RUN_OUTCOMES_KEY,
    run_counted_key,
)

log = logging.getLogger(__name__)

RUN_OUTCOMES = ("success", "failure", "canceled")
ANALYZER_OUTCOMES = ("fresh", "stale", "rejected", "failed")
# Upper bounds (seconds) of the run duration histogram: a game's collection takes seconds, its
# analysis tens of seconds, a week's backfill or a month's archive minutes.
RUN_DURATION_BUCKETS: tuple[float, ...] = (
    5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
)  # fmt: skip
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


# KEYS: the run's "counted" marker, then the four run hashes. ARGV: TTL of the marker, the
# `job|outcome` field, the job, the duration in seconds ("" when the run never started), then
# the `job|le` fields of the buckets the duration falls in. Counts the run only if the marker
# was not there, so counting is idempotent per run.
_RECORD_RUN_LUA = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if ARGV[4] ~= '' then
  redis.call('HINCRBYFLOAT', KEYS[3], ARGV[3], ARGV[4])
  redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
  for i = 5, #ARGV do
    redis.call('HINCRBY', KEYS[5], ARGV[i], 1)
  end
end
return 1
"""


@dataclass(frozen=True)
class RunOutcome:
    """A run that ended, as the metrics count it.

    Attributes:
        run_id: The run's id.
        job: The job's name (`__ASSET_JOB` for assets materialized from the UI or a sensor
            without a job of their own).
        outcome: "success", "failure" or "canceled".
        duration_seconds: From the run's start to its end; None when it never started (a run
            canceled in the queue).
    """

    run_id: str
    job: str
    outcome: str
    duration_seconds: float | None


def record_run_outcomes(client: redis.Redis, outcomes: list[RunOutcome]) -> int:
    """Count runs that ended, each at most once whoever reports it; how many were new.

    Raises:
        redis.RedisError: Redis did not answer (the caller retries: nothing is lost).
    """
    script = client.register_script(_RECORD_RUN_LUA)
    pipe = client.pipeline(transaction=False)
    for run in outcomes:
        buckets: list[str] = []
        seconds = run.duration_seconds
        if seconds is not None:
            buckets = [f"{run.job}|{_le_label(b)}" for b in RUN_DURATION_BUCKETS if seconds <= b]
            buckets.append(f"{run.job}|+Inf")
        script(
            keys=[
                run_counted_key(run.run_id),
                RUN_OUTCOMES_KEY,
                RUN_DURATION_SUM_KEY,
                RUN_DURATION_COUNT_KEY,
                RUN_DURATION_BUCKET_KEY,
            ],
            args=[
                COUNTED_RUN_TTL_SECONDS,
                f"{run.job}|{run.outcome}",
                run.job,
                "" if run.duration_seconds is None else repr(float(run.duration_seconds)),
                *buckets,
            ],
            client=pipe,
        )
    return sum(int(new) for new in pipe.execute())


@dataclass
class RunMetrics:
    """Every run metric in Redis, as a Prometheus exporter would expose it.

    Attributes:
        outcomes: (job, outcome) to runs.
        duration_sum: job to seconds summed.
        duration_count: job to runs timed.
        duration_buckets: (job, le) to cumulative runs.
    """

    outcomes: dict[tuple[str, str], int] = field(default_factory=dict)
    duration_sum: dict[str, float] = field(default_factory=dict)
    duration_count: dict[str, int] = field(default_factory=dict)
    duration_buckets: dict[tuple[str, str], int] = field(default_factory=dict)


def read_run_metrics(client: redis.Redis) -> RunMetrics:
    """Read every run metric in one pipelined round trip."""
    pipe = client.pipeline(transaction=False)
    for key in (
        RUN_OUTCOMES_KEY,
        RUN_DURATION_SUM_KEY,
        RUN_DURATION_COUNT_KEY,
        RUN_DURATION_BUCKET_KEY,
    ):
        pipe.hgetall(key)
    outcomes, sums, counts, buckets = pipe.execute()
    return RunMetrics(
        outcomes={_split2(k): int(v) for k, v in outcomes.items()},
        duration_sum={k: float(v) for k, v in sums.items()},
        duration_count={k: int(v) for k, v in counts.items()},
        duration_buckets={_split2(k): int(v) for k, v in buckets.items()},
    )


def record_analyzer_outcomes(client: redis.Redis, outcomes: Mapping[str, str]) -> bool:
    """Count one analysis run's result per analyzer (analyzer name to outcome).

    Like the other metrics this never fails what it counts: if Redis does not answer, the
    outcomes go uncounted and a warning is logged.

    Returns:
        Whether Redis recorded them.
    """
    pipe = client.pipeline(transaction=False)
    for analyzer, outcome in outcomes.items():
        pipe.hincrby(ANALYZER_OUTCOMES_KEY, f"{analyzer}|{outcome}", 1)
    try:
        pipe.execute()
    except (redis.RedisError, OSError) as error:
        log.warning("analyzer outcomes not recorded (%s: %s)", type(error).__name__, error)
        return False
    return True


def read_analyzer_outcomes(client: redis.Redis) -> dict[tuple[str, str], int]:
    """(analyzer, outcome) to results since the counters began (one round trip)."""
    raw: Mapping[str, str] = client.hgetall(ANALYZER_OUTCOMES_KEY)  # type: ignore[assignment]
    return {_split2(key): int(count) for key, count in raw.items()}
