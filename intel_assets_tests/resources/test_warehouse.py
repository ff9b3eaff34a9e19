from collections.abc import Iterator
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, frame_rows

HOUR = datetime(2026, 3, 4, 5, tzinfo=UTC)
COLUMNS = ["category_key", "hour_start", "video_count", "avg_views", "language_distribution"]


def _hourly_rows(views: float) -> list[tuple]:
    return [
        ("fortnite", HOUR, 3, views, '{"en": 2, "es": 1}'),
        ("minecraft", HOUR, 1, views * 2, '{"en": 1}'),
    ]


def _hour_scope() -> RowScope:
    return RowScope(time_column="hour_start", start=HOUR, end=HOUR.replace(hour=6))


def _read_hourly(warehouse: PostgresWarehouse) -> list[tuple]:
    with warehouse.connection() as conn:
        return conn.execute(
            "SELECT category_key, video_count, avg_views FROM intel_hourly_metrics "
            "ORDER BY category_key, hour_start"
        ).fetchall()


def test_replacing_a_partition_twice_leaves_the_same_rows(warehouse: PostgresWarehouse):
    first = warehouse.replace_rows(
        "intel_hourly_metrics", COLUMNS, _hourly_rows(100.0), scope=_hour_scope()
    )
    after_first = _read_hourly(warehouse)
    second = warehouse.replace_rows(
        "intel_hourly_metrics", COLUMNS, _hourly_rows(100.0), scope=_hour_scope()
    )

    assert first == second == 2
    assert after_first == [("fortnite", 3, 100.0), ("minecraft", 1, 200.0)]
    assert _read_hourly(warehouse) == after_first


def test_replacing_leaves_rows_outside_the_scope_alone(warehouse: PostgresWarehouse):
    other_hour = HOUR.replace(hour=7)
    warehouse.replace_rows(
        "intel_hourly_metrics",
        COLUMNS,
        [("fortnite", other_hour, 9, 9.0, "{}")],
        scope=RowScope(time_column="hour_start", start=other_hour, end=other_hour.replace(hour=8)),
    )
    warehouse.replace_rows("intel_hourly_metrics", COLUMNS, _hourly_rows(5.0), scope=_hour_scope())
    warehouse.replace_rows(
        "intel_hourly_metrics", COLUMNS, _hourly_rows(6.0)[:1], scope=_hour_scope()
    )

    assert _read_hourly(warehouse) == [("fortnite", 3, 6.0), ("fortnite", 9, 9.0)]


def test_an_error_half_way_leaves_the_previous_rows(warehouse: PostgresWarehouse):
    warehouse.replace_rows(
        "intel_hourly_metrics", COLUMNS, _hourly_rows(100.0), scope=_hour_scope()
    )

    def failing_rows() -> Iterator[tuple]:
        yield ("fortnite", HOUR, 30, 1000.0, "{}")
        raise RuntimeError("source broke half way")

    with pytest.raises(RuntimeError, match="half way"):
        warehouse.replace_rows("intel_hourly_metrics", COLUMNS, failing_rows(), scope=_hour_scope())

    assert _read_hourly(warehouse) == [("fortnite", 3, 100.0), ("minecraft", 1, 200.0)]


def test_a_row_the_database_rejects_leaves_the_previous_rows(warehouse: PostgresWarehouse):
    warehouse.replace_rows(
        "intel_hourly_metrics", COLUMNS, _hourly_rows(100.0), scope=_hour_scope()
    )
    duplicate_key = [("fortnite", HOUR, 1, 1.0, "{}"), ("fortnite", HOUR, 2, 2.0, "{}")]

    with pytest.raises(Exception, match="duplicate key"):
        warehouse.replace_rows("intel_hourly_metrics", COLUMNS, duplicate_key, scope=_hour_scope())

    assert _read_hourly(warehouse) == [("fortnite", 3, 100.0), ("minecraft", 1, 200.0)]


def test_an_empty_scope_is_refused(warehouse: PostgresWarehouse):
    with pytest.raises(ValueError, match="whole table"):
        warehouse.replace_rows("intel_hourly_metrics", COLUMNS, [], scope=RowScope())


def test_snapshot_months_get_their_partition(warehouse: PostgresWarehouse):
    collected = datetime(2031, 7, 15, 12, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "stream_id": ["s1", "s2"],
            "user_id": ["u1", "u2"],
            "game_key": ["valorant", "valorant"],
            "twitch_game_id": ["516575", "516575"],
            "collected_at": [collected, collected],
            "collection_id": ["run-1", "run-1"],
            "viewer_count": [1200, 30],
            "language": ["en", None],
            "started_at": [collected.replace(hour=10), collected.replace(hour=11)],
            "title": ["ranked", "chill"],
            "tags": [["English", "FPS"], []],
        }
    )
    columns = list(frame.columns)

    written = warehouse.replace_rows(
        "stream_snapshots",
        columns,
        frame_rows(frame, columns),
        scope=RowScope(equals={"game_key": "valorant", "collection_id": "run-1"}),
        partition_months=[date(2031, 7, 1)],
    )

    assert written == 2
    with warehouse.connection() as conn:
        rows = conn.execute(
            "SELECT tableoid::regclass::text, stream_id, viewer_count, language, tags "
            "FROM stream_snapshots ORDER BY stream_id"
        ).fetchall()
    assert rows == [
        ("stream_snapshots_2031_07", "s1", 1200, "en", ["English", "FPS"]),
        ("stream_snapshots_2031_07", "s2", 30, None, []),
    ]


def test_frame_rows_turns_missing_values_into_nulls():
    frame = pd.DataFrame({"a": [1, None], "b": [1.5, float("nan")], "c": ["x", None]})
    assert list(frame_rows(frame, ["c", "a", "b"])) == [("x", 1.0, 1.5), (None, None, None)]


def test_replace_many_writes_every_table_or_none(warehouse: PostgresWarehouse):
    from intel_assets.resources.warehouse import TableWrite

    state_columns = ["game_key", "source", "unchanged_streak"]
    game_scope = RowScope(equals={"game_key": "fortnite", "source": "youtube"})
    warehouse.replace_many(
        [
            TableWrite("intel_hourly_metrics", COLUMNS, _hourly_rows(1.0), _hour_scope()),
            TableWrite(
                "intel_collection_state", state_columns, [("fortnite", "youtube", 1)], game_scope
            ),
        ]
    )

    with pytest.raises(Exception, match="duplicate key"):
        warehouse.replace_many(
            [
                TableWrite("intel_hourly_metrics", COLUMNS, _hourly_rows(2.0), _hour_scope()),
                TableWrite(
                    "intel_collection_state",
                    state_columns,
                    [("fortnite", "youtube", 2), ("fortnite", "youtube", 3)],
                    game_scope,
                ),
            ]
        )

    # The second write failed in its second table, so its first table kept the old rows too.
    assert _read_hourly(warehouse) == [("fortnite", 3, 1.0), ("minecraft", 1, 2.0)]
    with warehouse.connection() as conn:
        assert conn.execute("SELECT unchanged_streak FROM intel_collection_state").fetchall() == [
            (1,)
        ]
