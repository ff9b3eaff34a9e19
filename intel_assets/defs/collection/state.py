"""Where collection state lives: per-game state in Postgres, and the caches games share.

The short-lived Redis caches let games share what one collection window already paid for: the
charts, video details and statistics of a window, channels for a day (their keys and TTLs are
built in `intel_assets.resources.redis_keys`). The record caches also carry their expiry on the
writer's clock, which readers obey, so a record's lifetime never depends on Redis's clock.
"""

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import redis
from pydantic import BaseModel

from intel_assets.contracts.tables import COLLECTION_STATE_COLUMNS
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.http import ApiClient
from intel_assets.resources.locks import renewed_lock
from intel_assets.resources.redis_keys import (
    video_details_prefix,
    video_stats_prefix,
    window_cache_ttl,
)
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, TableWrite

M = TypeVar("M", bound=BaseModel)


def window_start(at: datetime, minutes: int) -> datetime:
    """The start of the collection window `at` falls in (windows are aligned to UTC midnight)."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = int((at - day).total_seconds() // (minutes * 60))
    return day + timedelta(minutes=minutes * elapsed)


def content_hash(pairs: Iterable[tuple[str, int | None]]) -> str:
    """The seed's change detector: a hash over a snapshot's (id, count) pairs, order-free."""
    text = "|".join(f"{key}:{count if count is not None else ''}" for key, count in sorted(pairs))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CollectionState:
    """A game's last collection from one source, as `intel_collection_state` holds it."""

    game_key: str
    source: str
    last_collected_at: datetime | None
    last_collection_id: str | None
    last_content_hash: str | None
    unchanged_streak: int
    last_row_count: int
    last_failure_at: datetime | None
    last_error: str | None
    failures_in_row: int

    @property
    def stale(self) -> bool:
        """Whether the newest attempt failed, so the last good snapshot is older than it."""
        return self.last_failure_at is not None and (
            self.last_collected_at is None or self.last_failure_at > self.last_collected_at
        )


def state_write(
    game_key: str,
    source: str,
    collected_at: datetime,
    collection_id: str,
    new_hash: str,
    row_count: int,
    previous: CollectionState | None,
) -> TableWrite:
    """The game's new state after a successful collection, as a write for the same transaction.

    The unchanged streak goes on while the content hash stays the same; failures are cleared.
    """
    streak = 0
    if previous is not None and previous.last_content_hash == new_hash:
        streak = previous.unchanged_streak + 1
    row = (game_key, source, collected_at, collection_id, new_hash, streak, row_count)
    return TableWrite(
        "intel_collection_state",
        COLLECTION_STATE_COLUMNS,
        [(*row, None, None, 0)],
        RowScope(equals={"game_key": game_key, "source": source}),
    )


def load_states(warehouse: PostgresWarehouse, source: str) -> dict[str, CollectionState]:
    """Every game's state for one source ("youtube" or "twitch"), in one query."""
    rows = warehouse.fetch_dicts(
        b"SELECT game_key, source, last_collected_at, last_collection_id, last_content_hash, "
        b"unchanged_streak, last_row_count, last_failure_at, last_error, failures_in_row "
        b"FROM intel_collection_state WHERE source = %s",
        (source,),
    )
    return {row["game_key"]: CollectionState(**row) for row in rows}


def record_failure(
    warehouse: PostgresWarehouse, game_key: str, source: str, at: datetime, error: str
) -> None:
    """Note a failed collection; the last good snapshot stays and now counts as stale."""
    with warehouse.connection() as conn:
        conn.execute(
            b"INSERT INTO intel_collection_state "
            b"(game_key, source, last_failure_at, last_error, failures_in_row) "
            b"VALUES (%s, %s, %s, %s, 1) "
            b"ON CONFLICT (game_key, source) DO UPDATE SET "
            b"last_failure_at = EXCLUDED.last_failure_at, last_error = EXCLUDED.last_error, "
            b"failures_in_row = intel_collection_state.failures_in_row + 1",
            (game_key, source, at, error[:2000]),
        )


def record_failure_quietly(
    warehouse: PostgresWarehouse, game_key: str, source: str, at: datetime, error: str, log: Any
) -> None:
    """`record_failure`, logging instead of raising when the warehouse cannot take it.

    For the failure path of a collection: the collection's own error is the one to raise.
    """
    try:
        record_failure(warehouse, game_key, source, at, error)
    except Exception as failure:
        log.error(f"{game_key}/{source}: could not record the failure ({type(failure).__name__})")


def collection_lock_name(source: str, game_key: str) -> str:
    """The session lock one collection of a game from a source holds (see `session_lock`)."""
    return f"collect:{source}:{game_key}"


@dataclass(frozen=True)
class BoundaryReport:
    """What the model boundary did with one collection's answers.

    Attributes:
        repaired_fields: Fields stored cleaned or as NULL, over every item.
        rejected_items: Items that could not be understood and were not stored.
        summary: One line naming the items and fields (empty when nothing was repaired).
    """

    repaired_fields: int
    rejected_items: int
    summary: str


def boundary_report(client: ApiClient, game_key: str) -> BoundaryReport:
    """The repairs and rejections of a collection's client, with a line for the run's log."""
    repaired = sum(len(r.fields) for r in client.repairs)
    rejected = len(client.rejected_ids)
    if not repaired and not rejected:
        return BoundaryReport(0, 0, "")
    items = "; ".join(f"{r.item_id}: {', '.join(r.fields)}" for r in client.repairs)
    summary = (
        f"{game_key}: repaired {repaired} fields of {len(client.repairs)} items"
        + (f" ({items})" if items else "")
        + f"; rejected {rejected} items"
        + (f" ({', '.join(client.rejected_ids)})" if rejected else "")
    )
    return BoundaryReport(repaired, rejected, summary)


def forget_cached(client: redis.Redis, keys: Sequence[str], log: Any) -> None:
    """Delete shared cache entries a snapshot that could not be stored was built from.

    Otherwise every retry in the window would be served the same values and fail the same way.
    """
    try:
        if keys:
            client.delete(*keys)
    except (redis.RedisError, OSError) as error:
        log.warning(f"could not forget {len(keys)} cached entries ({type(error).__name__})")


def search_calls_today(warehouse: PostgresWarehouse, quota_day: date) -> dict[str, int]:
    """search.list calls each game spent on a Pacific day (from the quota log)."""
    rows = warehouse.fetch_dicts(
        b"SELECT category_key, sum(units_used)::int AS units FROM intel_quota_log "
        b"WHERE platform = 'youtube' AND bucket = 'search' AND quota_day = %s "
        b"AND category_key IS NOT NULL GROUP BY category_key",
        (quota_day,),
    )
    return {row["category_key"]: row["units"] for row in rows}


class RecordCache:
    """Pydantic records in Redis under `<prefix><id>` for `ttl_seconds`, read and written in bulk.

    Each value carries the time it expires on the writer's clock (`<epoch seconds>|<json>`), and
    a reader takes only values not yet expired on its own clock: how long a record is reused is
    decided by the code's clock, never by Redis's (whose expiry only frees the memory).
    """

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self._client = client
        self.prefix = prefix
        self._ttl = ttl_seconds

    def get_many(self, ids: Sequence[str], model: type[M]) -> dict[str, M]:
        """The cached records of `ids` that exist and have not expired (one round trip)."""
        if not ids:
            return {}
        values = self._client.mget([self.prefix + i for i in ids])
        now = time.time()
        found: dict[str, M] = {}
        for item_id, raw in zip(ids, values, strict=True):  # type: ignore[arg-type]
            if raw is None:
                continue
            expires, _, record = (raw if isinstance(raw, str) else raw.decode()).partition("|")
            try:
                if float(expires) > now:
                    found[item_id] = model.model_validate_json(record)
            except ValueError:
                continue  # written by an older version, or not ours: fetch it again
        return found

    def put_many(self, records: Mapping[str, BaseModel]) -> None:
        """Cache records by id (one pipelined round trip)."""
        if not records:
            return
        expires = f"{time.time() + self._ttl:.3f}|"
        pipe = self._client.pipeline(transaction=False)
        for item_id, record in records.items():
            pipe.set(self.prefix + item_id, expires + record.model_dump_json(), ex=self._ttl)
        pipe.execute()


@dataclass(frozen=True)
class CollectionWindow:
    """The collection window a collection runs in, and the Redis caches shared within it.

    Attributes:
        started: When the collection started.
        start: The start of its window (`window_start`).
        ttl: Seconds the window's caches are kept.
        redis_client: The hot tier's client.
        details: Video details, cached for the window.
        stats: Video statistics of this window.
    """

    started: datetime
    start: datetime
    ttl: int
    redis_client: Any
    details: RecordCache
    stats: RecordCache

    @classmethod
    def now(cls, hot_tier: RedisHotTier, window_minutes: int) -> "CollectionWindow":
        """The window of the present moment."""
        started = datetime.now(UTC)
        start = window_start(started, window_minutes)
        ttl = window_cache_ttl(window_minutes)
        client = hot_tier.client()
        return cls(
            started=started,
            start=start,
            ttl=ttl,
            redis_client=client,
            details=RecordCache(client, video_details_prefix(), ttl),
            stats=RecordCache(client, video_stats_prefix(start), ttl),
        )


def cached_or_fetched(
    cache: RecordCache,
    ids: Iterable[str],
    model: type[M],
    fetch: Callable[[list[str]], Sequence[M]],
    key: Callable[[M], str],
) -> tuple[dict[str, M], int]:
    """Records of `ids`: cached ones free, the rest fetched (and cached for others).

    Returns:
        The records by id (ids the API did not return are absent) and how many were fetched.
    """
    wanted = list(dict.fromkeys(ids))
    found = cache.get_many(wanted, model)
    missing = [i for i in wanted if i not in found]
    if missing:
        fetched = {key(r): r for r in fetch(missing)}
        cache.put_many(fetched)
        found.update(fetched)
    return found, len(missing)


def shared_value(
    client: redis.Redis,
    key: str,
    ttl_seconds: int,
    produce: Callable[[], Any],
    *,
    wait_seconds: float = 300.0,
) -> tuple[Any, bool]:
    """A JSON value computed once per key by whichever run gets there first.

    Concurrent runs wait on a renewed Redis lock (`renewed_lock`), so the API is asked once per
    key and window, and a run that dies while producing delays the others by seconds.

    Returns:
        The value and whether this call produced it (False: it was already cached).
    """
    raw = client.get(key)
    if raw is not None:
        return json.loads(str(raw)), False
    with renewed_lock(client, f"{key}:lock", wait_seconds=wait_seconds):
        raw = client.get(key)
        if raw is not None:
            return json.loads(str(raw)), False
        value = produce()
        client.set(key, json.dumps(value, separators=(",", ":")), ex=ttl_seconds)
        return value, True
