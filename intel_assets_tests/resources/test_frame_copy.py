"""The COPY of a DataFrame a column at a time stores what the row-by-row COPY stored."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from psycopg import sql

from intel_assets.contracts.tables import VIDEO_COLUMNS
from intel_assets.defs.collection.youtube import collection_scope
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, TableWrite, frame_rows

AT = datetime(2031, 7, 15, 12, 30, 5, 123_456, tzinfo=UTC)
MONTH = date(2031, 7, 1)


def _videos(game: str, collection: str, count: int = 3) -> pd.DataFrame:
    """A `video_snapshots` frame with the dtypes collection gives and every kind of gap."""
    published = [AT - timedelta(days=i, microseconds=i) for i in range(3)]
    frame = pd.DataFrame(
        {
            "video_id": ["v1", "v2", "v3"],
            "game_key": game,
            "collected_at": AT,
            "collection_id": collection,
            "source": ["chart", "search", "tracked"],
            "title": ["ñandú 🎮 ranked", "日本語のタイトル", ""],
            "description": ["line one\nline two\ttab", "", "a \\ backslash"],
            "channel_id": ["UC1", "UC2", "UC3"],
            "channel_title": ["Ch 1", None, "Ch 3"],
            "published_at": published,
            "duration_seconds": [59, 3600, 0],
            "is_short": [True, False, False],
            "view_count": [0, 9_000_000_000, 17],
            "like_count": [136286.0, float("nan"), 2.0**40],  # a count with a gap is float
            "comment_count": pd.array([3, None, 0], dtype="Int64"),
            "default_audio_language": ["en", None, "ja"],
            "default_language": [None, None, "ja"],
            "live_state": ["none", "upcoming", "ended"],
            "is_premiere": [False, True, None],
            "scheduled_start": [None, AT + timedelta(hours=2), None],
            "actual_start": [pd.NaT, pd.NaT, AT - timedelta(hours=3)],
            "actual_end": [None, None, None],
            "concurrent_viewers": [None, 1500, None],
            "tags": [["ñandú 🎮", None, ""], [], ["fps", "ranked"]],
            "topic_categories": [["https://en.wikipedia.org/wiki/Video_game_culture"], [], []],
            "category_id": ["20", "20", None],
            "definition": ["hd", "sd", "hd"],
            "caption": [True, False, True],
            "licensed_content": [False, False, True],
            "made_for_kids": [False, False, False],
            "has_paid_product_placement": [False, True, False],
            "localization_languages": [[], ["de", "fr"], []],
            "language": ["en", None, "ja"],
            "language_source": ["audio", "unknown", "audio"],
        }
    )
    return frame[list(VIDEO_COLUMNS)].head(count)


def _write(warehouse: PostgresWarehouse, frame: pd.DataFrame, rows: Any) -> int:
    game, collection = str(frame["game_key"].iloc[0]), str(frame["collection_id"].iloc[0])
    scope = collection_scope(game, collection, AT, None)
    write = TableWrite("video_snapshots", VIDEO_COLUMNS, rows, scope, (MONTH,))
    return warehouse.replace_many([write])[0]


def _stored(warehouse: PostgresWarehouse, game: str) -> list[tuple]:
    columns = [c for c in VIDEO_COLUMNS if c != "game_key"]
    query = sql.SQL("SELECT {} FROM video_snapshots WHERE game_key = %s ORDER BY video_id").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with warehouse.connection() as conn:
        return conn.execute(query, (game,)).fetchall()


def test_a_frame_copied_a_column_at_a_time_stores_what_row_by_row_stored(
    warehouse: PostgresWarehouse,
):
    by_column = _videos("fortnite", "run-1")
    by_row = _videos("minecraft", "run-1")

    assert _write(warehouse, by_column, frame_rows(by_column, VIDEO_COLUMNS)) == 3
    # An iterator of the same tuples takes psycopg's write_row path, value by value.
    assert _write(warehouse, by_row, iter(frame_rows(by_row, VIDEO_COLUMNS))) == 3

    stored = _stored(warehouse, "fortnite")
    assert stored == _stored(warehouse, "minecraft")
    index = {c: i for i, c in enumerate(c for c in VIDEO_COLUMNS if c != "game_key")}
    first, second, third = stored
    assert first[index["collected_at"]] == AT
    assert [r[index["published_at"]] for r in stored] == [
        AT,
        AT - timedelta(days=1, microseconds=1),
        AT - timedelta(days=2, microseconds=2),
    ]
    assert [r[index["like_count"]] for r in stored] == [136286, None, 2**40]
    assert [r[index["comment_count"]] for r in stored] == [3, None, 0]
    assert [r[index["is_premiere"]] for r in stored] == [False, True, None]
    assert [r[index["scheduled_start"]] for r in stored] == [None, AT + timedelta(hours=2), None]
    assert [r[index["actual_start"]] for r in stored] == [None, None, AT - timedelta(hours=3)]
    assert [r[index["actual_end"]] for r in stored] == [None, None, None]
    assert first[index["tags"]] == ["ñandú 🎮", None, ""]
    assert second[index["tags"]] == [] and second[index["localization_languages"]] == ["de", "fr"]
    assert second[index["view_count"]] == 9_000_000_000
    assert (first[index["title"]], second[index["channel_title"]]) == ("ñandú 🎮 ranked", None)
    assert third[index["description"]] == "a \\ backslash"


def test_writing_a_collection_again_leaves_exactly_the_rows_of_the_first_write(
    warehouse: PostgresWarehouse,
):
    frame = _videos("fortnite", "run-1")
    _write(warehouse, frame, frame_rows(frame, VIDEO_COLUMNS))
    first = _stored(warehouse, "fortnite")

    _write(warehouse, frame, frame_rows(frame, VIDEO_COLUMNS))
    assert _stored(warehouse, "fortnite") == first

    # A re-run that saw fewer videos replaces the collection's rows, leaving no old row behind.
    fewer = _videos("fortnite", "run-1", count=2)
    assert _write(warehouse, fewer, frame_rows(fewer, VIDEO_COLUMNS)) == 2
    assert _stored(warehouse, "fortnite") == first[:2]


def test_a_value_the_column_cannot_hold_fails_the_write_and_keeps_the_previous_rows(
    warehouse: PostgresWarehouse,
):
    frame = _videos("fortnite", "run-1")
    _write(warehouse, frame, frame_rows(frame, VIDEO_COLUMNS))
    before = _stored(warehouse, "fortnite")
    too_long = frame.assign(duration_seconds=[59, 2**40, 0])  # duration is an INTEGER

    with pytest.raises(ValueError, match="duration_seconds: 1099511627776 is out of range"):
        _write(warehouse, too_long, frame_rows(too_long, VIDEO_COLUMNS))

    assert _stored(warehouse, "fortnite") == before


def test_columns_arrow_cannot_hold_go_through_psycopgs_dumpers(warehouse: PostgresWarehouse):
    columns = ["platform", "bucket", "operation", "units_used", "units_remaining", "quota_day",
               "category_key", "metadata", "created_at"]  # fmt: skip
    frame = pd.DataFrame(
        {
            "platform": ["youtube", "youtube"],
            "bucket": ["default", "search"],
            "operation": ["a", "b"],
            "units_used": [1, 100],
            "units_remaining": [9.0, 8.0],  # whole floats go in as integers
            "quota_day": [date(2031, 7, 15), date(2031, 7, 16)],
            "category_key": [None, "fortnite"],
            "metadata": ['{"ids": 50}', {"ids": [1, "ü"]}],  # JSON text and an object
            "created_at": [AT, AT],
        }
    )

    assert warehouse.append_rows("intel_quota_log", columns, frame_rows(frame, columns)) == 2

    with warehouse.connection() as conn:
        stored = conn.execute(
            "SELECT units_used, units_remaining, quota_day, category_key, metadata "
            "FROM intel_quota_log "
            "ORDER BY operation"
        ).fetchall()
    assert stored == [
        (1, 9, date(2031, 7, 15), None, {"ids": 50}),
        (100, 8, date(2031, 7, 16), "fortnite", {"ids": [1, "ü"]}),
    ]


def test_an_empty_frame_writes_no_rows(warehouse: PostgresWarehouse):
    frame = _videos("fortnite", "run-1", count=0)
    scope = RowScope(equals={"game_key": "fortnite"})
    assert (
        warehouse.replace_rows(
            "video_snapshots",
            VIDEO_COLUMNS,
            frame_rows(frame, VIDEO_COLUMNS),
            scope=scope,
            partition_months=[MONTH],
        )
        == 0
    )
