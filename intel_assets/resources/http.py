"""What the YouTube and Twitch clients share: timeouts, retries, the breaker gate and metrics.

One call of an API method runs as follows:

1. the API's circuit breaker is asked for leave (`CircuitOpenError` at once while it is open);
2. each attempt (the client's own function) reserves quota, sends the request with the
   client's timeout and turns the answer into data or an error. An attempt that fails in a way
   a later one may not (5xx, 429, timeout, broken connection, truncated or non-JSON body) raises
   `RetryableFailure`; any other error ends the call at once (4xx, quotaExceeded, bad key);
3. tenacity repeats failed attempts up to `max_attempts`, waiting what the API asked in
   Retry-After (seconds or an HTTP date) or else a capped exponential backoff with full jitter;
   a Retry-After longer than `max_retry_after_seconds` ends the call instead of stalling a run;
4. the outcome goes to the breaker: a call whose attempts all failed on 5xx, timeouts or broken
   answers counts as ONE failed call; any answer from the API resets the failures.

Every attempt's status class and latency go to Redis (`intel_assets.counters`). Nothing
here logs or raises request headers, bodies or URLs with query strings, and the clients send
keys in headers, so no secret can reach a log line or an error.
"""

import functools
import logging
import ssl
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Self, TypeVar

import certifi
import dagster as dg
import httpx
import redis
import tenacity
from pydantic import PrivateAttr
from tenacity.stop import stop_base

from intel_assets.counters import record_api_attempt, status_class
from intel_assets.resources.breaker import BreakerStatus, CircuitBreaker
from intel_assets.resources.errors import (
    ApiError,
    ApiUnavailableError,
    MalformedResponseError,
    RateLimitedError,
)
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import BucketStatus, QuotaLedger, drain_quota_log
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube_models import Repair, parse_items

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is retried.

    Attributes:
        max_attempts: Attempts per call, the first included.
        backoff_base_seconds: Upper bound of the first random wait; it doubles per attempt.
        backoff_cap_seconds: Largest upper bound of a random wait.
        max_retry_after_seconds: Longest Retry-After honoured; a longer one ends the call.
    """

    max_attempts: int = 4
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 30.0
    max_retry_after_seconds: float = 120.0


class RetryableFailure(Exception):
    """One attempt failed in a way a later attempt may not.

    Attributes:
        error: The error the call ends with if no attempt succeeds.
        retry_after: Seconds the API asked to wait, if it said.
        breaker_failure: Whether the call counts as failed for the breaker when the attempts run
            out (5xx, timeouts, broken answers: yes; 429: no, the API is up).
        reached_api: False when the request never left (the connection failed), so the API
            cannot have charged it.
    """

    def __init__(
        self,
        error: ApiError,
        *,
        retry_after: float | None = None,
        breaker_failure: bool = True,
        reached_api: bool = True,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.breaker_failure = breaker_failure
        self.reached_api = reached_api


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one verifying TLS context (certifi's CA bundle, as httpx uses).

    Loading the CA bundle takes about 30 ms, and Dagster builds the resources anew for every
    run, so each run would pay it again for nothing.
    """
    return ssl.create_default_context(cafile=certifi.where())


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """The wait a Retry-After header asks for, in seconds (None when absent or unreadable).

    Args:
        value: The header: delay seconds (`"30"`) or an HTTP date
            (`"Wed, 21 Oct 2026 07:28:00 GMT"`).
        now: The current time for an HTTP date (default: now).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def json_object(response: httpx.Response, *, api: str, method: str) -> dict[str, Any]:
    """The answer's body as a JSON object, or a retryable `MalformedResponseError`."""
    try:
        body = response.json()
    except ValueError:
        raise RetryableFailure(
            MalformedResponseError(
                f"{api} {method} answered {response.status_code} with a body that is not JSON "
                f"({len(response.content)} bytes)",
                api=api,
                method=method,
                status=response.status_code,
            )
        ) from None
    if not isinstance(body, dict):
        raise RetryableFailure(
            MalformedResponseError(
                f"{api} {method} answered JSON that is not an object ({type(body).__name__})",
                api=api,
                method=method,
                status=response.status_code,
            )
        )
    return body


def server_error(api: str, method: str, status: int, retry_after: float | None) -> RetryableFailure:
    """A 5xx answer as a retryable failure that counts for the breaker."""
    return RetryableFailure(
        ApiUnavailableError(
            f"{api} {method} answered {status}",
            api=api,
            method=method,
            status=status,
        ),
        retry_after=retry_after,
    )


def rate_limited(api: str, method: str, status: int, retry_after: float | None) -> RetryableFailure:
    """A "too many requests" answer as a retryable failure that does not count for the breaker."""
    waited = "an unspecified time" if retry_after is None else f"{retry_after:g} s"
    return RetryableFailure(
        RateLimitedError(
            f"{api} {method} answered {status} (rate limited; asked to wait {waited})",
            api=api,
            method=method,
            status=status,
            retry_after_seconds=retry_after,
        ),
        retry_after=retry_after,
        breaker_failure=False,
    )


class _StopOnLongRetryAfter(stop_base):
    """Stop when the API asks for a longer wait than a run should sit through."""

    def __init__(self, longest_seconds: float) -> None:
        self.longest_seconds = longest_seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome else None
        return (
            isinstance(failure, RetryableFailure)
            and failure.retry_after is not None
            and failure.retry_after > self.longest_seconds
        )


class ApiCaller:
    """Runs the calls of one API through its breaker, the retry policy and the metrics.

    Args:
        api: The API's name ("youtube", "twitch", "twitch_auth"), used in metrics and errors.
        http: The httpx client, with its base URL and timeout.
        breaker: The API's breaker.
        policy: The retry policy.
        metrics: Where attempts are counted (the hot tier's Redis), or None.
        sleep: How to wait between attempts (tests may pass their own).
        response_gauges: Hashes to store from each answer in the same round trip as its
            metrics (Twitch: the Ratelimit-* headers).
    """

    def __init__(
        self,
        *,
        api: str,
        http: httpx.Client,
        breaker: CircuitBreaker,
        policy: RetryPolicy,
        metrics: redis.Redis | None,
        sleep: Callable[[float], None] = time.sleep,
        response_gauges: Callable[[httpx.Response], Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        self.api = api
        self.http = http
        self.breaker = breaker
        self.policy = policy
        self._metrics = metrics
        self._sleep = sleep
        self._jitter = tenacity.wait_random_exponential(
            multiplier=policy.backoff_base_seconds, max=policy.backoff_cap_seconds
        )
        self._response_gauges = response_gauges

    def _wait(self, state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, RetryableFailure) and failure.retry_after is not None:
            return failure.retry_after
        return self._jitter(state)

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s attempt %d of %d failed (%s); retrying in %.2f s",
            self.api,
            state.attempt_number,
            self.policy.max_attempts,
            failure,
            wait,
        )

    def call(self, method: str, attempt: Callable[[int], T]) -> T:
        """Run `attempt(n)` for n = 1, 2, ... until it returns, behind the breaker.

        Args:
            method: The API method (for errors and logs).
            attempt: Reserves quota, sends one request and interprets the answer; raises
                `RetryableFailure` for outcomes worth another attempt.

        Raises:
            CircuitOpenError: The breaker is open; nothing was sent.
            ApiError: The call's outcome when no attempt succeeded.
        """
        permit = self.breaker.allow()
        retrying = tenacity.Retrying(
            stop=tenacity.stop_any(
                tenacity.stop_after_attempt(self.policy.max_attempts),
                _StopOnLongRetryAfter(self.policy.max_retry_after_seconds),
            ),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(RetryableFailure),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            result = retrying(attempt_numbered(attempt))
        except RetryableFailure as failure:
            failure.error.attempts = int(retrying.statistics.get("attempt_number", 1))
            if failure.breaker_failure:
                status = self.breaker.record_failure()
                if status.state == "open":
                    log.error(
                        "%s circuit breaker opened after %d failed calls, until %s",
                        self.api,
                        status.failures,
                        status.open_until.isoformat() if status.open_until else "?",
                    )
            else:
                self.breaker.record_success(permit)
            raise failure.error from None
        except ApiError as error:
            if error.status is not None:  # the API answered: it is up
                self.breaker.record_success(permit)
            raise
        self.breaker.record_success(permit)
        return result

    def send(self, method: str, request: httpx.Request) -> httpx.Response:
        """Send one request, read its whole body and count it; transport trouble is retryable.

        Raises:
            RetryableFailure: Timeout, refused or broken connection, or a truncated body.
        """
        started = time.perf_counter()
        try:
            response = self.http.send(request)
        except httpx.TimeoutException as error:
            self._count(method, status_class(None, timed_out=True), started)
            raise RetryableFailure(
                ApiUnavailableError(
                    f"{self.api} {method} did not answer within the timeout "
                    f"({type(error).__name__})",
                    api=self.api,
                    method=method,
                )
            ) from None
        except httpx.TransportError as error:
            self._count(method, status_class(None), started)
            never_sent = isinstance(error, httpx.ConnectError)
            raise RetryableFailure(
                ApiUnavailableError(
                    f"{self.api} {method}: "
                    + ("could not connect" if never_sent else "the connection broke")
                    + f" ({type(error).__name__})",
                    api=self.api,
                    method=method,
                ),
                reached_api=not never_sent,
            ) from None
        gauges = self._response_gauges(response) if self._response_gauges else None
        self._count(method, status_class(response.status_code), started, gauges)
        log.debug(
            "%s %s answered %d in %.3f s",
            self.api,
            method,
            response.status_code,
            time.perf_counter() - started,
        )
        return response

    def _count(
        self,
        method: str,
        status: str,
        started: float,
        gauges: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        if self._metrics is None:
            return
        record_api_attempt(
            self._metrics,
            api=self.api,
            method=method,
            status=status,
            latency_seconds=time.perf_counter() - started,
            gauges=gauges,
        )


def attempt_numbered(attempt: Callable[[int], T]) -> Callable[[], T]:
    """`attempt` as tenacity calls it (no arguments), fed the attempt number."""
    counter = iter(range(1, 1_000_000))

    def run() -> T:
        return attempt(next(counter))

    return run


class ApiClient:
    """What both API clients share: one piece of work's caller, ledger and bookkeeping.

    Attributes:
        game_key: The game the work collects for (logged with every spend).
        run_id: The Dagster run doing the work (logged with every spend).
        calls: Calls made per API method (retries not counted).
        skipped: Items per API method that could not be understood and were rejected.
        repairs: Items stored with fields cleaned or nulled (see `youtube_models.Record`).
        rejected_ids: Ids of the rejected items ("?" where an item had none).
    """

    api: ClassVar[str]
    items_key: ClassVar[str] = "items"

    def __init__(
        self,
        *,
        caller: ApiCaller,
        ledger: QuotaLedger,
        game_key: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self._caller = caller
        self._ledger = ledger
        self.game_key = game_key
        self.run_id = run_id
        self.calls: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.repairs: list[Repair] = []
        self.rejected_ids: list[str] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(game_key={self.game_key!r}, run_id={self.run_id!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Drain the quota ledger's stream of spends into `intel_quota_log`."""
        self._ledger.close()

    def flush(self) -> int:
        """Write the buffered spends now; the rows written."""
        return self._ledger.flush()

    def quota_status(self) -> dict[str, BucketStatus]:
        """Used, remaining, limit, reset time and share of every bucket (one Redis round trip)."""
        return self._ledger.status()

    def breaker_status(self) -> BreakerStatus:
        """The API's breaker as every process sees it (one Redis round trip)."""
        return self._caller.breaker.status()

    def _parse(
        self, body: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], T], method: str
    ) -> tuple[list[T], int]:
        """The records of an answer and how many items were skipped (also added to `skipped`).

        Raises:
            MalformedResponseError: The answer's list is not a list.
        """
        try:
            records, skipped = parse_items(
                body,
                parse,
                method=method,
                key=self.items_key,
                repairs=self.repairs,
                rejected=self.rejected_ids,
            )
        except ValueError as error:
            raise MalformedResponseError(
                f"{self.api} {method}: {error}", api=self.api, method=method
            ) from None
        self.skipped[method] += skipped
        return records, skipped


class ApiResource(dg.ConfigurableResource):
    """Settings both API resources share: shared state, timeouts, retries and the breaker.

    Attributes:
        redis: The Redis server of the quota ledger, breakers, token cache and metrics.
        warehouse: Where every spend is logged (`intel_quota_log`).
        timeout_seconds: Longest wait for connecting, sending or reading one answer.
        max_attempts: Attempts per call, the first included.
        backoff_base_seconds: Upper bound of the first random wait between attempts; doubles.
        backoff_cap_seconds: Largest upper bound of a random wait.
        max_retry_after_seconds: Longest Retry-After the client waits; longer ends the call.
        breaker_failure_threshold: Consecutive failed calls that open the breaker (seed: 3).
        breaker_open_seconds: How long the breaker stays open before a probe (seed: 15 min).
        breaker_probe_seconds: How long a half-open probe may take before another may probe.
        quota_log_flush_every: Spends of a client after which it drains the ledger's stream.
    """

    redis: RedisHotTier
    warehouse: PostgresWarehouse
    timeout_seconds: float = 10.0
    max_attempts: int = 4
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 30.0
    max_retry_after_seconds: float = 120.0
    breaker_failure_threshold: int = 3
    breaker_open_seconds: float = 900.0
    breaker_probe_seconds: float = 120.0
    quota_log_flush_every: int = 100

    _http_clients: dict[str, httpx.Client] = PrivateAttr(default_factory=dict)
    _open_clients: list[Any] = PrivateAttr(default_factory=list)

    api: ClassVar[str]

    def _ledger(self) -> QuotaLedger:
        raise NotImplementedError

    def quota_status(self) -> dict[str, BucketStatus]:
        """The API's quota buckets now, in one Redis round trip (no API call, no client)."""
        return self._ledger().status()

    def breaker_status(self) -> BreakerStatus:
        """The API's breaker as every process sees it, in one Redis round trip."""
        return self.breaker(self.api).status()

    def reconcile_quota_log(self) -> int:
        """Move every spend waiting in the ledger's stream into `intel_quota_log`; how many.

        Readers of the log (the sensor's search calls per game) call it first, so the log
        holds every spend Redis counted, whichever process made it and whatever became of it.
        """
        return drain_quota_log(self.redis.client(), self.warehouse)

    def retry_policy(self) -> RetryPolicy:
        """The retry settings as a policy."""
        return RetryPolicy(
            max_attempts=max(1, self.max_attempts),
            backoff_base_seconds=self.backoff_base_seconds,
            backoff_cap_seconds=self.backoff_cap_seconds,
            max_retry_after_seconds=self.max_retry_after_seconds,
        )

    def breaker(self, api: str) -> CircuitBreaker:
        """The breaker of `api` (state in Redis; this object holds no state of its own)."""
        return CircuitBreaker(
            self.redis.client(),
            api=api,
            failure_threshold=self.breaker_failure_threshold,
            open_seconds=self.breaker_open_seconds,
            probe_seconds=self.breaker_probe_seconds,
        )

    def http_client(self, base_url: str, headers: Mapping[str, str] | None = None) -> httpx.Client:
        """The pooled httpx client for `base_url`, created on first use."""
        client = self._http_clients.get(base_url)
        if client is None:
            client = httpx.Client(
                base_url=base_url.rstrip("/"),
                verify=tls_context(),
                timeout=httpx.Timeout(self.timeout_seconds),
                headers=dict(headers or {}),
                follow_redirects=False,
            )
            self._http_clients[base_url] = client
        return client

    def caller(
        self,
        api: str,
        base_url: str,
        *,
        response_gauges: Callable[[httpx.Response], Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> ApiCaller:
        """An `ApiCaller` for `api` at `base_url` with this resource's settings."""
        return ApiCaller(
            api=api,
            http=self.http_client(base_url),
            breaker=self.breaker(api),
            policy=self.retry_policy(),
            metrics=self.redis.client(),
            response_gauges=response_gauges,
        )

    def breaker_statuses(self, apis: Sequence[str]) -> dict[str, BreakerStatus]:
        """The breakers of `apis`, one Redis round trip each."""
        return {api: self.breaker(api).status() for api in apis}

    def remember(self, client: T) -> T:
        """Keep a client so teardown can close it (flushing its quota log)."""
        self._open_clients.append(client)
        return client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close the clients made in this step (flushing their spends) and the HTTP pools."""
        self.close()

    def close(self) -> None:
        """Close every client made by this resource and every HTTP connection pool."""
        for client in self._open_clients:
            client.close()
        self._open_clients.clear()
        for http in self._http_clients.values():
            http.close()
        self._http_clients.clear()
