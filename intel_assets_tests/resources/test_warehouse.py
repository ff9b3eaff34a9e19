import time
from collections.abc import Iterable, Iterator
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


def test_frame_rows_converts_whole_columns_as_cell_by_cell_rules_say():
    at = datetime(2026, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            # A count column with a gap is float in pandas: whole values go back to int.
            "count": [136286.0, None, 2.0**40],
            "ratio": [0.25, 1.0, float("nan")],
            "at": [at, pd.NaT, at],
            "nullable": pd.array([1, None, 3], dtype="Int64"),
            "text": pd.array(["ñandú 🎮", None, ""], dtype="string"),
            "tags": [["a", "b"], [], None],
            "mixed": [{"a": 1}, float("nan"), "x"],
        }
    )

    rows = list(frame_rows(frame, list(frame.columns)))

    assert rows == [
        (136286, 0.25, at, 1, "ñandú 🎮", ["a", "b"], {"a": 1}),
        (None, 1, None, None, None, [], None),
        (2**40, None, at, 3, "", None, "x"),
    ]
    assert [type(v) for v in rows[0][:4]] == [int, float, datetime, int]


def test_arrays_and_json_text_round_trip_through_the_binary_copy(warehouse: PostgresWarehouse):
    from psycopg.types.json import Jsonb

    collected = datetime(2031, 7, 15, 12, tzinfo=UTC)
    stream = ("valorant", "516575", collected, "run-1", 5, collected, "t")
    columns = ["stream_id", "user_id", "game_key", "twitch_game_id", "collected_at",
               "collection_id", "viewer_count", "started_at", "title", "tags"]  # fmt: skip
    warehouse.replace_rows(
        "stream_snapshots",
        columns,
        [("s1", "u1", *stream, ["ñandú 🎮", None, ""]), ("s2", "u2", *stream, [])],
        scope=RowScope(equals={"game_key": "valorant", "collection_id": "run-1"}),
        partition_months=[date(2031, 7, 1)],
    )
    warehouse.append_rows(
        "intel_quota_log",
        ["platform", "bucket", "operation", "units_used", "units_remaining", "quota_day",
         "metadata", "created_at"],
        [
            ("youtube", "default", "a", 1, 9, date(2031, 7, 15), '{"ids": 50}', collected),
            ("youtube", "default", "b", 1, 8, date(2031, 7, 15), Jsonb({"ids": [1, "ü"]}),
             collected),
        ],
    )  # fmt: skip

    with warehouse.connection() as conn:
        tags = conn.execute("SELECT tags FROM stream_snapshots ORDER BY stream_id").fetchall()
        metadata = conn.execute(
            "SELECT metadata FROM intel_quota_log ORDER BY operation"
        ).fetchall()
    assert tags == [(["ñandú 🎮", None, ""],), ([],)]
    # JSON text is stored as the object it spells, not as a JSON string.
    assert metadata == [({"ids": 50},), ({"ids": [1, "ü"]},)]


def test_two_writes_of_one_partition_at_once_leave_one_writes_rows_and_no_error(
    warehouse_url: str,
):
    """The first write is still inside its COPY when the second starts: the second waits."""
    import threading

    first_in_copy = threading.Event()
    second_started = threading.Event()

    def slow_rows() -> Iterator[tuple]:
        rows = _hourly_rows(1.0)
        yield rows[0]
        first_in_copy.set()
        second_started.wait(timeout=10)
        time.sleep(0.5)  # the second write is now waiting on the lock (or racing without it)
        yield rows[1]

    errors: list[BaseException] = []

    def write(rows: Iterable[tuple], before: threading.Event | None) -> None:
        writer = PostgresWarehouse(url=warehouse_url)
        try:
            if before is not None:
                before.wait(timeout=10)
                second_started.set()
            writer.replace_rows("intel_hourly_metrics", COLUMNS, rows, scope=_hour_scope())
        except BaseException as error:
            errors.append(error)
        finally:
            writer.close()

    first = threading.Thread(target=write, args=(slow_rows(), None))
    second = threading.Thread(target=write, args=(_hourly_rows(2.0), first_in_copy))
    first.start()
    second.start()
    first.join(timeout=30)
    second.join(timeout=30)

    assert errors == []
    check = PostgresWarehouse(url=warehouse_url)
    try:
        # The second write started last and replaced the first one's rows whole.
        assert _read_hourly(check) == [("fortnite", 3, 2.0), ("minecraft", 1, 4.0)]
    finally:
        check.close()
