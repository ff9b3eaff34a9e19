"""One circuit breaker per API, its state in Redis so every process and run sees the same one.

Closed: calls go through; each call that fails after its retries (5xx, timeouts, broken or
truncated answers) adds one to `failures`, any answered call resets it. `failure_threshold`
consecutive failed calls open the breaker for `open_seconds` (defaults from the seed: 3 and 15
minutes): calls fail at once with `CircuitOpenError`, without a request or a quota unit. When the
time is up the first caller becomes the one half-open probe (it holds the probe for
`probe_seconds`, while others are still refused); its success closes the breaker, its failure
opens it again for another `open_seconds`.

Redis key: `redis_keys.breaker_key(api)`, a hash with `state` (closed, open, half_open), `failures`,
`open_until` and `probe_until` (epoch seconds). Every transition is one Lua script, so two
processes can never both take the probe or lose a failure.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import redis

from intel_assets.resources.errors import CircuitOpenError, StateUnavailableError
from intel_assets.resources.redis_keys import breaker_key

BreakerState = Literal["closed", "open", "half_open"]

# KEYS: the breaker hash. ARGV: op (allow, success, failure), now, threshold, open_seconds,
# probe_seconds. Returns {verdict, failures, until}; numbers as strings (Lua would truncate
# floats returned as numbers).
_BREAKER_LUA = """
local op = ARGV[1]
local now = tonumber(ARGV[2])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
local probe_until = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
if op == 'allow' then
  if state == 'closed' then
    return {'closed', tostring(failures), '0'}
  end
  if state == 'open' and now < open_until then
    return {'deny', tostring(failures), tostring(open_until)}
  end
  if state == 'half_open' and now < probe_until then
    return {'deny', tostring(failures), tostring(probe_until)}
  end
  probe_until = now + tonumber(ARGV[5])
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', tostring(probe_until))
  return {'probe', tostring(failures), tostring(probe_until)}
elseif op == 'success' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', '0', 'open_until', '0',
             'probe_until', '0')
  return {'closed', '0', '0'}
else
  failures = failures + 1
  if state == 'half_open' or failures >= tonumber(ARGV[3]) then
    open_until = now + tonumber(ARGV[4])
    redis.call('HSET', KEYS[1], 'state', 'open', 'failures', tostring(failures),
               'open_until', tostring(open_until), 'probe_until', '0')
    return {'open', tostring(failures), tostring(open_until)}
  end
  redis.call('HSET', KEYS[1], 'failures', tostring(failures))
  return {'closed', tostring(failures), '0'}
end
"""


@dataclass(frozen=True)
class BreakerStatus:
    """What a breaker does with the next call.

    Attributes:
        api: The API the breaker guards.
        state: "closed" (calls go through), "open" (refused until `open_until`) or "half_open"
            (the open time is over: the next call is the probe, or a probe is running).
        failures: Consecutive failed calls counted so far.
        open_until: While open, when the probe may start (UTC); else None.
    """

    api: str
    state: BreakerState
    failures: int
    open_until: datetime | None


@dataclass(frozen=True)
class Permit:
    """Leave to make one call.

    Attributes:
        probe: Whether this call is the half-open probe.
        failures: Failures counted when the call was allowed (0: nothing to reset on success).
    """

    probe: bool
    failures: int


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class CircuitBreaker:
    """The breaker of one API, shared through Redis.

    Args:
        client: The Redis connection (the hot tier's).
        api: The API's name, e.g. "youtube"; part of the key.
        failure_threshold: Consecutive failed calls that open the breaker.
        open_seconds: How long it stays open before a probe.
        probe_seconds: How long a probe may take before another caller may probe instead.
        clock: Returns the current epoch seconds; tests may pass their own.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        api: str,
        failure_threshold: int = 3,
        open_seconds: float = 900.0,
        probe_seconds: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._redis = client
        self.api = api
        self.key = breaker_key(api)
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self.probe_seconds = probe_seconds
        self._clock = clock
        self._script = client.register_script(_BREAKER_LUA)

    def _unreachable(self, error: Exception) -> StateUnavailableError:
        return StateUnavailableError(
            f"the {self.api} circuit breaker cannot reach Redis "
            f"({type(error).__name__}: {error}); not calling the API",
            api=self.api,
        )

    def _run(self, op: str) -> tuple[str, int, float]:
        try:
            verdict, failures, until = self._script(
                keys=[self.key],
                args=[
                    op,
                    repr(self._clock()),
                    self.failure_threshold,
                    repr(float(self.open_seconds)),
                    repr(float(self.probe_seconds)),
                ],
            )  # type: ignore[misc]
        except (redis.RedisError, OSError) as error:
            raise self._unreachable(error) from None
        return str(verdict), int(float(failures)), float(until)

    def allow(self) -> Permit:
        """Leave for one call, or the refusal.

        Raises:
            CircuitOpenError: The breaker is open, or another caller's probe is running.
            StateUnavailableError: Redis did not answer.
        """
        verdict, failures, until = self._run("allow")
        if verdict == "deny":
            open_until = _utc(until)
            raise CircuitOpenError(
                f"the {self.api} circuit breaker is open after {failures} failed calls; "
                f"no request sent; the next probe may start at {open_until.isoformat()}",
                api=self.api,
                open_until=open_until,
            )
        return Permit(probe=verdict == "probe", failures=failures)

    def record_success(self, permit: Permit | None = None) -> None:
        """The API answered: close the breaker and forget earlier failures.

        Args:
            permit: The call's permit; a closed breaker with no failures needs no write.
        """
        if permit is not None and not permit.probe and permit.failures == 0:
            return
        self._run("success")

    def record_failure(self) -> BreakerStatus:
        """A call failed after its retries: count it, opening the breaker at the threshold."""
        verdict, failures, until = self._run("failure")
        if verdict == "open":
            return BreakerStatus(self.api, "open", failures, _utc(until))
        return BreakerStatus(self.api, "closed", failures, None)

    def status(self) -> BreakerStatus:
        """The breaker as every process sees it, in one Redis round trip.

        Raises:
            StateUnavailableError: Redis did not answer.
        """
        try:
            fields: dict[str, str] = self._redis.hgetall(self.key)  # type: ignore[assignment]
        except (redis.RedisError, OSError) as error:
            raise self._unreachable(error) from None
        state = fields.get("state", "closed")
        failures = int(float(fields.get("failures", "0")))
        open_until = float(fields.get("open_until", "0"))
        if state == "closed":
            return BreakerStatus(self.api, "closed", failures, None)
        if state == "open" and self._clock() < open_until:
            return BreakerStatus(self.api, "open", failures, _utc(open_until))
        return BreakerStatus(self.api, "half_open", failures, None)

    def reset(self) -> None:
        """Close the breaker by hand (an operator who knows the API is back)."""
        self._run("success")
