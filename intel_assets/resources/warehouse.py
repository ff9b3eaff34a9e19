"""The Postgres warehouse: a psycopg 3 connection pool and the one bulk-write helper.

Every asset that writes uses `PostgresWarehouse.replace_rows`: in one transaction it deletes the
rows of the partition being written and COPYs the new ones in, so re-materializing a partition
yields the same rows and a run killed half way leaves the previous rows untouched. The
transaction first takes a Postgres advisory lock per table and scope, so two runs writing the
same partition at once (two `dagster asset materialize` processes, which Dagster's own
concurrency limits do not see) write one after the other: the rows of one run, never a
unique-key violation or the rows of both.
"""

import math
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, islice
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pandas as pd
import psycopg
from psycopg import pq, sql
from psycopg.abc import Buffer, QueryNoTemplate
from psycopg.adapt import Dumper
from psycopg.rows import dict_row
from psycopg.types.json import JsonbBinaryDumper
from psycopg_pool import ConnectionPool
from pydantic import PrivateAttr

from intel_assets.counters import record_rows_written
from intel_assets.resources.frame_copy import FrameRows
from intel_assets.resources.hot_tier import RedisHotTier


@dataclass(frozen=True)
class RowScope:
    """Which rows of a table a write replaces: the partition being materialized.

    Attributes:
        equals: Column values the rows must match, e.g. `{"game_key": "fortnite"}`.
        time_column: Column of the half-open time window `[start, end)`, if any.
        start: Inclusive start of the window.
        end: Exclusive end of the window.
    """

    equals: Mapping[str, Any] = field(default_factory=dict)
    time_column: str | None = None
    start: datetime | date | None = None
    end: datetime | date | None = None

    def lock_name(self, table: str) -> str:
        """The advisory lock a write of this scope to `table` takes.

        Per table and `equals` values: writes of one game, collection or analysis wait only for
        each other; time-window writes wait for every write to the table, since windows of
        different lengths (an hour, a backfill's week) overlap.
        """
        values = ",".join(f"{k}={self.equals[k]!r}" for k in sorted(self.equals))
        return f"replace:{table}:{values}"

    def where(self) -> tuple[sql.Composable, list[Any]]:
        """The WHERE clause (identifiers quoted, values bound) selecting the scope's rows."""
        clauses: list[sql.Composable] = []
        params: list[Any] = []
        for column, value in self.equals.items():
            clauses.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
        if self.time_column is not None:
            if self.start is None or self.end is None:
                raise ValueError("a time scope needs both start and end")
            clauses.append(
                sql.SQL("{col} >= %s AND {col} < %s").format(col=sql.Identifier(self.time_column))
            )
            params.extend([self.start, self.end])
        if not clauses:
            raise ValueError("refusing to replace a whole table: give the scope a column")
        return sql.SQL(" AND ").join(clauses), params


@dataclass(frozen=True)
class TableWrite:
    """One table's part of an atomic write: the scope replaced and the rows replacing it.

    Attributes:
        table: Table name (from code, never from data).
        columns: Columns of `rows`, in order.
        rows: The new rows of the scope; streamed.
        scope: The rows being replaced.
        partition_months: For month-partitioned tables, the months the rows fall in.
    """

    table: str
    columns: Sequence[str]
    rows: Iterable[Sequence[Any]]
    scope: RowScope
    partition_months: tuple[date, ...] = ()


def frame_rows(frame: pd.DataFrame, columns: Sequence[str]) -> FrameRows:
    """The rows of `frame` restricted to `columns`, ready for COPY.

    Missing values (NaN, NaT, pd.NA, None) become NULL, NumPy and pandas values Python ones,
    whole floats ints. The COPY encodes the frame a column at a time (`FrameRows`).

    Args:
        frame: Rows to write.
        columns: The table columns, in COPY order; each must be a column of `frame`.
    """
    return FrameRows(frame, columns)


class PostgresWarehouse(dg.ConfigurableResource):
    """The warehouse database: snapshots, rollups, analysis history and bookkeeping.

    Attributes:
        url: libpq URL of the warehouse database (from `INTEL_POSTGRES_URL`).
        max_pool_size: Connections the pool opens at most in one process.
        connect_timeout_seconds: How long a new connection may take before it fails.
        metrics: The Redis server committed writes are counted in (rows per table, exposed to
            Prometheus by `intel_assets.prometheus`); None counts nothing.
        application_name: What `pg_stat_activity` shows for this pool's connections, so an
            operator can tell the API's from the runs' (a URL's own setting wins).
    """

    url: str
    max_pool_size: int = 4
    connect_timeout_seconds: float = 10.0
    metrics: RedisHotTier | None = None
    application_name: str = "intel-assets"

    _pool: ConnectionPool | None = PrivateAttr(default=None)
    _partitioned: dict[str, bool] = PrivateAttr(default_factory=dict)
    _types: dict[str, dict[str, int]] = PrivateAttr(default_factory=dict)

    def _get_pool(self) -> ConnectionPool:
        if self._pool is None:
            self._pool = ConnectionPool(
                self.url,
                min_size=1,
                max_size=self.max_pool_size,
                kwargs={
                    "connect_timeout": math.ceil(self.connect_timeout_seconds),
                    **self._application_name(),
                },
                timeout=self.connect_timeout_seconds,
                open=True,
            )
        return self._pool

    def _application_name(self) -> dict[str, str]:
        if "application_name" in parse_qs(urlsplit(self.url).query):
            return {}
        return {"application_name": self.application_name}

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close the pool when the run's step ends."""
        self.close()

    def close(self) -> None:
        """Close every pooled connection (the pool reopens on next use)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; its transaction commits when the block ends without error."""
        with self._get_pool().connection() as conn:
            yield conn

    @contextmanager
    def session_lock(self, name: str) -> Iterator[bool]:
        """Hold the advisory lock `name` for the block if no other session holds it.

        On a connection of its own, outside the pool: Postgres releases a session lock the
        moment its connection closes, so an owner that is killed frees it at once.

        Yields:
            Whether this block holds the lock (False: another session does; nothing waits).
        """
        with psycopg.connect(
            self.url, autocommit=True, connect_timeout=math.ceil(self.connect_timeout_seconds)
        ) as conn:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)
            ).fetchone()
            held = bool(row and row[0])
            try:
                yield held
            finally:
                if held and not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))

    def fetch_frame(self, query: QueryNoTemplate, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run a query and return its rows as a DataFrame with the query's column names."""
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(query, params)
            columns = [d.name for d in cur.description or []]
            return pd.DataFrame.from_records(cur.fetchall(), columns=columns)

    def fetch_dicts(
        self, query: QueryNoTemplate, params: Sequence[Any] = ()
    ) -> list[dict[str, Any]]:
        """Run a query and return its rows as dictionaries."""
        with self.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def _is_partitioned(self, conn: psycopg.Connection, table: str) -> bool:
        if table not in self._partitioned:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p "
                "JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = %s)",
                (table,),
            ).fetchone()
            self._partitioned[table] = bool(row and row[0])
        return self._partitioned[table]

    def _column_types(
        self, conn: psycopg.Connection, table: str, columns: Sequence[str]
    ) -> list[int]:
        """The type oids of `columns` of `table` (read once per table)."""
        if table not in self._types:
            found = conn.execute(
                "SELECT attname, atttypid::int FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchall()
            self._types[table] = dict(found)
        known = self._types[table]
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise KeyError(f"table {table} has no columns {unknown}")
        return [known[c] for c in columns]

    def _count_rows(self, rows_by_table: Mapping[str, int]) -> None:
        """Count committed rows per table in Redis (never fails the write that made them)."""
        if self.metrics is not None and rows_by_table:
            record_rows_written(self.metrics.client(), rows_by_table)

    def replace_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        scope: RowScope,
        partition_months: Iterable[date] = (),
    ) -> int:
        """Replace the rows of `table` in `scope` with `rows`, atomically.

        In one transaction: create any missing month partitions, delete the scope's rows, COPY
        the new rows in. If anything fails (a bad row, a lost connection, a killed process),
        the transaction rolls back and the previous rows stay.

        Args:
            table: Table name (from code, never from data).
            columns: Columns of `rows`, in order.
            rows: The new rows of the scope; streamed, never held in memory here.
            scope: The rows being replaced (the partition being materialized).
            partition_months: For month-partitioned tables, the months the rows fall in.

        Returns:
            The number of rows written.
        """
        write = TableWrite(table, columns, rows, scope, tuple(partition_months))
        return self.replace_many([write])[0]

    def replace_many(self, writes: Sequence["TableWrite"]) -> list[int]:
        """Replace the scoped rows of several tables in ONE transaction (all or nothing).

        For a materialization that writes more than one table (a snapshot and the collection
        state that describes it), so no reader ever sees one without the other.

        Returns:
            The number of rows written to each table, in the order of `writes`.
        """
        # Sorted, so two transactions taking several locks cannot wait for each other.
        locks = sorted({w.scope.lock_name(w.table) for w in writes})
        with self.connection() as conn, conn.transaction():
            written = [
                self._replace(conn, write, locks if index == 0 else ())
                for index, write in enumerate(writes)
            ]
        rows_by_table: dict[str, int] = {}
        for write, rows in zip(writes, written, strict=True):
            rows_by_table[write.table] = rows_by_table.get(write.table, 0) + rows
        self._count_rows(rows_by_table)
        return written

    def _replace(self, conn: psycopg.Connection, write: "TableWrite", locks: Sequence[str]) -> int:
        """Take `locks`, make the write's partitions, delete its scope and COPY its rows in.

        In the caller's transaction; the rows written. The statements before the COPY go out
        in one pipeline, so the server runs them while the rows' first chunk is encoded.
        """
        partitioned = self._is_partitioned(conn, write.table)
        types = self._column_types(conn, write.table, write.columns)
        where, params = write.scope.where()
        with conn.cursor() as cur:
            _register_copy_dumpers(cur)
            with conn.pipeline():
                for name in locks:
                    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))
                ensured = [
                    conn.execute(
                        "SELECT intel_ensure_month_partition(%s::regclass, %s)",
                        (write.table, month),
                    )
                    for month in (sorted(set(write.partition_months)) if partitioned else ())
                ]
                conn.execute(
                    sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(write.table), where),
                    params,
                )
                encoded = _encoded_frame(cur, write.rows, write.columns, types)
            partitions = [found.fetchone() for found in ensured]
            target = write.table
            if len(partitions) == 1 and partitions[0] is not None:
                # Rows of one month go straight into its partition: routing each row through
                # the parent cost a fifth of a snapshot write.
                target = str(partitions[0][0])
            return _copy_with(cur, target, write.columns, write.rows, types, encoded)

    def append_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Add `rows` to an append-only table (a log such as `intel_quota_log`) with one COPY.

        Only for tables whose rows are never replaced: nothing is deleted, and the rows arrive
        in one transaction (all or none).

        Args:
            table: Table name (from code, never from data).
            columns: Columns of `rows`, in order.
            rows: The rows to add.

        Returns:
            The number of rows written.
        """
        with self.connection() as conn, conn.transaction():
            written = _copy_rows(
                conn, table, columns, rows, self._column_types(conn, table, columns)
            )
        self._count_rows({table: written})
        return written

    def append_new_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, key: str
    ) -> int:
        """Add the rows whose `key` is not in `table` yet, in one transaction; the rows added.

        For logs drained at least once (`intel_quota_log` from the quota ledger's stream): a
        row that is already there stays as it is. One COPY into a staging table, then one
        `INSERT ... ON CONFLICT (key) DO NOTHING` (`key` needs a unique index).

        Args:
            table: Table name (from code, never from data).
            columns: Columns of `rows`, in order; `key` among them.
            rows: The rows to add.
            key: The column whose unique index tells a row already there.
        """
        staging = sql.Identifier(f"staging_{table}")
        names = sql.SQL(", ").join(map(sql.Identifier, columns))
        with self.connection() as conn, conn.transaction():
            types = self._column_types(conn, table, columns)
            conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
                ).format(staging, names, sql.Identifier(table))
            )
            _copy_rows(conn, f"staging_{table}", columns, rows, types)
            added = conn.execute(
                sql.SQL(
                    "INSERT INTO {table} ({names}) SELECT {names} FROM {staging} "
                    "ON CONFLICT ({key}) DO NOTHING"
                ).format(
                    table=sql.Identifier(table),
                    names=names,
                    staging=staging,
                    key=sql.Identifier(key),
                )
            ).rowcount
        self._count_rows({table: added})
        return added


class _JsonbDumper(JsonbBinaryDumper):
    """jsonb in binary COPY where writers hand JSON text: the text goes in as it is.

    psycopg's own dumper would encode a `str` as a JSON string; `Jsonb` wrappers and plain
    values are still encoded as psycopg does.
    """

    def dump(self, obj: Any) -> Buffer | None:
        """Version byte 1, then the JSON text."""
        if isinstance(obj, str):
            return b"\x01" + obj.encode()
        return super().dump(obj)


_TEXT_OID = 25
_TEXT_ARRAY_OID = 1009
_NULL_ITEM = b"\xff\xff\xff\xff"
_ITEM_LENGTH = struct.Struct("!i")


class _TextArrayDumper(Dumper):
    """text[] in binary COPY from a list of strings (tags, topics, languages).

    psycopg's general array dumper inspects every item in Python and was the largest cost of a
    snapshot write; strings need none of that.
    """

    format = pq.Format.BINARY
    oid = _TEXT_ARRAY_OID

    def dump(self, obj: Any) -> Buffer | None:
        """Dimensions, then each item's length and UTF-8 bytes (length -1: NULL)."""
        if not isinstance(obj, list | tuple):
            raise TypeError(f"a text[] column needs a list of strings, got {type(obj).__name__}")
        if not obj:
            return struct.pack("!iii", 0, 0, _TEXT_OID)
        parts = [b""]
        has_null = 0
        for item in obj:
            if item is None:
                has_null = 1
                parts.append(_NULL_ITEM)
                continue
            if not isinstance(item, str):
                raise TypeError(f"a text[] item must be a string, got {type(item).__name__}")
            data = item.encode()
            parts.append(_ITEM_LENGTH.pack(len(data)))
            parts.append(data)
        parts[0] = struct.pack("!iiiii", 1, has_null, _TEXT_OID, len(obj), 1)
        return b"".join(parts)


def _binary_dump(cursor: psycopg.Cursor, oid: int) -> Callable[[Any], Buffer | None]:
    """What `Copy.set_types` would use for type `oid` on `cursor`: its binary dumper's dump."""
    return cursor.adapters.get_dumper_by_oid(oid, pq.Format.BINARY)(type(None), cursor).dump


def _copy_rows(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[int],
) -> int:
    """Binary COPY of `rows` into `table` on `conn` (in the caller's transaction); rows written.

    Binary COPY skips formatting every value as text and parsing it again, about half the
    cost of a text COPY; `types` (the columns' type oids) tell psycopg how to encode each value.
    """
    with conn.cursor() as cur:
        _register_copy_dumpers(cur)
        return _copy_with(
            cur, table, columns, rows, types, _encoded_frame(cur, rows, columns, types)
        )


def _register_copy_dumpers(cur: psycopg.Cursor) -> None:
    """The binary dumpers a COPY on `cur` needs beyond psycopg's: jsonb and text[]."""
    cur.adapters.register_dumper(None, _JsonbDumper)
    cur.adapters.register_dumper(None, _TextArrayDumper)


def _encoded_frame(
    cur: psycopg.Cursor, rows: Iterable[Sequence[Any]], columns: Sequence[str], types: Sequence[int]
) -> tuple[Iterator[bytes], int] | None:
    """A frame's binary COPY data with its first chunk of rows encoded now, and its row count.

    None when `rows` are not a frame of exactly these columns (they go row by row).
    """
    if not isinstance(rows, FrameRows) or rows.columns != tuple(columns):
        return None
    data = rows.copy_data(types, lambda oid: _binary_dump(cur, oid))
    head = list(islice(data, 2))  # the header and the first chunk of rows
    return chain(head, data), len(rows)


def _copy_with(
    cur: psycopg.Cursor,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[int],
    encoded: tuple[Iterator[bytes], int] | None,
) -> int:
    """COPY into `table` on `cur`: the `encoded` data if given, else `rows` one by one."""
    copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    written = 0
    with cur.copy(copy) as copier:
        if encoded is not None:
            data, count = encoded
            for chunk in data:
                copier.write(chunk)
            return count
        copier.set_types(types)
        for row in rows:
            copier.write_row(row)
            written += 1
    return written
