"""The archived tables and how a month of each is read.

Each table's Parquet schema is its Arrow schema in `intel_assets.contracts.tables`, column for
column (a test holds it equal to the Postgres table), so archives of different months share
one schema and readers need no project code.
"""

import contextlib
import itertools
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeAlias

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


READERS = 2
"""Connections reading pieces at once: Postgres produces one piece while another is decoded."""

AHEAD_BATCHES = 16
"""Batches (of ADBC's about 16 MiB each) a piece read ahead of the caller may hold in memory."""


def _leads(
    conn: psycopg.Connection, table: ArchivedTable, start: date | datetime, end: date | datetime
) -> list[Any]:
    """The leading key values (games) with rows in `[start, end)`, in key order."""
    lead, time_column = table.key_columns[0], table.time_column
    # A loose index scan over the primary key: each next leading value in one index probe.
    values = sql.SQL(
        "WITH RECURSIVE v AS ("
        " (SELECT {l} FROM {t} WHERE {c} >= %(s)s AND {c} < %(e)s ORDER BY {l} LIMIT 1)"
        " UNION ALL SELECT (SELECT {l} FROM {t} WHERE {l} > v.{l} AND {c} >= %(s)s"
        " AND {c} < %(e)s ORDER BY {l} LIMIT 1) FROM v WHERE v.{l} IS NOT NULL"
        ") SELECT {l} FROM v WHERE {l} IS NOT NULL"
    ).format(l=sql.Identifier(lead), t=sql.Identifier(table.name), c=sql.Identifier(time_column))
    return [row[0] for row in conn.execute(values, {"s": start, "e": end}).fetchall()]


def _pieces(
    conn: psycopg.Connection, table: ArchivedTable, start: date | datetime, end: date | datetime
) -> list[str]:
    """The queries that read `[start, end)` in key order, piece after piece.

    A range of at most a day (a day's part) is split by leading key (game) into `READERS`
    adjoining key ranges that together are exactly the day, each sorted by Postgres once. A
    longer range is read one query per leading key value and day: each piece is small, and in
    key order the pieces follow one another as the whole range's key order (leading key, then
    time). A table whose key does not start with (leading key, time) is read in one query.

    The values are written into each query as literals: ADBC streams a query without bound
    parameters as a binary COPY, batch by batch, while a query with parameters comes back as
    one result held whole before its first batch.
    """
    lead, time_column = (sql.Identifier(c) for c in (table.key_columns[0], table.time_column))
    in_range = sql.SQL("{c} >= {s} AND {c} < {e}").format(
        c=time_column, s=sql.Literal(start), e=sql.Literal(end)
    )
    if len(table.key_columns) < 2 or table.key_columns[1] != table.time_column:
        return [table.select(in_range).as_string(None)]
    step = timedelta(days=1)
    leads = _leads(conn, table, start, end)
    if end - start <= step:  # type: ignore[operator]
        parts = min(READERS, len(leads))
        splits = sorted({leads[len(leads) * i // parts] for i in range(1, parts)})
        bounds = [None, *splits, None]
        wheres = [
            sql.SQL(" AND ").join(
                [sql.SQL("{l} >= {v}").format(l=lead, v=sql.Literal(low))] * (low is not None)
                + [sql.SQL("{l} < {v}").format(l=lead, v=sql.Literal(high))] * (high is not None)
                + [in_range]
            )
            for low, high in itertools.pairwise(bounds)
        ]
        return [table.select(where).as_string(None) for where in wheres]
    pieces = []
    for value in leads:
        low = start
        while low < end:
            high = min(low + step, end)  # type: ignore[operator]
            where = sql.SQL("{l} = {v} AND {c} >= {s} AND {c} < {e}").format(
                l=lead, v=sql.Literal(value), c=time_column, s=sql.Literal(low), e=sql.Literal(high)
            )
            pieces.append(table.select(where).as_string(None))
            low = high
    return pieces


Handoff: TypeAlias = "queue.Queue[pa.RecordBatch | BaseException | None]"
"""Where a reader thread hands one piece's batches over: then None, or the error that stopped it."""


def _read_pieces(
    url: str,
    snapshot: str,
    pieces: list[tuple[str, Handoff]],
    stop: threading.Event,
) -> None:
    """A reader thread of `record_batches`: its pieces, one after another, in the snapshot.

    Puts each piece's batches in the piece's queue, then None, or the error that stopped it
    (the caller's thread raises it).
    """
    handoff: Handoff | None = None
    try:
        with adbc.connect(url, autocommit=True) as reader_conn, reader_conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            for query, handoff in pieces:
                if stop.is_set():
                    break
                cur.execute(query)
                for batch in cur.fetch_record_batch():
                    if stop.is_set():
                        break
                    if batch.num_rows:
                        handoff.put(batch)
                handoff.put(None)
            cur.execute("COMMIT")
    except BaseException as error:  # handed to the caller's thread, which raises it
        if handoff is None:
            handoff = pieces[0][1]
        handoff.put(error)


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

    The rows are read as `conn`'s transaction sees them (its snapshot, exported to other
    connections), through ADBC's PostgreSQL driver: a binary COPY decoded straight into Arrow
    columns in C++, with no Python object per value, piece by piece (`_pieces`). `READERS`
    threads, each on a connection of its own, read pieces in turn, so Postgres scans and sorts
    the next piece, and ADBC decodes it, while the caller writes the previous one; a piece read
    ahead waits in a queue of at most `AHEAD_BATCHES` batches (bounding memory: a reader then
    waits, and so does its COPY), and pieces are handed out in order, `batch_rows` rows at a
    time.

    Args:
        conn: An open transaction (REPEATABLE READ where the caller also counts or deletes).
        url: libpq URL of the same database (the readers' connections).
        table: What to read.
        start: Inclusive start of the range.
        end: Exclusive end.
        batch_rows: Most rows per batch handed out (and Parquet row group).
    """
    row = conn.execute("SELECT pg_export_snapshot()").fetchone()
    snapshot = str(row[0]) if row else ""
    if not _SNAPSHOT_ID.match(snapshot):
        raise RuntimeError(f"Postgres exported an unexpected snapshot id {snapshot!r}")
    pieces = [
        (query, queue.Queue(maxsize=AHEAD_BATCHES)) for query in _pieces(conn, table, start, end)
    ]
    stop = threading.Event()
    workers = [
        threading.Thread(
            target=_read_pieces,
            args=(url, snapshot, pieces[first::READERS], stop),
            name=f"archive-read:{table.name}:{first}",
            daemon=True,
        )
        for first in range(min(READERS, len(pieces)))
    ]
    for worker in workers:
        worker.start()
    try:
        for _, handoff in pieces:
            while (item := handoff.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                declared = pa.RecordBatch.from_arrays(
                    [c.cast(f.type) for c, f in zip(item.columns, table.schema, strict=True)],
                    schema=table.schema,
                )
                for offset in range(0, declared.num_rows, batch_rows):
                    yield declared.slice(offset, batch_rows)
    finally:
        stop.set()
        while any(worker.is_alive() for worker in workers):
            # Unblock readers waiting to hand over batches nobody will take.
            for _, handoff in pieces:
                with contextlib.suppress(queue.Empty):
                    handoff.get_nowait()
            time.sleep(0.01)
        for worker in workers:
            worker.join()
