"""Where the read API reads: the hot tier first, Postgres when Redis has nothing or is down.

One `IntelStore` per process holds the clients (a redis-py pool with short timeouts, a psycopg
pool) and is shared by every request; nothing is built per request. Client input reaches SQL
only as bound parameters.

Failing over is immediate: a Redis that did not answer is not asked again for
`redis_retry_seconds` (`HotTierGate`), so while it is down requests go straight to Postgres
instead of each paying a connection attempt; the first request after that tries it again.
"""

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, LiteralString, TypeVar

import psycopg
import redis
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import PoolTimeout

from intel_assets.analyzers.decay import AnalysisResult
from intel_assets.analyzers.registry import ANALYZERS
from intel_assets.catalog import Catalog, GameConfig, effective_catalog
from intel_assets.contracts.tables import (
    BROADCASTER_GROWTH_COLUMNS,
    CHANNEL_GROWTH_COLUMNS,
    DAILY_COLUMNS,
    HOURLY_COLUMNS,
    STAT_COLUMNS,
    STREAM_SNAPSHOTS,
    VIDEO_SNAPSHOTS,
)
from intel_assets.resources.api_state import ApiStateReader
from intel_assets.resources.breaker import BreakerStatus
from intel_assets.resources.errors import StateUnavailableError
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import BucketStatus
from intel_assets.resources.redis_keys import analysis_key, snapshot_key
from intel_assets.resources.warehouse import PostgresWarehouse

log = logging.getLogger(__name__)

T = TypeVar("T")

Tier = Literal["hot_tier", "warehouse"]
Platform = Literal["youtube", "twitch"]
PLATFORMS: tuple[Platform, ...] = ("youtube", "twitch")

UNKNOWN_GAME_RETRY_SECONDS = 5.0
"""An unknown game re-reads the list of games at most this often (a new game may have been
discovered since); more often would let a client make every request a query."""

KNOWN_GAMES_LISTED = 20
"""Games an unknown-game message names (the highest priority first)."""

# Errors that mean "Redis is not there", as opposed to a bad key or value.
_REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError, StateUnavailableError)
_POSTGRES_DOWN = (psycopg.OperationalError, PoolTimeout)

VIDEO_SUMMARY_COLUMNS: tuple[str, ...] = (
    "video_id", "title", "channel_id", "channel_title", "published_at", "duration_seconds",
    "is_short", "live_state", "view_count", "like_count", "comment_count",
)  # fmt: skip
"""The `video_snapshots` columns a YouTube summary reads (the hot tier's records have them)."""

STREAM_SUMMARY_COLUMNS: tuple[str, ...] = (
    "stream_id", "user_login", "user_name", "title", "viewer_count", "language", "started_at",
)  # fmt: skip
"""The `stream_snapshots` columns a Twitch summary reads (the hot tier's records have them)."""

SNAPSHOT_TABLES: Mapping[Platform, str] = {
    "youtube": VIDEO_SNAPSHOTS.name,
    "twitch": STREAM_SNAPSHOTS.name,
}
SNAPSHOT_COLUMNS: Mapping[Platform, tuple[str, ...]] = {
    "youtube": VIDEO_SUMMARY_COLUMNS,
    "twitch": STREAM_SUMMARY_COLUMNS,
}
RECORDS_FIELD: Mapping[Platform, str] = {"youtube": "videos", "twitch": "streams"}
"""The field of a hot-tier snapshot value (`redis_keys.snapshot_key`) holding its records."""


class Unavailable(Exception):
    """A service an answer needs did not answer; the API says 503.

    Attributes:
        service: The service in words, e.g. "the warehouse (Postgres)".
    """

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} does not answer ({reason}); try again shortly")
        self.service = service


class UnknownGame(LookupError):
    """A game key that is neither in the catalog nor discovered; the API says 404."""

    def __init__(self, key: str, known: Sequence[str]) -> None:
        shown = key if len(key) <= 80 else key[:80] + "..."
        listed = ", ".join(known[:KNOWN_GAMES_LISTED])
        more = len(known) - KNOWN_GAMES_LISTED
        rest = f" and {more} more (GET /v1/games lists them)" if more > 0 else ""
        super().__init__(f"unknown game {shown!r}; known games: {listed}{rest}")


class HotTierGate:
    """Reads from the hot tier that give up at once while Redis is known to be down.

    Args:
        hot_tier: The hot-tier resource (its client has short timeouts and no retries).
        retry_seconds: How long after a failure Redis is skipped.
        clock: Monotonic seconds; tests may pass their own.
    """

    def __init__(
        self,
        hot_tier: RedisHotTier,
        retry_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hot_tier = hot_tier
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._down_until = -math.inf

    @property
    def hot_tier(self) -> RedisHotTier:
        """The resource behind the gate (for callers that use its client themselves)."""
        return self._hot_tier

    def is_down(self) -> bool:
        """Whether Redis failed within the last `retry_seconds`."""
        return self._clock() < self._down_until

    def call(self, action: Callable[[], T]) -> T:
        """`action()` (a Redis read), unless Redis is down.

        Raises:
            Unavailable: Redis is known to be down, or did not answer now.
        """
        if self.is_down():
            raise Unavailable("Redis", "it failed moments ago")
        try:
            return action()
        except _REDIS_DOWN as error:
            self._mark_down(error)
            raise Unavailable("Redis", type(error).__name__) from None

    def get_many(self, keys: Sequence[str]) -> list[str | None] | None:
        """The raw values of `keys` in one round trip; None when Redis is down."""
        client = self._hot_tier.client()
        try:
            values = self.call(lambda: client.mget(list(keys)))
        except Unavailable:
            return None
        return [None if v is None else str(v) for v in values]  # type: ignore[union-attr]

    def _mark_down(self, error: BaseException) -> None:
        if not self.is_down():
            # The message may hold the server's address; the type says enough.
            log.warning(
                "Redis did not answer (%s); serving from Postgres for the next %.0f s",
                type(error).__name__,
                self._retry_seconds,
            )
        self._down_until = self._clock() + self._retry_seconds


class GameDirectory:
    """The games the API knows: the catalog file's and those discovered, reloaded now and then.

    Args:
        warehouse: Where discovered games are (`intel_discovered_games`).
        base: The catalog file's games (always known, even while Postgres is down).
        refresh_seconds: How long a loaded list is reused.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        warehouse: PostgresWarehouse,
        base: Catalog,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._warehouse = warehouse
        self._base = base
        self._catalog = base
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._loaded_at = -math.inf
        self._lock = threading.Lock()

    @property
    def base(self) -> Catalog:
        """The catalog file's games."""
        return self._base

    def catalog(self) -> Catalog:
        """Every known game, reloaded when the list is older than `refresh_seconds`."""
        if self._clock() - self._loaded_at >= self._refresh_seconds:
            self._reload()
        return self._catalog

    def require(self, key: str) -> GameConfig:
        """The game with this key.

        Raises:
            UnknownGame: No such game, even after re-reading the list (at most every
                `UNKNOWN_GAME_RETRY_SECONDS`).
        """
        games = self.catalog().games
        if key not in games and self._clock() - self._loaded_at >= UNKNOWN_GAME_RETRY_SECONDS:
            self._reload()
            games = self._catalog.games
        if key not in games:
            raise UnknownGame(key, self._catalog.keys)
        return games[key]

    def _reload(self) -> None:
        # One request reloads; the others meanwhile answer from the list they have.
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._catalog = effective_catalog(self._warehouse, self._base)
            self._loaded_at = self._clock()
        except _POSTGRES_DOWN as error:
            log.warning("could not reload the games (%s); using those known", type(error).__name__)
            # Try again soon, not on every request.
            self._loaded_at = self._clock() - self._refresh_seconds + UNKNOWN_GAME_RETRY_SECONDS
        finally:
            self._lock.release()


@dataclass(frozen=True)
class StoredAnalysis:
    """An analyzer's latest result and the tier it was read from."""

    result: AnalysisResult
    source: Tier


@dataclass(frozen=True)
class Snapshot:
    """A game's latest raw snapshot of one platform.

    Attributes:
        source: The tier it was read from.
        collected_at: When the collection's API calls answered.
        records: Its videos or streams, each with at least the platform's summary columns.
    """

    source: Tier
    collected_at: datetime
    records: list[dict[str, Any]]


_LATEST_ANALYSES = sql.SQL(
    "SELECT r.analyzer, r.as_of, r.data_age_seconds, r.sample_size, r.confidence, r.stale, "
    "r.result FROM unnest(%s::text[]) AS a(name) CROSS JOIN LATERAL ("
    "SELECT h.* FROM intel_analysis_results AS h WHERE h.analyzer = a.name AND h.game_key = %s "
    "ORDER BY h.as_of DESC LIMIT 1) AS r"
)


def _select(columns: Sequence[str], table: str, where: LiteralString, order: str) -> sql.Composed:
    """`SELECT columns FROM table WHERE where ORDER BY order`: names quoted, values bound."""
    return sql.SQL("SELECT {columns} FROM {table} WHERE {where} ORDER BY {order}").format(
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        table=sql.Identifier(table),
        where=sql.SQL(where),
        order=sql.Identifier(order),
    )


HOURLY_FIELDS = tuple(c for c in HOURLY_COLUMNS if c != "category_key")
DAILY_FIELDS = tuple(c for c in DAILY_COLUMNS if c != "category_key")
_HOURLY = _select(
    HOURLY_FIELDS,
    "intel_hourly_metrics",
    "category_key = %s AND hour_start >= %s AND hour_start < %s",
    "hour_start",
)
_DAILY = _select(
    DAILY_FIELDS, "intel_daily_metrics", "category_key = %s AND date >= %s AND date <= %s", "date"
)
# Each grain's table and its period column as a UTC instant (the day and month are dates).
_TWITCH_PERIODS: dict[str, tuple[str, sql.Composable]] = {
    "hour": ("twitch_game_stats_hourly", sql.SQL("hour_start")),
    "day": ("twitch_game_stats", sql.SQL("day::timestamp AT TIME ZONE 'UTC'")),
    "month": ("twitch_game_stats_monthly", sql.SQL("month::timestamp AT TIME ZONE 'UTC'")),
}
_TWITCH_STATS = {
    grain: sql.SQL(
        "SELECT {period} AS period_start, {columns} FROM {table}"
        " WHERE game_key = %s AND {period} >= %s AND {period} < %s ORDER BY 1"
    ).format(
        period=period,
        columns=sql.SQL(", ").join(map(sql.Identifier, STAT_COLUMNS)),
        table=sql.Identifier(table),
    )
    for grain, (table, period) in _TWITCH_PERIODS.items()
}
_CHANNEL_GROWTH = sql.SQL(
    "SELECT {columns} FROM channel_growth WHERE game_key = %s AND day = %s"
    " ORDER BY rank_7d_absolute NULLS LAST, subscriber_count DESC NULLS LAST, channel_id"
    " LIMIT %s"
).format(
    columns=sql.SQL(", ").join(
        map(sql.Identifier, (c for c in CHANNEL_GROWTH_COLUMNS if c not in ("game_key", "day")))
    )
)
_TOP_STREAMERS = sql.SQL(
    "SELECT rank, user_id, user_login, user_name, hours_watched, hours_streamed, avg_viewers,"
    " peak_viewers FROM twitch_game_top_streamers WHERE game_key = %s AND day = %s ORDER BY rank"
)
# Broadcasters by hours watched, or by their 7-day change of it (those without one last).
_BROADCASTER_ORDERS: dict[str, sql.Composable] = {
    "hours_watched": sql.SQL("rank_hours_watched"),
    "growth_7d": sql.SQL("rank_7d_hours_watched NULLS LAST, rank_hours_watched"),
}
_BROADCASTERS = {
    order: sql.SQL(
        "SELECT {columns} FROM twitch_broadcaster_growth WHERE game_key = %s AND day = %s"
        " ORDER BY {order} LIMIT %s"
    ).format(
        columns=sql.SQL(", ").join(
            map(
                sql.Identifier,
                (c for c in BROADCASTER_GROWTH_COLUMNS if c not in ("game_key", "day")),
            )
        ),
        order=clause,
    )
    for order, clause in _BROADCASTER_ORDERS.items()
}
# The tables whose newest day per game a route defaults to.
_DAY_TABLES = ("channel_growth", "twitch_game_top_streamers", "twitch_broadcaster_growth")
_SNAPSHOT_ROWS = {
    platform: _select(
        SNAPSHOT_COLUMNS[platform],
        SNAPSHOT_TABLES[platform],
        "game_key = %s AND collected_at = %s",
        SNAPSHOT_COLUMNS[platform][0],
    )
    for platform in PLATFORMS
}


class IntelStore:
    """Every read the API makes, over one Redis client and one Postgres pool.

    Args:
        hot_tier: The Redis hot tier (short timeouts, no retries).
        warehouse: The warehouse (its pool is shared by all requests).
        games: The known games.
        redis_retry_seconds: See `HotTierGate`.
    """

    def __init__(
        self,
        hot_tier: RedisHotTier,
        warehouse: PostgresWarehouse,
        games: GameDirectory,
        redis_retry_seconds: float,
    ) -> None:
        self.gate = HotTierGate(hot_tier, redis_retry_seconds)
        self.warehouse = warehouse
        self.games = games
        self._api_state = ApiStateReader(hot_tier)

    @contextmanager
    def _warehouse(self) -> Iterator[psycopg.Connection]:
        try:
            with self.warehouse.connection() as conn:
                yield conn
        except _POSTGRES_DOWN as error:
            raise Unavailable("the warehouse (Postgres)", type(error).__name__) from None

    def _rows(self, query: sql.SQL | sql.Composed, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self._warehouse() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def analyses(self, game_key: str, analyzers: Sequence[str]) -> dict[str, StoredAnalysis]:
        """The latest result of each analyzer for the game: hot tier, else Postgres.

        Analyzers with a result in neither tier are absent.

        Raises:
            Unavailable: Redis lacked some result and Postgres did not answer.
        """
        found: dict[str, StoredAnalysis] = {}
        values = self.gate.get_many([analysis_key(name, game_key) for name in analyzers])
        for name, raw in zip(analyzers, values or [None] * len(analyzers), strict=True):
            result = _parse_envelope(raw, name, game_key)
            if result is not None:
                found[name] = StoredAnalysis(result, "hot_tier")
        missing = [name for name in analyzers if name not in found]
        if missing:
            for row in self._rows(_LATEST_ANALYSES, (missing, game_key)):
                name = row["analyzer"]
                found[name] = StoredAnalysis(_row_envelope(row, game_key), "warehouse")
        return {name: found[name] for name in analyzers if name in found}

    def snapshots(self, game_key: str) -> dict[Platform, Snapshot]:
        """The game's latest raw snapshot of each platform: hot tier, else Postgres.

        Platforms never collected for the game are absent.
        """
        found: dict[Platform, Snapshot] = {}
        values = self.gate.get_many([snapshot_key(p, game_key) for p in PLATFORMS])
        for platform, raw in zip(PLATFORMS, values or [None, None], strict=True):
            snapshot = _parse_snapshot(raw, platform, game_key)
            if snapshot is not None:
                found[platform] = snapshot
        missing: list[Platform] = [p for p in PLATFORMS if p not in found]
        if missing:
            found.update(self._stored_snapshots(game_key, missing))
        return {p: found[p] for p in PLATFORMS if p in found}

    def _stored_snapshots(
        self, game_key: str, platforms: Sequence[Platform]
    ) -> dict[Platform, Snapshot]:
        """The latest collection of each platform as Postgres keeps it (one connection)."""
        found: dict[Platform, Snapshot] = {}
        with self._warehouse() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "SELECT source, last_collected_at FROM intel_collection_state "
                "WHERE game_key = %s AND source = ANY(%s) AND last_collected_at IS NOT NULL",
                (game_key, list(platforms)),
            )
            latest = {row["source"]: row["last_collected_at"] for row in cur.fetchall()}
            for platform in platforms:
                at = latest.get(platform)
                if at is None:
                    continue
                cur.execute(_SNAPSHOT_ROWS[platform], (game_key, at))
                found[platform] = Snapshot("warehouse", at, cur.fetchall())
        return found

    def quota(self) -> tuple[dict[tuple[str, str], BucketStatus], list[BreakerStatus]]:
        """Every quota bucket by (platform, bucket) and every API's breaker, from the ledger.

        Read as the metrics and health commands read them (`intel_assets.prometheus`).

        Raises:
            Unavailable: Redis is down (the ledger is Redis: there is nothing to fall back to).
        """
        buckets = self.gate.call(self._api_state.buckets)
        breakers = self.gate.call(self._api_state.breakers)
        return buckets, breakers

    def hourly(self, game_key: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The game's `intel_hourly_metrics` rows with `start <= hour_start < end`, oldest first."""
        return self._rows(_HOURLY, (game_key, start, end))

    def daily(self, game_key: str, start: date, end: date) -> list[dict[str, Any]]:
        """The game's `intel_daily_metrics` rows from `start` to `end` (both included)."""
        return self._rows(_DAILY, (game_key, start, end))

    def twitch_stats(
        self, game_key: str, grain: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """The game's Twitch statistics of the `grain` periods starting in `[start, end)`."""
        return self._rows(_TWITCH_STATS[grain], (game_key, start, end))

    def latest_channel_day(self, game_key: str, on_or_before: date) -> date | None:
        """The newest day up to `on_or_before` with `channel_growth` rows for the game."""
        rows = self._rows(
            sql.SQL("SELECT max(day) AS day FROM channel_growth WHERE game_key = %s AND day <= %s"),
            (game_key, on_or_before),
        )
        return rows[0]["day"] if rows else None

    def channel_growth(self, game_key: str, day: date, limit: int) -> list[dict[str, Any]]:
        """The game's `channel_growth` rows of `day`, fastest-growing first, at most `limit`."""
        return self._rows(_CHANNEL_GROWTH, (game_key, day, limit))

    def latest_day(self, table: str, game_key: str, on_or_before: date) -> date | None:
        """The newest day up to `on_or_before` with rows of the game in `table` (a day table)."""
        if table not in _DAY_TABLES:
            raise ValueError(f"{table} is not one of {_DAY_TABLES}")
        query = sql.SQL("SELECT max(day) AS day FROM {} WHERE game_key = %s AND day <= %s")
        rows = self._rows(query.format(sql.Identifier(table)), (game_key, on_or_before))
        return rows[0]["day"] if rows else None

    def top_streamers(self, game_key: str, day: date) -> list[dict[str, Any]]:
        """The game's `twitch_game_top_streamers` rows of `day`, by rank."""
        return self._rows(_TOP_STREAMERS, (game_key, day))

    def broadcasters(
        self, game_key: str, day: date, order: str, limit: int
    ) -> list[dict[str, Any]]:
        """The game's `twitch_broadcaster_growth` rows of `day` in `order`, at most `limit`."""
        return self._rows(_BROADCASTERS[order], (game_key, day, limit))

    def trending(self, days: int, as_of: datetime) -> list[dict[str, Any]]:
        """`get_trending_categories`: games by opportunity over the complete days before `as_of`."""
        return self._rows(
            sql.SQL(
                "SELECT category_key AS game_key, avg_viral_count, views_trend, opportunity_score "
                "FROM get_trending_categories(%s, %s)"
            ),
            (days, as_of),
        )

    def optimal_durations(self, game_key: str, days: int, as_of: datetime) -> list[dict[str, Any]]:
        """`get_optimal_duration`: the game's duration buckets before `as_of`, best first."""
        return self._rows(
            sql.SQL(
                "SELECT bucket_label, avg_performance_index, total_videos "
                "FROM get_optimal_duration(%s, %s, %s)"
            ),
            (game_key, days, as_of),
        )


def _parse_envelope(raw: str | None, analyzer: str, game_key: str) -> AnalysisResult | None:
    """The hot tier's envelope, or None when absent or unreadable (Postgres then answers)."""
    if raw is None:
        return None
    try:
        return AnalysisResult.from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError) as error:
        log.warning(
            "unreadable hot-tier value %s (%s); serving Postgres's",
            analysis_key(analyzer, game_key),
            type(error).__name__,
        )
        return None


def _row_envelope(row: Mapping[str, Any], game_key: str) -> AnalysisResult:
    """An `intel_analysis_results` row as an envelope; the half-life from the registry."""
    name = row["analyzer"]
    return AnalysisResult(
        analyzer=name,
        game_key=game_key,
        as_of=row["as_of"],
        data_age_seconds=float(row["data_age_seconds"]),
        sample_size=int(row["sample_size"]),
        confidence=float(row["confidence"]),
        stale=bool(row["stale"]),
        result=dict(row["result"]),
        half_life_seconds=ANALYZERS[name].half_life_seconds,
    )


def _parse_snapshot(raw: str | None, platform: Platform, game_key: str) -> Snapshot | None:
    """A hot-tier snapshot value, or None when absent or unreadable."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
        records = value[RECORDS_FIELD[platform]]
        columns = SNAPSHOT_COLUMNS[platform]
        if not isinstance(records, list) or not all(
            isinstance(r, dict) and all(c in r for c in columns) for r in records
        ):
            raise TypeError(f"records are not objects with the columns {columns}")
        return Snapshot("hot_tier", datetime.fromisoformat(value["collected_at"]), records)
    except (ValueError, KeyError, TypeError) as error:
        log.warning(
            "unreadable hot-tier value %s (%s); serving Postgres's",
            snapshot_key(platform, game_key),
            type(error).__name__,
        )
        return None
