"""`daily_archive[day]`: each snapshot table's UTC day as one zstd Parquet part, verified.

The snapshot tables hold nearly all of a month's rows, and a month read at once from Postgres
takes longer than writing it. So each day is archived as it closes: the day's rows are streamed
in key order (as the monthly archive streams a month) into a part at
`<root>/parts/table=<name>/day=YYYY-MM-DD/part-0.parquet`, read back from the store, checked
against Postgres and recorded in `intel_archive_parts`. The archive lags a day instead of a
month, DuckDB reads the parts with no project code, and the monthly archive only compacts the
month's parts into the month file. Re-running a day rewrites its parts with the same rows.
"""

import time
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from intel_assets.contracts.tables import ARCHIVE_PARTS_COLUMNS
from intel_assets.defs.aggregation.common import COLLECTION_DEPS
from intel_assets.defs.archive.objects import (
    DEFAULT_BATCH_ROWS,
    ArchiveConfig,
    ArchivedObject,
    KeepPrevious,
    archive_each,
    archive_metadata,
    record_object,
    recorded_rows,
    verify_object,
    write_parquet,
)
from intel_assets.defs.archive.tables import ARCHIVED_TABLES, ArchivedTable, record_batches
from intel_assets.partitions import daily_partitions
from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse

DAILY_PART_TABLES: tuple[ArchivedTable, ...] = tuple(t for t in ARCHIVED_TABLES if t.partitioned)
"""The tables archived a day at a time: the month-partitioned snapshot tables."""


def part_key(table: ArchivedTable, day: date) -> str:
    """The Hive-style key of the table's day part below the archive root."""
    return f"parts/table={table.name}/day={day:%Y-%m-%d}/part-0.parquet"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The half-open UTC range `[start, end)` of `day`."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def archive_table_day(
    warehouse: PostgresWarehouse,
    store: ArchiveStore,
    table: ArchivedTable,
    day: date,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> ArchivedObject:
    """Write, publish, verify and record one table's day part.

    The day is read in one query of exactly its range (`record_batches`) in a REPEATABLE READ
    transaction, so the rows read are the rows Postgres holds for the day: the part's footer,
    read back from the store, must hold that many, and no separate count reads the day again.

    Raises:
        KeepPrevious: Postgres holds fewer of the day's rows than its verified part; the part
            is then not rewritten.
        ArchiveError: The part read back from the store is not the rows Postgres holds; the
            day is then not recorded.
    """
    started = time.monotonic()
    start, end = day_bounds(day)
    key = part_key(table, day)
    previous = recorded_rows(warehouse, "intel_archive_parts", table.name, day)
    with store.new_object(key) as local:
        with warehouse.connection() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            batches = record_batches(conn, warehouse.url, table, start, end, batch_rows=batch_rows)
            expected = write_parquet(local, table.schema, batches)
        # Raised inside the block: the new part is then never published.
        if previous is not None and expected < previous:
            raise KeepPrevious(expected, previous)
    stored = verify_object(store, table, key, expected)
    record_object(warehouse, "intel_archive_parts", ARCHIVE_PARTS_COLUMNS, table, day, stored)
    seconds = round(time.monotonic() - started, 3)
    return ArchivedObject(table.name, day, True, expected, stored.size_bytes, stored.url, seconds)


@dg.asset(
    partitions_def=daily_partitions,
    deps=list(COLLECTION_DEPS),
    kinds={"parquet", "s3", "postgres"},
    group_name="archive",
)
def daily_archive(
    context: dg.AssetExecutionContext,
    config: ArchiveConfig,
    warehouse: PostgresWarehouse,
    archive: ArchiveStore,
) -> dg.MaterializeResult:
    """The day of every snapshot table as a verified zstd Parquet part in the archive.

    Hive-style keys `parts/table=<name>/day=YYYY-MM-DD/part-0.parquet` below the archive root:
    DuckDB reads `read_parquet('<root>/parts/table=video_snapshots/day=*/*.parquet',
    hive_partitioning = true)` with no project code. A table whose part cannot be written or
    verified is not recorded; the run then fails after trying every table.
    """
    day = context.partition_time_window.start.date()
    outcomes, failures = archive_each(
        context,
        day,
        DAILY_PART_TABLES,
        lambda t: archive_table_day(warehouse, archive, t, day, batch_rows=config.batch_rows),
        lambda t: archive.object_url(part_key(t, day)),
    )
    metadata = archive_metadata(outcomes, failures, len(DAILY_PART_TABLES))
    metadata["day"] = dg.MetadataValue.text(day.isoformat())
    return dg.MaterializeResult(metadata=metadata)
