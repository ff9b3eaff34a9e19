"""Snapshot and analysis rows for tests, written through the warehouse's one write path."""

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from intel_assets.contracts.tables import CHANNEL_COLUMNS, STREAM_COLUMNS, VIDEO_COLUMNS
from intel_assets.resources.hot_tier import dumps
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope

TEST_COLLECTION = "test-seed"

VIDEO_DEFAULTS: Mapping[str, Any] = {
    "collection_id": TEST_COLLECTION,
    "source": "chart",
    "title": "a video",
    "description": "",
    "channel_id": "UC-test",
    "published_at": datetime(2026, 1, 1, tzinfo=UTC),
    "is_short": False,
    "live_state": "none",
    "tags": [],
    "topic_categories": [],
    "localization_languages": [],
}
STREAM_DEFAULTS: Mapping[str, Any] = {
    "collection_id": TEST_COLLECTION,
    "user_id": "u-test",
    "twitch_game_id": "1",
    "started_at": datetime(2026, 1, 1, tzinfo=UTC),
    "title": "",
    "tags": [],
}
CHANNEL_DEFAULTS: Mapping[str, Any] = {"collection_id": TEST_COLLECTION}


def _none_for_nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _months(rows: list[dict[str, Any]]) -> set[date]:
    return {r["collected_at"].date().replace(day=1) for r in rows}


def _write(
    warehouse: PostgresWarehouse,
    table: str,
    columns: tuple[str, ...],
    defaults: Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
) -> int:
    full = [{**defaults, **{k: _none_for_nan(v) for k, v in row.items()}} for row in rows]
    published = {c for row in full for c in row}
    used = [c for c in columns if c in published]
    return warehouse.replace_rows(
        table,
        used,
        ([row.get(c) for c in used] for row in full),
        # Scoped to nothing real: the test seed appends rather than replaces a collection.
        scope=RowScope(equals={"collection_id": f"never-{table}"}),
        partition_months=_months(full),
    )


def insert_videos(warehouse: PostgresWarehouse, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write `video_snapshots` rows; columns a row leaves out take harmless defaults."""
    return _write(warehouse, "video_snapshots", VIDEO_COLUMNS, VIDEO_DEFAULTS, rows)


def insert_streams(warehouse: PostgresWarehouse, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write `stream_snapshots` rows; columns a row leaves out take harmless defaults."""
    return _write(warehouse, "stream_snapshots", STREAM_COLUMNS, STREAM_DEFAULTS, rows)


def insert_channels(warehouse: PostgresWarehouse, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write `channel_snapshots` rows; columns a row leaves out take harmless defaults."""
    return _write(warehouse, "channel_snapshots", CHANNEL_COLUMNS, CHANNEL_DEFAULTS, rows)


def insert_analysis(
    warehouse: PostgresWarehouse, analyzer: str, game_key: str, as_of: datetime, result: dict
) -> None:
    """Write one `intel_analysis_results` row."""
    warehouse.replace_rows(
        "intel_analysis_results",
        [
            "analyzer",
            "game_key",
            "as_of",
            "data_age_seconds",
            "sample_size",
            "confidence",
            "result",
        ],
        [(analyzer, game_key, as_of, 0.0, 10, 0.9, dumps(result))],
        scope=RowScope(equals={"analyzer": analyzer, "game_key": game_key, "as_of": as_of}),
    )
