"""The archived tables and how a month of each is read.

Each table's Parquet schema is its Arrow schema in `intel_assets.contracts.tables`, column for
column (a test holds it equal to the Postgres table), so archives of different months share
one schema and readers need no project code.
"""

import contextlib
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa
from psycopg import sql

from intel_assets.contracts import tables
from intel_assets.contracts.tables import DATE, Table


@dataclass(frozen=True)
class ArchivedTable(Table):
    """A warehouse table the monthly archive exports: its contract (`Table`) and how to read it.

    The declared Arrow schema of the Parquet files is the table's `schema`, in table column
    order (owned by `intel_assets.contracts.tables`).
    """

    @classmethod
    def of(cls, table: Table) -> "ArchivedTable":
        """The archive's view of a table contract."""
        return cls(**{f.name: getattr(table, f.name) for f in fields(table)})

    @property
    def is_date(self) -> bool:
        """Whether the time column is a date (else a UTC timestamp)."""
        return self.schema.field(self.time_column).type == DATE

    def bounds(self, month: date) -> tuple[date | datetime, date | datetime]:
        """The half-open range `[start, end)` of the time column that is `month`."""
        first = month.replace(day=1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        if self.is_date:
            return first, following
        return (
            datetime(first.year, first.month, 1, tzinfo=UTC),
            datetime(following.year, following.month, 1, tzinfo=UTC),
        )

    def object_key(self, month: date) -> str:
        """The Hive-style key of the month's file below the archive root."""
        return f"table={self.name}/month={month:%Y-%m}/part-0.parquet"

    def select(self, where: sql.Composable) -> sql.Composed:
        """SELECT of every declared column (JSONB as text), `where` applied, in key order."""
        columns = [
            sql.SQL("{c}::text AS {c}").format(c=sql.Identifier(f.name))
            if f.name in self.json_columns
            else sql.Identifier(f.name)
            for f in self.schema
        ]
        return sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}").format(
            sql.SQL(", ").join(columns),
            sql.Identifier(self.name),
            where,
            sql.SQL(", ").join(map(sql.Identifier, self.key_columns)),
        )

    def range_condition(self) -> sql.Composed:
        """`time_column >= %s AND time_column < %s`."""
        return sql.SQL("{c} >= %s AND {c} < %s").format(c=sql.Identifier(self.time_column))


VIDEO_SNAPSHOTS = ArchivedTable.of(tables.VIDEO_SNAPSHOTS)
STREAM_SNAPSHOTS = ArchivedTable.of(tables.STREAM_SNAPSHOTS)
CHANNEL_SNAPSHOTS = ArchivedTable.of(tables.CHANNEL_SNAPSHOTS)
HOURLY_METRICS = ArchivedTable.of(tables.HOURLY_METRICS)
DAILY_METRICS = ArchivedTable.of(tables.DAILY_METRICS)
DURATION_PERFORMANCE = ArchivedTable.of(tables.DURATION_PERFORMANCE)
REGIONAL_PERFORMANCE = ArchivedTable.of(tables.REGIONAL_PERFORMANCE)
PREMIERE_PERFORMANCE = ArchivedTable.of(tables.PREMIERE_PERFORMANCE)
QUOTA_LOG = ArchivedTable.of(tables.QUOTA_LOG)
TWITCH_GAME_STATS = ArchivedTable.of(tables.TWITCH_GAME_STATS)
TWITCH_GAME_STATS_HOURLY = ArchivedTable.of(tables.TWITCH_GAME_STATS_HOURLY)
TWITCH_GAME_STATS_MONTHLY = ArchivedTable.of(tables.TWITCH_GAME_STATS_MONTHLY)
TWITCH_TOP_STREAMERS = ArchivedTable.of(tables.TWITCH_TOP_STREAMERS)
CHANNEL_GROWTH = ArchivedTable.of(tables.CHANNEL_GROWTH)
TWITCH_BROADCASTER_GROWTH = ArchivedTable.of(tables.TWITCH_BROADCASTER_GROWTH)
TWITCH_CHANNEL_SNAPSHOTS = ArchivedTable.of(tables.TWITCH_CHANNEL_SNAPSHOTS)
TWITCH_VIDEO_SNAPSHOTS = ArchivedTable.of(tables.TWITCH_VIDEO_SNAPSHOTS)
CHANNEL_PROJECTIONS = ArchivedTable.of(tables.CHANNEL_PROJECTIONS)

ARCHIVED_TABLES: tuple[ArchivedTable, ...] = tuple(ArchivedTable.of(t) for t in tables.ARCHIVED)
"""Every table the monthly archive writes, snapshots first."""

TABLES_BY_NAME: dict[str, ArchivedTable] = {t.name: t for t in ARCHIVED_TABLES}


_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?$")


def _pieces(
    cur: Any, table: ArchivedTable, start: date | datetime, end: date | datetime
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The queries (ADBC `$n` placeholders) that read `[start, end)` in key order, piece by piece.

    ADBC hands a query's whole result over as one batch, so a month is read as one query per
    leading key value (game) and day: each piece is small, and in key order the pieces follow
    one another as the whole month's key order (leading key, then time). A table whose key does
    not start with (leading key, time) is read in one query.
    """
    lead, time_column = table.key_columns[0], table.time_column
    whole = table.select(sql.SQL("{c} >= $1 AND {c} < $2").format(c=sql.Identifier(time_column)))
    if len(table.key_columns) < 2 or table.key_columns[1] != time_column:
        yield whole.as_string(None), (start, end)
        return
    # A loose index scan over the primary key: each next leading value in one index probe.
    values = sql.SQL(
        "WITH RECURSIVE v AS ("
        " (SELECT {l} FROM {t} WHERE {c} >= $1 AND {c} < $2 ORDER BY {l} LIMIT 1)"
        " UNION ALL SELECT (SELECT {l} FROM {t} WHERE {l} > v.{l} AND {c} >= $1 AND {c} < $2"
        " ORDER BY {l} LIMIT 1) FROM v WHERE v.{l} IS NOT NULL"
        ") SELECT {l} FROM v WHERE {l} IS NOT NULL"
    ).format(l=sql.Identifier(lead), t=sql.Identifier(table.name), c=sql.Identifier(time_column))
    cur.execute(values.as_string(None), (start, end))
    leads = [str(v) for v in cur.fetch_arrow_table().column(0).to_pylist()]
    piece = table.select(
        sql.SQL("{l} = $1 AND {c} >= $2 AND {c} < $3").format(
            l=sql.Identifier(lead), c=sql.Identifier(time_column)
        )
    ).as_string(None)
    step = timedelta(days=1)
    for value in leads:
        low = start
        while low < end:
            high = min(low + step, end)  # type: ignore[operator]
            yield piece, (value, low, high)
            low = high


def _read_pieces(
    url: str,
    snapshot: str,
    table: ArchivedTable,
    start: date | datetime,
    end: date | datetime,
    batches: "queue.Queue[pa.RecordBatch | BaseException | None]",
    stop: threading.Event,
) -> None:
    """The reader thread of `record_batches`: every piece, in the exported snapshot.

    Puts each batch in `batches`, then None, or the error that stopped it (the caller's thread
    raises it).
    """
    try:
        with adbc.connect(url, autocommit=True) as reader_conn, reader_conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            for query, params in _pieces(cur, table, start, end):
                if stop.is_set():
                    break
                cur.execute(query, params)
                for batch in cur.fetch_record_batch():
                    if batch.num_rows:
                        batches.put(batch)
            cur.execute("COMMIT")
        batches.put(None)
    except BaseException as error:  # handed to the caller's thread, which raises it
        batches.put(error)


def record_batches(
    conn: psycopg.Connection,
    url: str,
    table: ArchivedTable,
    start: date | datetime,
    end: date | datetime,
    *,
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """The table's rows in `[start, end)` of its time column, as Arrow batches in key order.

    The rows are read as `conn`'s transaction sees them (its snapshot, exported to a second
    connection), through ADBC's PostgreSQL driver: a binary COPY decoded straight into Arrow
    columns in C++, with no Python object per value, one game's day at a time (`_pieces`).
    Pieces are read one ahead of the caller in a thread, so reading overlaps whatever the
    caller does with the previous piece (writing Parquet); they are handed out `batch_rows`
    rows at a time.

    Args:
        conn: An open transaction (REPEATABLE READ where the caller also counts or deletes).
        url: libpq URL of the same database (the second connection's).
        table: What to read.
        start: Inclusive start of the month.
        end: Exclusive end.
        batch_rows: Most rows per batch handed out (and Parquet row group).
    """
    row = conn.execute("SELECT pg_export_snapshot()").fetchone()
    snapshot = str(row[0]) if row else ""
    if not _SNAPSHOT_ID.match(snapshot):
        raise RuntimeError(f"Postgres exported an unexpected snapshot id {snapshot!r}")
    batches: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()
    worker = threading.Thread(
        target=_read_pieces,
        args=(url, snapshot, table, start, end, batches, stop),
        name=f"archive-read:{table.name}",
        daemon=True,
    )
    worker.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            declared = pa.RecordBatch.from_arrays(
                [column.cast(f.type) for column, f in zip(item.columns, table.schema, strict=True)],
                schema=table.schema,
            )
            for offset in range(0, declared.num_rows, batch_rows):
                yield declared.slice(offset, batch_rows)
    finally:
        stop.set()
        while worker.is_alive():
            # Unblock a reader waiting to hand over a batch nobody will take.
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.1)
        worker.join()
