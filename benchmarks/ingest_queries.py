"""The readers of `video_snapshots`, timed with and without the index by collection.

Issue 20 dropped `video_snapshots_collection` (migration 0010) so every snapshot row costs one
index insert fewer. Each query that reads snapshots (the API's latest snapshot, the analysis
window, the velocity and tracking look-ups, the hourly rollup, and the collection's own
readers, which now name the collection's time) is timed in both states on the same rows, with
the plan's access path, so the benchmark's note shows that none became slower.
"""

import statistics
import time
from datetime import datetime, timedelta
from typing import Any

import psycopg

from intel_assets.defs.aggregation.hourly import _RESOLVED_BEFORE, _VIDEO_HOURS

OLD_INDEX = "CREATE INDEX video_snapshots_collection ON video_snapshots (game_key, collection_id)"


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
    for name in ("video_snapshots_collection", "video_time", "pkey"):
        if name in plan:
            return f"index {name}" if name != "pkey" else "primary key"
    return "sequential scan"


def compare(url: str, game: str, at: datetime, collection: str, ids: list[str]) -> str:
    """One line per query: its median time and access path with the old index, then without."""
    lines = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE video_snapshots")
        measured: dict[str, list[tuple[float, str]]] = {}
        for state in ("with", "without"):
            if state == "with":
                conn.execute(OLD_INDEX)
            else:
                conn.execute("DROP INDEX video_snapshots_collection")
            queries = _queries(game, at, collection, ids)
            reader = _BEFORE if state == "with" else _AFTER
            params = (game, collection) if state == "with" else (game, at, collection)
            queries[reader[1]] = (reader[0], params)
            for name, (query, values) in queries.items():
                key = "latest collection's rows" if name in (_BEFORE[1], _AFTER[1]) else name
                measured.setdefault(key, []).append(
                    (_timed(conn, query, values), _path(conn, query, values))
                )
        for name, ((before, old_path), (after, new_path)) in measured.items():
            lines.append(
                f"{name}: {before * 1000:.1f} ms ({old_path}) with the index by collection, "
                f"{after * 1000:.1f} ms ({new_path}) without"
            )
    return "; ".join(lines)
