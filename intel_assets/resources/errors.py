"""What can go wrong when the project calls YouTube or Twitch, one class per outcome.

Every message says what happened and what to do, and is free of secrets: a configuration error
names the environment variable (`YOUTUBE_API_KEY`, `TWITCH_CLIENT_ID`, `TWITCH_CLIENT_SECRET`)
and never its value; text quoted from an API answer is passed through `redact` first.

    ApiError                          base: api ("youtube", "twitch"), method, HTTP status
    ├── ConfigurationError            a missing, invalid or unauthorised key/secret; never retried
    ├── QuotaExhaustedError           the ledger refuses: the bucket is spent or closed until reset
    │   └── QuotaExceededError        the API itself answered quotaExceeded (closes the bucket)
    ├── StateUnavailableError         Redis (ledger, breakers) unreachable: refuse rather than guess
    │   └── QuotaUnavailableError     ... met while reserving quota
    ├── CircuitOpenError              the API's breaker is open: no call was made
    ├── RateLimitedError              429 (or rateLimitExceeded) still there after the retries
    ├── ApiUnavailableError           5xx, timeouts, broken connections still there after retries
    ├── MalformedResponseError        the answer was not the JSON the method returns
    └── RequestRejectedError          any other 4xx: the request itself is wrong; never retried
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

REDACTED = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """The text with every occurrence of each secret replaced by `***`.

    Args:
        text: Any text that may quote a request or an answer.
        secrets: The configured secret values; empty ones are ignored.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _rebuild(cls: type["ApiError"], message: str, state: dict[str, Any]) -> "ApiError":
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ApiError(Exception):
    """A call to an external API did not give the data asked for.

    Attributes:
        api: Which API: "youtube" or "twitch".
        method: The API method, e.g. "videos.list" or "streams"; None when no call was made.
        status: The HTTP status of the last answer, or None when there was none.
        attempts: How many attempts were made, when retries ran out; else None.
    """

    def __init__(
        self, message: str, *, api: str, method: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.api = api
        self.method = method
        self.status = status
        self.attempts: int | None = None

    def __str__(self) -> str:
        message = super().__str__()
        if self.attempts is None:
            return message
        return f"{message}, on every one of {self.attempts} attempts"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default pickling (multiprocessing).
        return (_rebuild, (type(self), self.args[0], dict(self.__dict__)))


class ConfigurationError(ApiError):
    """The project is configured wrongly: a key or secret is missing, invalid or not permitted.

    Attributes:
        variables: The environment variables to fix, e.g. `("YOUTUBE_API_KEY",)`.
    """

    def __init__(
        self,
        message: str,
        *,
        api: str,
        variables: tuple[str, ...],
        method: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, api=api, method=method, status=status)
        self.variables = variables


class QuotaExhaustedError(ApiError):
    """The quota ledger refuses to spend from a bucket until it resets.

    Attributes:
        bucket: The bucket, e.g. "default", "search", "batch_stats" (YouTube) or "points".
        reset_at: When the bucket resets (UTC): the next Pacific midnight for YouTube buckets.
        reason: "limit" when the reservation would exceed the budget, "closed" when the API said
            quotaExceeded earlier in the quota day.
    """

    def __init__(
        self,
        message: str,
        *,
        api: str,
        bucket: str,
        reset_at: datetime,
        reason: str,
        method: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, api=api, method=method, status=status)
        self.bucket = bucket
        self.reset_at = reset_at
        self.reason = reason


class QuotaExceededError(QuotaExhaustedError):
    """The API answered quotaExceeded: the bucket is closed until the Pacific midnight."""


class StateUnavailableError(ApiError):
    """Redis, which holds the quota ledger and the breakers, did not answer: nothing was called."""


class QuotaUnavailableError(StateUnavailableError):
    """The quota ledger could not reach Redis, so it refused to spend rather than guess."""


class CircuitOpenError(ApiError):
    """The API's circuit breaker is open after repeated failures: no request was sent.

    Attributes:
        open_until: When the breaker lets one probe call through (UTC).
    """

    def __init__(self, message: str, *, api: str, open_until: datetime) -> None:
        super().__init__(message, api=api)
        self.open_until = open_until


class RateLimitedError(ApiError):
    """The API kept answering "too many requests" beyond the retries (or asked for a long wait).

    Attributes:
        retry_after_seconds: The wait the API asked for last, if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        api: str,
        method: str | None = None,
        status: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, api=api, method=method, status=status)
        self.retry_after_seconds = retry_after_seconds


class ApiUnavailableError(ApiError):
    """Server errors, timeouts or broken connections persisted through every retry."""


class MalformedResponseError(ApiError):
    """The answer to `method` was not valid JSON of the expected shape."""


class RequestRejectedError(ApiError):
    """The API rejected the request itself (a 4xx other than 429); retrying cannot help.

    Attributes:
        reason: The API's reason code, e.g. "badRequest", "videoNotFound", when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        api: str,
        method: str | None = None,
        status: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message, api=api, method=method, status=status)
        self.reason = reason
