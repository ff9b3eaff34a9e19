"""`monthly_archive[month]`: each table's month as one zstd Parquet file, verified, then recorded.

The snapshot tables were archived day by day as each day closed (`daily_archive`): their month
file is compacted from the month's verified day parts, row group by row group, in day order
(key order within each day). A day whose part is missing, unreadable or no longer holds the
rows Postgres holds (its count differs) is read from Postgres instead, in the same snapshot. The
other tables are small and change during the month (rollups are recomputed); their month is
streamed from Postgres (a server-side cursor in one REPEATABLE READ snapshot, so the count and
the rows agree) in Arrow record batches. Each file is published whole to the archive store at
`<root>/table=<name>/month=YYYY-MM/part-0.parquet`; its footer is then read back from the
store and its row count and schema checked against Postgres before the month is recorded in
`intel_archive_manifest`, the only thing retention trusts for a month.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

import dagster as dg
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

from intel_assets.contracts.tables import ARCHIVE_MANIFEST_COLUMNS
from intel_assets.defs.aggregation.common import COLLECTION_DEPS
from intel_assets.defs.archive.daily import day_bounds, part_key
from intel_assets.defs.archive.objects import (
    DEFAULT_BATCH_ROWS,
    ArchiveConfig,
    ArchivedObject,
    KeepPrevious,
    archive_each,
    archive_metadata,
    record_object,
    recorded_rows,
    schema_fingerprint,
    verify_object,
    write_parquet,
)
from intel_assets.defs.archive.tables import ARCHIVED_TABLES, ArchivedTable, record_batches
from intel_assets.partitions import monthly_partitions
from intel_assets.resources.archive import ArchiveError, ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse

__all__ = ["monthly_archive", "schema_fingerprint"]


@dataclass
class MonthSource:
    """Where a month's rows come from: how many there are, and their batches in file order.

    Attributes:
        expected: Rows Postgres holds for the month (in the reading transaction's snapshot).
        batches: The month's record batches, in the order the file holds them.
        days_from_parts: Days whose rows come from verified day parts.
    """

    expected: int
    batches: Callable[[], Iterator[pa.RecordBatch]]
    days_from_parts: int = 0


def day_counts(
    conn: psycopg.Connection, table: ArchivedTable, start: date | datetime, end: date | datetime
) -> dict[date, int]:
    """Rows per UTC day of the table's time column in `[start, end)`, as `conn` sees them."""
    query = sql.SQL(
        "SELECT ({c} AT TIME ZONE 'UTC')::date, count(*) FROM {t} "
        "WHERE {c} >= %s AND {c} < %s GROUP BY 1"
    ).format(c=sql.Identifier(table.time_column), t=sql.Identifier(table.name))
    return {day: int(n) for day, n in conn.execute(query, (start, end)).fetchall()}


def current_parts(
    warehouse: PostgresWarehouse, store: ArchiveStore, table: ArchivedTable, counts: dict[date, int]
) -> set[date]:
    """The days of `counts` whose recorded part still holds exactly the day's rows.

    A part counts when `intel_archive_parts` records it with the declared schema and the day's
    row count, and its footer, read back from the store, agrees.
    """
    recorded = warehouse.fetch_dicts(
        "SELECT day, row_count FROM intel_archive_parts "
        "WHERE table_name = %s AND day = ANY(%s) AND schema_fingerprint = %s",
        (table.name, list(counts), schema_fingerprint(table)),
    )
    current = set()
    for row in recorded:
        day = row["day"]
        if int(row["row_count"]) != counts[day]:
            continue
        try:
            verify_object(store, table, part_key(table, day), counts[day])
        except ArchiveError:
            continue
        current.add(day)
    return current


def _part_batches(
    store: ArchiveStore, table: ArchivedTable, day: date, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    with store.local_copy(part_key(table, day)) as path:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
            yield pa.RecordBatch.from_arrays(batch.columns, schema=table.schema)


def month_source(
    conn: psycopg.Connection,
    warehouse: PostgresWarehouse,
    store: ArchiveStore,
    table: ArchivedTable,
    month: date,
    batch_rows: int,
) -> MonthSource:
    """The month's rows: from verified day parts where current, else from Postgres."""
    start, end = table.bounds(month)
    if not table.partitioned:
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
            sql.Identifier(table.name), table.range_condition()
        )
        counted = conn.execute(count, (start, end)).fetchone()
        return MonthSource(
            int(counted[0]) if counted else 0,
            lambda: record_batches(conn, warehouse.url, table, start, end, batch_rows=batch_rows),
        )
    counts = day_counts(conn, table, start, end)
    from_parts = current_parts(warehouse, store, table, counts) if counts else set()

    def batches() -> Iterator[pa.RecordBatch]:
        for day in sorted(counts):
            if day in from_parts:
                yield from _part_batches(store, table, day, batch_rows)
            else:
                low, high = day_bounds(day)
                yield from record_batches(
                    conn, warehouse.url, table, low, high, batch_rows=batch_rows
                )

    return MonthSource(sum(counts.values()), batches, len(from_parts))


def archive_table_month(
    warehouse: PostgresWarehouse,
    store: ArchiveStore,
    table: ArchivedTable,
    month: date,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> ArchivedObject:
    """Write, publish, verify and record one table's month.

    A month that Postgres now holds fewer rows of than its verified archive (retention pruned
    it) is not rewritten: the archive is the only full copy.

    Raises:
        KeepPrevious: Postgres holds fewer rows than the verified month file.
        ArchiveError: The object read back from the store is not the rows Postgres holds; the
            month is then not recorded as archived.
    """
    started = time.monotonic()
    month = month.replace(day=1)
    key = table.object_key(month)
    previous = recorded_rows(warehouse, "intel_archive_manifest", table.name, month)
    with store.new_object(key) as local:
        with warehouse.connection() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            source = month_source(conn, warehouse, store, table, month, batch_rows)
            if previous is not None and source.expected < previous:
                raise KeepPrevious(source.expected, previous)
            written = write_parquet(local, table.schema, source.batches())
        if written != source.expected:
            raise ArchiveError(
                f"{table.name} {month:%Y-%m}: wrote {written} of {source.expected} rows"
            )
    stored = verify_object(store, table, key, source.expected)
    record_object(
        warehouse, "intel_archive_manifest", ARCHIVE_MANIFEST_COLUMNS, table, month, stored
    )
    return ArchivedObject(
        table=table.name,
        period=month,
        archived=True,
        row_count=source.expected,
        size_bytes=stored.size_bytes,
        object_url=stored.url,
        seconds=round(time.monotonic() - started, 3),
        days_from_parts=source.days_from_parts,
    )


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[
        *COLLECTION_DEPS,
        "daily_archive",
        "hourly_metrics",
        "daily_rollup",
        "duration_performance",
        "regional_performance",
        "premiere_performance",
        "twitch_game_stats",
        "twitch_game_stats_monthly",
        "channel_growth",
        "twitch_broadcaster_growth",
        "channel_projections",
        dg.AssetDep("twitch_channels", partition_mapping=dg.AllPartitionMapping()),
    ],
    kinds={"parquet", "s3", "postgres"},
    group_name="archive",
)
def monthly_archive(
    context: dg.AssetExecutionContext,
    config: ArchiveConfig,
    warehouse: PostgresWarehouse,
    archive: ArchiveStore,
) -> dg.MaterializeResult:
    """The month of every warehouse table as zstd Parquet in the archive (S3 or a folder).

    Hive-style keys `table=<name>/month=YYYY-MM/part-0.parquet` below the archive root, so
    DuckDB (`read_parquet('<root>/table=*/month=*/*.parquet', hive_partitioning = true)`) and
    pandas read them with no project code. The snapshot tables' files are compacted from their
    verified day parts. A table whose object cannot be written or verified is not recorded in
    the manifest; the run then fails after trying every table.
    """
    month = context.partition_time_window.start.date()
    outcomes, failures = archive_each(
        context,
        month,
        ARCHIVED_TABLES,
        lambda t: archive_table_month(warehouse, archive, t, month, batch_rows=config.batch_rows),
        lambda t: archive.object_url(t.object_key(month)),
    )
    metadata = archive_metadata(outcomes, failures, len(ARCHIVED_TABLES))
    metadata["month"] = dg.MetadataValue.text(f"{month:%Y-%m}")
    metadata["archive_root"] = dg.MetadataValue.text(archive.object_url(""))
    metadata["days_from_parts"] = dg.MetadataValue.int(sum(o.days_from_parts for o in outcomes))
    return dg.MaterializeResult(metadata=metadata)
