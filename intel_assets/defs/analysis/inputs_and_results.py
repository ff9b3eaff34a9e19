"""Where analysis reads its inputs and keeps its results: snapshots in, both tiers out.

Inputs: one game's snapshots over a lookback window, one bulk query per snapshot table. Each
table's window ends at that table's newest snapshot of the game (never at the wall clock), so
an analysis re-run without a new collection reads exactly the same rows.

Outputs, per analyzer and game:
- `intel_analysis_results`: one row per (analyzer, game, as_of), `result` being the analyzer's
  `to_dict()` and the envelope (data age, sample size, confidence, stale) in the columns. The
  hourly rollup and the read API's warm fallback read it.
- Redis `analysis_key(analyzer, game)`: the whole envelope (`AnalysisResult.to_dict()`),
  expiring after the analyzer's TTL; what the read API serves first.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd
import redis
from psycopg import sql

from intel_assets.analyzers.base import Source
from intel_assets.analyzers.decay import AnalysisResult
from intel_assets.contracts.tables import (
    ANALYSIS_RESULTS_COLUMNS,
    ANALYSIS_RESULTS_TABLE,
    SNAPSHOT_FRAME_COLUMNS,
    SNAPSHOT_TABLES,
)
from intel_assets.defs.collection.state import CollectionState, load_states
from intel_assets.resources.hot_tier import RedisHotTier, dumps
from intel_assets.resources.redis_keys import analysis_key
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, TableWrite

CollectionSource = Literal["youtube", "twitch"]
COLLECTION_SOURCES: tuple[CollectionSource, ...] = ("youtube", "twitch")

COLLECTED_BY: Mapping[Source, CollectionSource] = {
    "videos": "youtube",
    "channels": "youtube",  # written by the YouTube collection, with its videos
    "streams": "twitch",
}
"""Which collection writes each snapshot table (its state says whether it is stale)."""


def _window_query(source: Source) -> sql.Composed:
    """One game's rows of a snapshot table within `lookback` of the game's newest row there.

    Parameters: game_key, game_key, lookback (interval). Channels keep only each channel's
    newest row in the window: a channel's size and age are what competition analysis reads,
    and the newest row says them best.
    """
    table = sql.Identifier(SNAPSHOT_TABLES[source])
    columns = sql.SQL(", ").join(map(sql.Identifier, SNAPSHOT_FRAME_COLUMNS[source]))
    window = sql.SQL(
        "WHERE game_key = %s AND collected_at >= "
        "(SELECT max(collected_at) FROM {table} WHERE game_key = %s) - %s"
    ).format(table=table)
    if source == "channels":
        return sql.SQL(
            "SELECT DISTINCT ON (channel_id) {columns} FROM {table} {window} "
            "ORDER BY channel_id, collected_at DESC"
        ).format(columns=columns, table=table, window=window)
    return sql.SQL("SELECT {columns} FROM {table} {window}").format(
        columns=columns, table=table, window=window
    )


def load_snapshots(
    warehouse: PostgresWarehouse,
    game_key: str,
    sources: Collection[Source],
    lookback: timedelta,
) -> dict[Source, pd.DataFrame]:
    """The game's snapshots of each source over the lookback window before its newest row.

    Args:
        warehouse: Where the snapshots are.
        game_key: The game.
        sources: Which snapshot tables to read (one query each).
        lookback: Length of each table's window, ending at the game's newest row in it.

    Returns:
        Per source, a frame with the source's columns (`SNAPSHOT_FRAME_COLUMNS`); no rows when the
        game has none.
    """
    frames: dict[Source, pd.DataFrame] = {}
    for source in sources:
        frame = warehouse.fetch_frame(_window_query(source), (game_key, game_key, lookback))
        if frame.empty:
            frame = pd.DataFrame(columns=list(SNAPSHOT_FRAME_COLUMNS[source]))
        frames[source] = frame
    return frames


@dataclass(frozen=True)
class Freshness:
    """How current a game's collections are, per collection source.

    Attributes:
        states: The game's `intel_collection_state` rows by source (absent: never attempted).
    """

    states: Mapping[CollectionSource, CollectionState]

    def stale_sources(self, needs: Iterable[Source]) -> list[CollectionSource]:
        """The collections feeding `needs` whose latest attempt failed, in a stable order."""
        wanted: set[CollectionSource] = {COLLECTED_BY[source] for source in needs}
        return [
            s
            for s in COLLECTION_SOURCES
            if s in wanted and s in self.states and self.states[s].stale
        ]

    def last_attempt(self, needs: Iterable[Source]) -> datetime | None:
        """The latest collection attempt (success or failure) feeding `needs`, if any.

        Dates the empty analysis of a game whose collections found nothing.
        """
        feeding: set[CollectionSource] = {COLLECTED_BY[s] for s in needs}
        times = [
            t
            for source in feeding
            if (state := self.states.get(source)) is not None
            for t in (state.last_collected_at, state.last_failure_at)
            if t is not None
        ]
        return max(times, default=None)

    def describe(self, source: CollectionSource) -> str:
        """One line on a stale source for metadata and logs (no error text: it is the API's)."""
        state = self.states[source]
        last_good = state.last_collected_at.isoformat() if state.last_collected_at else "never"
        failed = state.last_failure_at.isoformat() if state.last_failure_at else "?"
        return (
            f"{source}: {state.failures_in_row} failed collection(s) in a row, the latest at "
            f"{failed}; last good snapshot {last_good}"
        )


def load_freshness(warehouse: PostgresWarehouse, game_key: str) -> Freshness:
    """The game's collection state of both sources."""
    states: dict[CollectionSource, CollectionState] = {}
    for source in COLLECTION_SOURCES:
        state = load_states(warehouse, source).get(game_key)
        if state is not None:
            states[source] = state
    return Freshness(states=states)


def history_writes(results: Sequence[AnalysisResult]) -> list[TableWrite]:
    """One write per result replacing its (analyzer, game, as_of) row: re-runs are idempotent."""
    return [
        TableWrite(
            ANALYSIS_RESULTS_TABLE,
            ANALYSIS_RESULTS_COLUMNS,
            [
                (
                    r.analyzer,
                    r.game_key,
                    r.as_of,
                    r.data_age_seconds,
                    r.sample_size,
                    r.confidence,
                    r.stale,
                    dumps(r.result),
                )
            ],
            RowScope(equals={"analyzer": r.analyzer, "game_key": r.game_key, "as_of": r.as_of}),
        )
        for r in results
    ]


def write_history(warehouse: PostgresWarehouse, results: Sequence[AnalysisResult]) -> None:
    """Replace the results' history rows, all in one transaction."""
    if results:
        warehouse.replace_many(history_writes(results))


def write_hot_tier(
    hot_tier: RedisHotTier, results: Sequence[AnalysisResult], ttl_seconds: Mapping[str, int]
) -> str | None:
    """Put each result's envelope under its key with its analyzer's TTL.

    One pipelined round trip per distinct TTL (the registry has two). Redis being down is not
    a reason to lose the analysis (the history row holds it), so the failure is returned, not
    raised.

    Args:
        hot_tier: The Redis hot tier.
        results: The envelopes to store.
        ttl_seconds: TTL per analyzer name.

    Returns:
        None when every key was written, else what went wrong (type and message of the error).
    """
    by_ttl: dict[int, dict[str, Any]] = {}
    for result in results:
        key = analysis_key(result.analyzer, result.game_key)
        by_ttl.setdefault(ttl_seconds[result.analyzer], {})[key] = result.to_dict()
    try:
        for ttl, items in sorted(by_ttl.items()):
            hot_tier.put_json(items, ttl)
    except redis.RedisError as error:
        return f"{type(error).__name__}: {error}"
    return None


@dataclass(frozen=True)
class StoredResult:
    """What each tier holds for one analyzer and game after a write.

    Attributes:
        hot: The hot-tier envelope (None: key missing or Redis unreadable).
        history: The history row as a dict of its columns (None: no row at that as_of).
    """

    hot: dict[str, Any] | None
    history: dict[str, Any] | None


def read_back(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier, results: Sequence[AnalysisResult]
) -> tuple[dict[str, StoredResult], str | None]:
    """What both tiers now hold for each result (one query, one Redis round trip).

    Returns:
        Per analyzer what is stored, and the Redis error if the hot tier could not be read.
    """
    if not results:
        return {}, None
    game_key = results[0].game_key
    rows = warehouse.fetch_dicts(
        b"SELECT h.analyzer, h.as_of, h.data_age_seconds, h.sample_size, h.confidence, "
        b"h.stale, h.result FROM intel_analysis_results h "
        b"JOIN unnest(%s::text[], %s::timestamptz[]) AS k(analyzer, as_of) "
        b"USING (analyzer, as_of) WHERE h.game_key = %s",
        ([r.analyzer for r in results], [r.as_of for r in results], game_key),
    )
    history = {row["analyzer"]: row for row in rows}
    error: str | None = None
    hot: dict[str, Any] = {}
    try:
        hot = hot_tier.get_json_many(analysis_key(r.analyzer, game_key) for r in results)
    except redis.RedisError as failure:
        error = f"{type(failure).__name__}: {failure}"
    stored = {
        r.analyzer: StoredResult(
            hot=hot.get(analysis_key(r.analyzer, game_key)), history=history.get(r.analyzer)
        )
        for r in results
    }
    return stored, error


def tiers_disagree(stored: StoredResult) -> list[str]:
    """The fields in which the hot-tier envelope and the history row differ (empty: agree).

    A missing key or row counts as disagreement on `presence`.
    """
    hot, row = stored.hot, stored.history
    if hot is None or row is None:
        return ["presence"]
    hot_as_of = pd.Timestamp(hot["as_of"])
    differing = [] if hot_as_of == pd.Timestamp(row["as_of"]) else ["as_of"]
    differing += [
        name
        for name in ("data_age_seconds", "sample_size", "confidence", "stale", "result")
        if hot.get(name) != row[name]
    ]
    return differing
