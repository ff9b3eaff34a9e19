"""The readers of `video_snapshots`, timed with the indexes before issue 20 and with today's.

Issue 20 cut what each snapshot row costs to index: the index by collection is gone (migration
0010) and the btree by (video_id, collected_at) became a hash index by video id (migration
0015). Each query that reads snapshots (the API's latest snapshot, the analysis window, the
velocity and tracking look-ups, the hourly rollup, and the collection's own readers, which now
name the collection's time) is timed in both states on the same rows, with the plan's access
path, so the benchmark's note shows that none became slower.
"""

import statistics
import time
from datetime import datetime, timedelta
from typing import Any

import psycopg

from intel_assets.defs.aggregation.hourly import _RESOLVED_BEFORE, _VIDEO_HOURS

BEFORE_ISSUE_20 = (
    "DROP INDEX video_snapshots_video",
    "CREATE INDEX video_snapshots_collection ON video_snapshots (game_key, collection_id)",
    "CREATE INDEX video_snapshots_video_time ON video_snapshots (video_id, collected_at)",
)
"""From today's indexes back to those of migration 0001."""
TODAY = (
    "DROP INDEX video_snapshots_collection",
    "DROP INDEX video_snapshots_video_time",
    "CREATE INDEX video_snapshots_video ON video_snapshots USING hash (video_id)",
)
"""Back to today's indexes (migrations 0010 and 0015)."""
_PATHS = {
    "collection_id_idx": "index by collection",
    "video_id_collected_at_idx": "btree by video and time",
    "video_id_idx": "hash by video",
    "pkey": "primary key",
}
"""Access paths by the end of the partition's index name (Postgres names a partition's index
after its columns)."""


def _queries(game: str, at: datetime, collection: str, ids: list[str]) -> dict[str, Any]:
    hour = at.replace(minute=0, second=0, microsecond=0)
    return {
        "API latest snapshot (game, time)": (
            "SELECT video_id, title, view_count FROM video_snapshots "
            "WHERE game_key = %s AND collected_at = %s ORDER BY video_id",
            (game, at),
        ),
        "analysis window (game, 6 h back from its newest)": (
            "SELECT video_id, view_count FROM video_snapshots WHERE game_key = %s AND "
            "collected_at >= (SELECT max(collected_at) FROM video_snapshots WHERE game_key = %s)"
            " - interval '6 hours'",
            (game, game),
        ),
        "velocity and tracking: videos seen before (game, ids)": (
            "SELECT DISTINCT video_id FROM video_snapshots "
            "WHERE game_key = %s AND video_id = ANY(%s)",
            (game, ids),
        ),
        "hourly rollup of an hour": (
            _VIDEO_HOURS.replace("{language}", _RESOLVED_BEFORE),
            {"start": hour, "end": hour + timedelta(hours=1)},
        ),
    }


_BEFORE = (
    "SELECT * FROM video_snapshots WHERE game_key = %s AND collection_id = %s",
    "latest collection's rows (before: by collection id)",
)
_AFTER = (
    "SELECT * FROM video_snapshots WHERE game_key = %s AND collected_at >= %s "
    "AND collection_id = %s",
    "latest collection's rows (now: from its time, by the primary key)",
)


def _timed(conn: psycopg.Connection, query: Any, params: Any, repeats: int = 5) -> float:
    values = []
    for _ in range(repeats):
        started = time.perf_counter()
        conn.execute(query, params).fetchall()
        values.append(time.perf_counter() - started)
    return statistics.median(values)


def _path(conn: psycopg.Connection, query: Any, params: Any) -> str:
    explain: Any = "EXPLAIN " + query
    plan = "\n".join(r[0] for r in conn.execute(explain, params).fetchall())
    found = [path for name, path in _PATHS.items() if f"{name} " in plan or plan.endswith(name)]
    return " and ".join(found) or "sequential scan"


def compare(url: str, game: str, at: datetime, collection: str, ids: list[str]) -> str:
    """One line per query: its median time and access path before issue 20, then today."""
    lines = []
    with psycopg.connect(url, autocommit=True) as conn:
        # As autovacuum leaves a table between collections: the visibility map set, so
        # neither state's plans pay for the rows' first visit.
        conn.execute("VACUUM video_snapshots")
        measured: dict[str, list[tuple[float, str]]] = {}
        for state in ("before", "today"):
            for statement in BEFORE_ISSUE_20 if state == "before" else TODAY:
                conn.execute(statement)
            conn.execute("ANALYZE video_snapshots")
            queries = _queries(game, at, collection, ids)
            reader = _BEFORE if state == "before" else _AFTER
            params = (game, collection) if state == "before" else (game, at, collection)
            queries[reader[1]] = (reader[0], params)
            for name, (query, values) in queries.items():
                key = "latest collection's rows" if name in (_BEFORE[1], _AFTER[1]) else name
                measured.setdefault(key, []).append(
                    (_timed(conn, query, values), _path(conn, query, values))
                )
        for name, ((before, old_path), (after, new_path)) in measured.items():
            lines.append(
                f"{name}: {before * 1000:.1f} ms ({old_path}) with the indexes before issue 20, "
                f"{after * 1000:.1f} ms ({new_path}) with today's"
            )
    return "; ".join(lines)
