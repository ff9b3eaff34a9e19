"""`monthly_archive[month]`: each table's month as one zstd Parquet file, verified, then recorded.

For every archived table the month's rows are streamed from Postgres (a server-side cursor in
one REPEATABLE READ snapshot, so the count and the rows agree) in Arrow record batches into a
Parquet file with the table's declared schema. The file is published whole to the archive store
at `<root>/table=<name>/month=YYYY-MM/part-0.parquet`; its footer is then read back from the
store and its row count and schema checked against Postgres before the month is recorded in
`intel_archive_manifest`, the only thing retention trusts.
"""

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
from psycopg import sql

from intel_assets.defs.aggregation.common import COLLECTION_DEPS, markdown_preview
from intel_assets.defs.archive.tables import ARCHIVED_TABLES, ArchivedTable, record_batches
from intel_assets.partitions import monthly_partitions
from intel_assets.resources.archive import ArchiveError, ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope

MANIFEST_COLUMNS: tuple[str, ...] = (
    "table_name", "month", "object_url", "row_count", "size_bytes", "schema_fingerprint",
    "verified_at",
)  # fmt: skip
DEFAULT_BATCH_ROWS = 50_000


def schema_fingerprint(table: ArchivedTable) -> str:
    """A short hash of the declared schema: equal fingerprints, same columns and types."""
    return hashlib.sha256(table.schema.to_string(show_schema_metadata=False).encode()).hexdigest()[
        :16
    ]


@dataclass(frozen=True)
class TableMonthArchive:
    """What archiving one table's month did.

    Attributes:
        table: The table.
        month: First day of the month.
        archived: Whether a verified object now holds the month (and the manifest says so).
        row_count: Rows in the object (the rows Postgres held, when archived).
        size_bytes: Size of the object.
        object_url: Where the object is.
        seconds: Time taken.
        note: Why the month was not archived, if it was not.
    """

    table: str
    month: date
    archived: bool
    row_count: int
    size_bytes: int
    object_url: str
    seconds: float
    note: str = ""


def _archived_row_count(warehouse: PostgresWarehouse, table: str, month: date) -> int | None:
    rows = warehouse.fetch_dicts(
        "SELECT row_count FROM intel_archive_manifest WHERE table_name = %s AND month = %s",
        (table, month),
    )
    return int(rows[0]["row_count"]) if rows else None


def archive_table_month(
    warehouse: PostgresWarehouse,
    store: ArchiveStore,
    table: ArchivedTable,
    month: date,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> TableMonthArchive:
    """Write, publish, verify and record one table's month.

    A month that Postgres now holds fewer rows of than its verified archive (retention pruned
    it) is not rewritten: the archive is the only full copy. That is reported, not raised.

    Raises:
        ArchiveError: The object read back from the store is not the rows Postgres holds; the
            month is then not recorded as archived.
    """
    started = time.monotonic()
    month = month.replace(day=1)
    start, end = table.bounds(month)
    key = table.object_key(month)
    url = store.object_url(key)
    previous = _archived_row_count(warehouse, table.name, month)
    count_query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
        sql.Identifier(table.name), table.range_condition()
    )
    with store.new_object(key) as local:
        with warehouse.connection() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            counted = conn.execute(count_query, (start, end)).fetchone()
            expected = int(counted[0]) if counted else 0
            if previous is not None and expected < previous:
                # Leaving the block by exception would be an error; raise a private signal.
                raise _KeepPrevious(expected, previous)
            written = 0
            with pq.ParquetWriter(local, table.schema, compression="zstd") as writer:
                for batch in record_batches(
                    conn, warehouse.url, table, start, end, batch_rows=batch_rows
                ):
                    writer.write_batch(batch)
                    written += batch.num_rows
        if written != expected:
            raise ArchiveError(f"{table.name} {month:%Y-%m}: wrote {written} of {expected} rows")
    stored = store.stored_object(key)
    if stored.metadata.num_rows != expected:
        raise ArchiveError(
            f"{url}: footer says {stored.metadata.num_rows} rows, Postgres holds {expected}"
        )
    if not stored.metadata.schema.to_arrow_schema().equals(table.schema, check_metadata=False):
        raise ArchiveError(f"{url}: schema differs from the declared schema of {table.name}")
    warehouse.replace_rows(
        "intel_archive_manifest",
        MANIFEST_COLUMNS,
        [
            (
                table.name,
                month,
                url,
                expected,
                stored.size_bytes,
                schema_fingerprint(table),
                datetime.now(UTC),
            )
        ],
        scope=RowScope(equals={"table_name": table.name, "month": month}),
    )
    return TableMonthArchive(
        table=table.name,
        month=month,
        archived=True,
        row_count=expected,
        size_bytes=stored.size_bytes,
        object_url=url,
        seconds=round(time.monotonic() - started, 3),
    )


class _KeepPrevious(Exception):
    """Postgres holds fewer rows than the verified archive: keep the archive as it is."""

    def __init__(self, in_postgres: int, archived: int) -> None:
        super().__init__(f"Postgres holds {in_postgres} rows, the archive {archived}")
        self.in_postgres = in_postgres
        self.archived = archived


class MonthlyArchiveConfig(dg.Config):
    """How `monthly_archive` streams a month.

    Attributes:
        batch_rows: Rows per Arrow record batch (and Parquet row group); bounds memory.
    """

    batch_rows: int = DEFAULT_BATCH_ROWS


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[
        *COLLECTION_DEPS,
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
    config: MonthlyArchiveConfig,
    warehouse: PostgresWarehouse,
    archive: ArchiveStore,
) -> dg.MaterializeResult:
    """The month of every warehouse table as zstd Parquet in the archive (S3 or a folder).

    Hive-style keys `table=<name>/month=YYYY-MM/part-0.parquet` below the archive root, so
    DuckDB (`read_parquet('<root>/table=*/month=*/*.parquet', hive_partitioning = true)`) and
    pandas read them with no project code. A table whose object cannot be written or verified
    is not recorded in the manifest; the run then fails after trying every table.
    """
    month = context.partition_time_window.start.date()
    outcomes: list[TableMonthArchive] = []
    failures: dict[str, str] = {}
    for table in ARCHIVED_TABLES:
        started = time.monotonic()
        try:
            outcome = archive_table_month(
                warehouse, archive, table, month, batch_rows=config.batch_rows
            )
        except _KeepPrevious as kept:
            note = f"kept the verified archive: {kept}"
            context.log.warning(f"{table.name} {month:%Y-%m}: {note}")
            outcome = TableMonthArchive(
                table=table.name,
                month=month,
                archived=False,
                row_count=kept.archived,
                size_bytes=0,
                object_url=archive.object_url(table.object_key(month)),
                seconds=round(time.monotonic() - started, 3),
                note=note,
            )
        except Exception as error:
            # Try the other tables; this one stays unrecorded and the run fails below.
            context.log.error(f"{table.name} {month:%Y-%m} not archived: {error!r}")
            failures[table.name] = type(error).__name__
            continue
        context.log.info(
            f"{table.name} {month:%Y-%m}: {outcome.row_count} rows, {outcome.size_bytes} bytes "
            f"at {outcome.object_url}"
        )
        outcomes.append(outcome)
    summary = pd.DataFrame(
        [
            {
                "table": o.table,
                "archived": o.archived,
                "rows": o.row_count,
                "bytes": o.size_bytes,
                "seconds": o.seconds,
                "note": o.note,
            }
            for o in outcomes
        ]
    )
    metadata: dict[str, dg.RawMetadataValue] = {
        "month": dg.MetadataValue.text(f"{month:%Y-%m}"),
        "tables_archived": dg.MetadataValue.int(sum(o.archived for o in outcomes)),
        "dagster/row_count": dg.MetadataValue.int(sum(o.row_count for o in outcomes if o.archived)),
        "bytes_archived": dg.MetadataValue.int(sum(o.size_bytes for o in outcomes)),
        "archive_root": dg.MetadataValue.text(archive.object_url("")),
        "tables": markdown_preview(summary, rows=len(ARCHIVED_TABLES)),
    }
    for o in outcomes:
        metadata[f"rows_{o.table}"] = dg.MetadataValue.int(o.row_count)
    if failures:
        raise dg.Failure(
            description=f"not archived: {', '.join(f'{t} ({e})' for t, e in failures.items())}",
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)
