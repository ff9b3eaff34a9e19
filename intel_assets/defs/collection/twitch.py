"""`twitch_streams[game]`: every live stream of one game now, with viewers, language and start.

Twitch keeps no history: viewers and streamers per game exist only where someone polled
`/streams` and stored it, so each collection keeps all pages (a stream repeated across pages is
kept once). Rows go to `stream_snapshots` with the game's collection state in one transaction;
the snapshot also goes to the hot tier (`redis_keys.snapshot_key`, 5 h TTL).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from intel_assets.catalog import GameConfig
from intel_assets.contracts.tables import STREAM_COLUMNS
from intel_assets.defs.collection.state import CollectionState, content_hash, state_write
from intel_assets.resources.twitch import TwitchClient
from intel_assets.resources.warehouse import RowScope, TableWrite, frame_rows


@dataclass
class StreamOutcome:
    """What one Twitch collection saw.

    Attributes:
        rows: One row per live stream (STREAM_COLUMNS).
        collected_at: When the last page arrived.
        duplicates: Streams seen twice while paging (kept once).
        content_hash: Hash over (stream id, viewers).
    """

    rows: pd.DataFrame
    collected_at: datetime
    duplicates: int
    content_hash: str


def collect_twitch(game: GameConfig, client: TwitchClient, collection_id: str) -> StreamOutcome:
    """Read every live stream of the game (all pages)."""
    if not game.twitch_game_id:
        raise ValueError(f"game {game.key} has no twitch_game_id in the catalog")
    streams = client.streams(game_ids=[game.twitch_game_id])
    collected_at = datetime.now(UTC)
    frame = pd.DataFrame(
        [
            {
                "stream_id": s.stream_id,
                "user_id": s.user_id,
                "user_login": s.user_login,
                "user_name": s.user_name,
                "game_key": game.key,
                "twitch_game_id": game.twitch_game_id,
                "collected_at": collected_at,
                "collection_id": collection_id,
                "viewer_count": s.viewer_count,
                "language": s.language,
                "started_at": s.started_at,
                "title": s.title,
                "tags": list(s.tags),
                "is_mature": s.is_mature,
            }
            for s in streams
        ],
        columns=list(STREAM_COLUMNS),
    )
    return StreamOutcome(
        rows=frame,
        collected_at=collected_at,
        duplicates=int(client.duplicates.get("streams", 0)),
        content_hash=content_hash(zip(frame["stream_id"], frame["viewer_count"], strict=True)),
    )


def stream_writes(
    outcome: StreamOutcome, game_key: str, collection_id: str, previous: CollectionState | None
) -> list[TableWrite]:
    """The stream snapshot and the game's Twitch state, as one atomic write."""
    month = date(outcome.collected_at.year, outcome.collected_at.month, 1)
    return [
        TableWrite(
            "stream_snapshots",
            STREAM_COLUMNS,
            frame_rows(outcome.rows, STREAM_COLUMNS),
            RowScope(equals={"game_key": game_key, "collection_id": collection_id}),
            (month,),
        ),
        state_write(
            game_key,
            "twitch",
            outcome.collected_at,
            collection_id,
            outcome.content_hash,
            len(outcome.rows),
            previous,
        ),
    ]


def hot_tier_streams(outcome: StreamOutcome, game_key: str) -> dict[str, Any]:
    """The hot tier's value for the game: its latest live streams and their totals."""
    rows = outcome.rows
    return {
        "game_key": game_key,
        "collected_at": outcome.collected_at,
        "stream_count": len(rows),
        "total_viewers": int(rows["viewer_count"].sum()) if len(rows) else 0,
        "streams": rows.astype(object).where(rows.notna(), None).to_dict("records"),
    }
