"""The collection hot tier repairs itself from Postgres.

A collection commits its snapshot to Postgres first and writes the hot tier after; when Redis
fails in between, the run succeeds with a warning and the hot tier keeps an older snapshot (or
none). `hot_tier_behind` finds such games by comparing the hot tier's `collected_at` with the
collection state's, and `rewrite_hot_tier` puts the stored snapshot back, exactly as the
collection would have.
"""

from datetime import datetime
from typing import Any, Literal

import pandas as pd
from psycopg import sql

from intel_assets.contracts.tables import STREAM_COLUMNS, VIDEO_COLUMNS
from intel_assets.defs.collection.state import CollectionState, load_states
from intel_assets.defs.collection.twitch import StreamOutcome, hot_tier_streams
from intel_assets.defs.collection.youtube import CollectionOutcome, hot_tier_snapshot
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.redis_keys import SNAPSHOT_TTL_SECONDS, snapshot_key
from intel_assets.resources.warehouse import PostgresWarehouse

Source = Literal["youtube", "twitch"]

_TABLES: dict[Source, tuple[str, tuple[str, ...]]] = {
    "youtube": ("video_snapshots", VIDEO_COLUMNS),
    "twitch": ("stream_snapshots", STREAM_COLUMNS),
}


def hot_tier_behind(
    hot_tier: RedisHotTier, states: dict[str, CollectionState], source: Source
) -> dict[str, str]:
    """The games whose hot-tier snapshot is not their latest stored one, and what it holds.

    Args:
        hot_tier: The Redis hot tier.
        states: The games' collection states of `source` (`load_states`).
        source: "youtube" or "twitch".

    Returns:
        Per game behind: "missing" or the `collected_at` the hot tier holds instead.
    """
    collected = {k: s.last_collected_at for k, s in states.items() if s.last_collected_at}
    held = hot_tier.get_json_many(snapshot_key(source, game) for game in collected)
    behind: dict[str, str] = {}
    for game, at in sorted(collected.items()):
        value = held.get(snapshot_key(source, game))
        if not isinstance(value, dict) or not value.get("collected_at"):
            behind[game] = "missing"
        elif pd.Timestamp(value["collected_at"]) != pd.Timestamp(at):
            behind[game] = str(value["collected_at"])
    return behind


def _stored_snapshot(
    warehouse: PostgresWarehouse, source: Source, state: CollectionState
) -> pd.DataFrame:
    table, columns = _TABLES[source]
    # The collection's time (its rows share it) leads the primary key to them.
    query = sql.SQL(
        "SELECT * FROM {} WHERE game_key = %s AND collected_at >= %s AND collection_id = %s"
    ).format(sql.Identifier(table))
    frame = warehouse.fetch_frame(
        query, (state.game_key, state.last_collected_at, state.last_collection_id)
    )
    return frame.reindex(columns=list(columns))


def rewrite_hot_tier(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier, source: Source, game_key: str
) -> int:
    """Write the game's latest stored snapshot from `source` to the hot tier; its rows.

    Raises:
        redis.RedisError: Redis still does not answer.
    """
    state = load_states(warehouse, source)[game_key]
    rows = _stored_snapshot(warehouse, source, state)
    collected_at: datetime = state.last_collected_at  # type: ignore[assignment]
    value: dict[str, Any]
    if source == "youtube":
        outcome = CollectionOutcome(
            rows=rows, collected_at=collected_at, sources={}, new_videos=0,
            chart_videos_seen=0, chart_videos_matched=0,
            content_hash=state.last_content_hash or "",
        )  # fmt: skip
        value = hot_tier_snapshot(outcome, game_key)
    else:
        value = hot_tier_streams(
            StreamOutcome(rows, collected_at, 0, state.last_content_hash or ""), game_key
        )
    hot_tier.put_json({snapshot_key(source, game_key): value}, SNAPSHOT_TTL_SECONDS)
    return len(rows)
