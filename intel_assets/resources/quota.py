"""The quota ledger: API budgets reserved atomically in Redis and logged to `intel_quota_log`.

A bucket is a budget of units that resets on a window: YouTube's three daily buckets (`default`
for videos.list and the other list calls, `search` for search.list, `batch_stats` for
videos.batchGetStats) reset at midnight America/Los_Angeles, whatever the daylight-saving offset;
Twitch's points bucket resets every minute. Before every HTTP attempt the client reserves the
method's cost with ONE Lua script (check the closed flag and the limit, add, expire the counter at
the reset), so any number of processes sharing the Redis server can never spend more than the
limit together. A reservation whose request was never charged by the API (quotaExceeded, an
invalid key, a connection that never opened) is refunded.

Redis keys (one set per platform, bucket and window; built in `resources/redis_keys.py`):

    quota_key(platform, bucket, window)                units reserved in the window (integer),
                                                       expires at the window's reset
    quota_closed_key(quota_key(...))                   "1" once the API said quotaExceeded,
                                                       expires at the same reset

`{window}` is the Pacific date (`2026-03-08`) of a daily bucket or `m<epoch seconds of the
minute's start>` of a per-minute bucket.

    QUOTA_LOG_STREAM                                   stream of every reservation and refund

The ledger in Redis is the record of every spend. The Lua script that reserves units also
appends the spend to the stream `QUOTA_LOG_STREAM`, and the one that refunds appends the refund,
so no spend can be counted without being logged, whatever happens to the process next. Any
ledger drains the stream into `intel_quota_log` (`drain_quota_log`: one row per reservation,
with platform, bucket, operation, units_used, units_remaining, quota_day = the Pacific date of
the spend, category_key, run_id, metadata, created_at and reservation_id; a refund sets its
row's units_used to 0) every `flush_every` spends and when the client closes, and the
collection sensor drains before it reads the log. A drain is idempotent (rows are keyed by
reservation), so a drainer that dies half way, or two at once, lose and double nothing, and
while Postgres is down the spends wait in the stream. The units_used of the log then add up to
the Redis counters, bucket by bucket and day by day.

When Redis cannot be reached the ledger refuses to spend (`QuotaUnavailableError`) instead of
guessing how much is left.
"""

import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import redis
from psycopg.types.json import Jsonb

from intel_assets.resources.errors import QuotaExhaustedError, QuotaUnavailableError
from intel_assets.resources.redis_keys import QUOTA_LOG_STREAM, quota_closed_key, quota_key

if TYPE_CHECKING:  # the ledger only calls it; importing Dagster here would slow every worker
    from intel_assets.resources.warehouse import PostgresWarehouse

log = logging.getLogger(__name__)

PACIFIC = ZoneInfo("America/Los_Angeles")
QUOTA_LOG_TABLE = "intel_quota_log"
DRAIN_BATCH = 5000

Window = Literal["pacific_day", "minute"]

# KEYS: counter, closed flag, log stream. ARGV: units, limit, milliseconds until the window
# resets, whether to log ("1"), then the spend's fields for the stream (see `_spend_fields`).
# The expiry is relative on purpose: the reset is worked out on the ledger's clock, which is the
# caller's (a test pins it), and Redis's own clock must not decide whether a window is over.
# Returns {outcome, used}: 1 reserved, 0 over the limit, -1 the bucket is closed.
_RESERVE_LUA = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {-1, used}
end
local units = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if used + units > limit then
  return {0, used}
end
used = redis.call('INCRBY', KEYS[1], units)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[4] == '1' then
  redis.call('XADD', KEYS[3], '*', 'kind', 'spend', 'units', ARGV[1],
    'remaining', tostring(math.max(limit - used, 0)), unpack(ARGV, 5))
end
return {1, used}
"""

# KEYS: counter, log stream. ARGV: units, limit, whether to log, reservation id, reason.
# Never below zero; a window that already expired stays empty.
_REFUND_LUA = """
local used = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  used = redis.call('DECRBY', KEYS[1], ARGV[1])
  if used < 0 then
    redis.call('SET', KEYS[1], 0, 'KEEPTTL')
    used = 0
  end
end
if ARGV[3] == '1' then
  redis.call('XADD', KEYS[2], '*', 'kind', 'refund', 'units', ARGV[1],
    'remaining', tostring(math.max(tonumber(ARGV[2]) - used, 0)),
    'reservation', ARGV[4], 'reason', ARGV[5])
end
return used
"""


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def _milliseconds_until(reset_at: datetime, now: datetime) -> int:
    """A Redis expiry for a key that must live until `reset_at` (at least 1 ms)."""
    return max(int((reset_at - now).total_seconds() * 1000), 1)


def pacific_day(at: datetime) -> date:
    """The YouTube quota day `at` falls in: its date in America/Los_Angeles."""
    return at.astimezone(PACIFIC).date()


def next_pacific_midnight(at: datetime) -> datetime:
    """When the quota day containing `at` ends (in UTC): the next midnight in Los Angeles.

    Built from the Pacific wall-clock date, so the day before a daylight-saving change is 23 or
    25 hours long, as Google's quota day is.
    """
    following = pacific_day(at) + timedelta(days=1)
    return datetime.combine(following, time(0), tzinfo=PACIFIC).astimezone(UTC)


@dataclass(frozen=True)
class BucketSpec:
    """One budget: how many units it holds per window.

    Attributes:
        name: The bucket's name, e.g. "default", "search", "batch_stats", "points".
        limit: Units the bucket holds per window.
        window: "pacific_day" (resets at midnight America/Los_Angeles) or "minute".
    """

    name: str
    limit: int
    window: Window = "pacific_day"

    def window_at(self, at: datetime) -> tuple[str, datetime]:
        """The id of the window `at` falls in and when that window resets (UTC)."""
        if self.window == "pacific_day":
            return pacific_day(at).isoformat(), next_pacific_midnight(at)
        start = int(at.timestamp()) // 60 * 60
        return f"m{start}", datetime.fromtimestamp(start + 60, UTC)


@dataclass(frozen=True)
class BucketStatus:
    """A bucket's state now.

    Attributes:
        bucket: The bucket's name.
        used: Units reserved in the current window (refunds deducted).
        remaining: Units that may still be reserved before the reset (0 while closed).
        limit: The bucket's budget per window.
        reset_at: When the window ends (UTC).
        share_used: `used / limit`, the share of the budget spent so far.
        closed: Whether the API said quotaExceeded in this window.
    """

    bucket: str
    used: int
    remaining: int
    limit: int
    reset_at: datetime
    share_used: float
    closed: bool


@dataclass(frozen=True)
class Reservation:
    """Units reserved for one HTTP attempt.

    Attributes:
        reservation_id: Unique id, also written into the log row's metadata.
        platform: "youtube" or "twitch".
        bucket: The bucket the units came from.
        operation: The API method, e.g. "videos.list".
        units: Units reserved.
        remaining: Units left in the bucket right after this reservation.
        window: The window id the units were counted in (see the module docstring).
        reset_at: When that window resets (UTC).
        reserved_at: When the reservation was made (UTC).
    """

    reservation_id: str
    platform: str
    bucket: str
    operation: str
    units: int
    remaining: int
    window: str
    reset_at: datetime
    reserved_at: datetime


def _spend_fields(
    reservation_id: str,
    platform: str,
    bucket: str,
    operation: str,
    reserved_at: datetime,
    game_key: str | None,
    run_id: str | None,
    metadata: Mapping[str, Any],
) -> list[str]:
    """A spend's fields as the reserve script appends them to the stream (name, value, ...)."""
    return [
        "reservation", reservation_id,
        "platform", platform,
        "bucket", bucket,
        "operation", operation,
        "quota_day", pacific_day(reserved_at).isoformat(),
        "category_key", game_key or "",
        "run_id", run_id or "",
        "metadata", json.dumps({"reservation": reservation_id, **metadata}),
        "created_at", reserved_at.isoformat(),
    ]  # fmt: skip


def _log_row(fields: Mapping[str, str]) -> tuple[Any, ...]:
    """The `intel_quota_log` row of a spend entry of the stream."""
    return (
        fields["platform"],
        fields["bucket"],
        fields["operation"],
        int(fields["units"]),
        int(fields["remaining"]),
        date.fromisoformat(fields["quota_day"]),
        fields["category_key"] or None,
        fields["run_id"] or None,
        Jsonb(json.loads(fields["metadata"])),
        datetime.fromisoformat(fields["created_at"]),
        fields["reservation"],
    )


def _refund_note(fields: Mapping[str, str]) -> Jsonb:
    return Jsonb({"refunded_units": int(fields["units"]), "refund_reason": fields["reason"]})


def drain_quota_log(
    client: redis.Redis, warehouse: "PostgresWarehouse", *, batch: int = DRAIN_BATCH
) -> int:
    """Move every spend and refund of the stream into `intel_quota_log`; the entries moved.

    Oldest first, `batch` entries at a time: the spends are added (a reservation already
    logged is left as it is), then each refund sets its reservation's row to 0 units, then the
    entries leave the stream. Safe to repeat and to run in several processes at once.

    Raises:
        redis.RedisError: Redis did not answer.
        psycopg.Error: The warehouse refused; the entries stay in the stream.
    """
    # Imported here, not at the top: the contract imports pyarrow, which every process that
    # only reserves units would otherwise pay for at start.
    from intel_assets.contracts.tables import QUOTA_LOG, QUOTA_LOG_COLUMNS

    moved = 0
    while True:
        entries: Sequence[Any] = client.xrange(QUOTA_LOG_STREAM, count=batch)  # type: ignore[assignment]
        if not entries:
            return moved
        spends = [_log_row(f) for _, f in entries if f["kind"] == "spend"]
        refunds = [f for _, f in entries if f["kind"] == "refund"]
        warehouse.append_new_rows(QUOTA_LOG.name, QUOTA_LOG_COLUMNS, spends, key="reservation_id")
        if refunds:
            with warehouse.connection() as conn, conn.cursor() as cur:
                cur.executemany(
                    "UPDATE intel_quota_log SET units_used = 0, units_remaining = %s, "
                    "metadata = metadata || %s WHERE reservation_id = %s",
                    [
                        (
                            int(f["remaining"]),
                            Jsonb(
                                {"refunded_units": int(f["units"]), "refund_reason": f["reason"]}
                            ),
                            f["reservation"],
                        )
                        for f in refunds
                    ],
                )
        client.xdel(QUOTA_LOG_STREAM, *(entry_id for entry_id, _ in entries))
        moved += len(entries)
        if len(entries) < batch:
            return moved


class QuotaLedger:
    """Budgets of one platform, shared through Redis by every process that spends them.

    Args:
        client: The Redis connection (the hot tier's: short timeouts, no retries).
        platform: "youtube" or "twitch"; part of the keys and of every log row.
        buckets: The platform's buckets.
        warehouse: Where spends are logged (`intel_quota_log`); None logs nothing (and
            appends nothing to the stream).
        flush_every: Spends of this ledger after which it drains the stream.
        clock: Returns the current time (UTC-aware); tests may pass their own.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        platform: str,
        buckets: Iterable[BucketSpec],
        warehouse: "PostgresWarehouse | None" = None,
        flush_every: int = 100,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._redis = client
        self.platform = platform
        self.buckets: dict[str, BucketSpec] = {spec.name: spec for spec in buckets}
        for spec in self.buckets.values():
            if spec.limit < 0:
                raise ValueError(f"bucket {spec.name!r} has a negative limit")
        self._warehouse = warehouse
        self._logs = "1" if warehouse is not None else "0"
        self._flush_every = max(1, flush_every)
        self._flush_at = self._flush_every
        self._clock = clock
        self._reserve_script = client.register_script(_RESERVE_LUA)
        self._refund_script = client.register_script(_REFUND_LUA)
        self._lock = threading.Lock()
        self._undrained = 0
        self.spent: Counter[str] = Counter()

    def _spec(self, bucket: str) -> BucketSpec:
        try:
            return self.buckets[bucket]
        except KeyError:
            raise ValueError(
                f"{self.platform} has no quota bucket {bucket!r} (known: {sorted(self.buckets)})"
            ) from None

    def _key(self, bucket: str, window: str) -> str:
        return quota_key(self.platform, bucket, window)

    def _unavailable(self, doing: str, error: Exception) -> QuotaUnavailableError:
        return QuotaUnavailableError(
            f"the {self.platform} quota ledger cannot reach Redis while {doing} "
            f"({type(error).__name__}: {error}); refusing to spend rather than guess",
            api=self.platform,
        )

    def _run_reserve(self, key: str, args: list[Any], operation: str) -> tuple[int, int]:
        """Run the reserve script on a bucket's key; its outcome and the window's units used.

        The outcome is 1 when reserved, 0 over the limit and -1 while the bucket is closed.

        Raises:
            QuotaUnavailableError: Redis did not answer.
        """
        try:
            outcome, used = self._reserve_script(
                keys=[key, quota_closed_key(key), QUOTA_LOG_STREAM], args=args
            )  # type: ignore[misc]
        except (redis.RedisError, OSError) as error:
            raise self._unavailable(f"reserving {operation}", error) from None
        return int(outcome), int(used)

    def _refusal(
        self,
        spec: BucketSpec,
        operation: str,
        units: int,
        used: int,
        reset_at: datetime,
        *,
        closed: bool,
    ) -> QuotaExhaustedError:
        """The error of a refused reservation: the bucket is closed, or `units` exceed it."""
        reason = "closed" if closed else "limit"
        why = (
            "YouTube answered quotaExceeded earlier in this quota day"
            if closed
            else f"{used} of {spec.limit} units are spent and {operation} costs {units}"
        )
        return QuotaExhaustedError(
            f"{self.platform} quota bucket {spec.name!r} refuses {operation}: {why}; "
            f"it resets at {reset_at.isoformat()}",
            api=self.platform,
            method=operation,
            bucket=spec.name,
            reset_at=reset_at,
            reason=reason,
        )

    def reserve(
        self,
        bucket: str,
        operation: str,
        units: int = 1,
        *,
        game_key: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Reservation:
        """Reserve `units` from `bucket` for one attempt of `operation`, or refuse.

        Args:
            bucket: The bucket to spend from.
            operation: The API method the units pay for (logged).
            units: The method's cost.
            game_key: The game the spend collects for (logged as `category_key`).
            run_id: The Dagster run that spends (logged).
            metadata: Extra facts for the log row (e.g. the attempt number).

        Returns:
            The reservation, to be refunded if the API did not charge the attempt.

        Raises:
            QuotaExhaustedError: The bucket is closed until its reset, or `units` would exceed
                the limit.
            QuotaUnavailableError: Redis did not answer.
        """
        spec = self._spec(bucket)
        if units < 0:
            raise ValueError("a reservation cannot be negative")
        now = self._clock()
        window, reset_at = spec.window_at(now)
        key = self._key(bucket, window)
        reservation_id = uuid.uuid4().hex
        fields = _spend_fields(
            reservation_id, self.platform, bucket, operation, now, game_key, run_id,
            metadata or {},
        )  # fmt: skip
        with self._lock:
            # Drain BEFORE this spend, so a refund right after it usually finds its row
            # unwritten (both then land together).
            if self._undrained >= self._flush_at:
                self._drain_quietly()
        ttl_ms = _milliseconds_until(reset_at, now)
        outcome, used = self._run_reserve(
            key, [units, spec.limit, ttl_ms, self._logs, *fields], operation
        )
        if outcome != 1:
            raise self._refusal(spec, operation, units, used, reset_at, closed=outcome == -1)
        reservation = Reservation(
            reservation_id=reservation_id,
            platform=self.platform,
            bucket=bucket,
            operation=operation,
            units=units,
            remaining=max(spec.limit - used, 0),
            window=window,
            reset_at=reset_at,
            reserved_at=now,
        )
        with self._lock:
            self.spent[bucket] += units
            self._undrained += 1
        return reservation

    def refund(self, reservation: Reservation, *, reason: str) -> None:
        """Give back the units of an attempt the API did not charge.

        Args:
            reservation: What `reserve` returned.
            reason: Why the API did not charge it (logged), e.g. "quotaExceeded".

        Raises:
            QuotaUnavailableError: Redis did not answer (the units stay spent: the safe side).
        """
        if reservation.units == 0:
            return
        key = self._key(reservation.bucket, reservation.window)
        spec = self._spec(reservation.bucket)
        try:
            self._refund_script(
                keys=[key, QUOTA_LOG_STREAM],
                args=[
                    reservation.units,
                    spec.limit,
                    self._logs,
                    reservation.reservation_id,
                    reason,
                ],
            )
        except (redis.RedisError, OSError) as error:
            raise self._unavailable(f"refunding {reservation.operation}", error) from None
        with self._lock:
            self.spent[reservation.bucket] -= reservation.units

    def close_bucket(self, bucket: str, *, reservation: Reservation | None = None) -> datetime:
        """Refuse every later reservation from `bucket` until its window resets.

        Called when the API answers quotaExceeded: the API knows better than our count.

        Args:
            bucket: The bucket to close.
            reservation: The attempt that met quotaExceeded; its window is closed (so an answer
                arriving just after midnight does not close the new day).

        Returns:
            When the bucket opens again (UTC).
        """
        spec = self._spec(bucket)
        if reservation is not None:
            window, reset_at = reservation.window, reservation.reset_at
        else:
            window, reset_at = spec.window_at(self._clock())
        try:
            self._redis.set(
                f"{self._key(bucket, window)}:closed",
                "1",
                px=_milliseconds_until(reset_at, self._clock()),
            )
        except (redis.RedisError, OSError) as error:
            raise self._unavailable(f"closing bucket {bucket}", error) from None
        log.warning(
            "%s quota bucket %r closed until %s (the API answered quotaExceeded)",
            self.platform,
            bucket,
            reset_at.isoformat(),
        )
        return reset_at

    def status(self) -> dict[str, BucketStatus]:
        """Every bucket's used, remaining, limit, reset time and share, in one Redis round trip.

        Raises:
            QuotaUnavailableError: Redis did not answer.
        """
        now = self._clock()
        windows = {name: spec.window_at(now) for name, spec in self.buckets.items()}
        pipe = self._redis.pipeline(transaction=False)
        for name, (window, _) in windows.items():
            key = self._key(name, window)
            pipe.get(key)
            pipe.exists(f"{key}:closed")
        try:
            answers = pipe.execute()
        except (redis.RedisError, OSError) as error:
            raise self._unavailable("reading the quota status", error) from None
        result: dict[str, BucketStatus] = {}
        for index, (name, (_, reset_at)) in enumerate(windows.items()):
            spec = self.buckets[name]
            used = int(answers[2 * index] or 0)
            closed = bool(answers[2 * index + 1])
            result[name] = BucketStatus(
                bucket=name,
                used=used,
                remaining=0 if closed else max(spec.limit - used, 0),
                limit=spec.limit,
                reset_at=reset_at,
                share_used=used / spec.limit if spec.limit else 1.0,
                closed=closed,
            )
        return result

    def _drain_quietly(self) -> None:
        try:
            self._drain_locked()
        except Exception as error:  # every spend is safe in the stream; a later drain moves it
            # Try again only after another `flush_every` spends: a warehouse that is down must
            # not cost every later call a connection timeout.
            self._flush_at = self._undrained + self._flush_every
            log.warning(
                "could not move spends to %s yet (%s: %s); they wait in Redis (%s)",
                QUOTA_LOG_TABLE,
                type(error).__name__,
                error,
                QUOTA_LOG_STREAM,
            )

    def _drain_locked(self) -> int:
        if self._warehouse is None:
            return 0
        moved = drain_quota_log(self._redis, self._warehouse)
        self._undrained = 0
        self._flush_at = self._flush_every
        return moved

    def flush(self) -> int:
        """Drain the stream of spends into `intel_quota_log` now; the entries moved.

        Every process's spends are moved, not only this ledger's.

        Raises:
            psycopg.Error: The warehouse refused; the spends stay in the stream.
        """
        with self._lock:
            return self._drain_locked()

    def close(self) -> None:
        """Drain the stream; if the warehouse refuses, the spends wait in Redis for later."""
        with self._lock:
            self._drain_quietly()
