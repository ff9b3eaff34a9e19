"""What the daily parts and the monthly archive share: writing, verifying and recording objects.

An object (a day's part or a month's file) is written locally, published whole to the archive
store, read back from the store (its Parquet footer) and checked against the rows Postgres held
when it was written; only then is it recorded (`intel_archive_parts` for a day,
`intel_archive_manifest` for a month), and retention trusts nothing else.
"""

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

from intel_assets.defs.aggregation.common import markdown_preview
from intel_assets.defs.archive.tables import ArchivedTable
from intel_assets.resources.archive import ArchiveError, ArchiveStore, StoredObject
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope

DEFAULT_BATCH_ROWS = 50_000


def schema_fingerprint(table: ArchivedTable) -> str:
    """A short hash of the declared schema: equal fingerprints, same columns and types."""
    text = table.schema.to_string(show_schema_metadata=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class KeepPrevious(Exception):
    """Postgres holds fewer rows than the verified object: keep the object as it is.

    Retention pruned the rows, so the archive is their only full copy.
    """

    def __init__(self, in_postgres: int, archived: int) -> None:
        super().__init__(f"Postgres holds {in_postgres} rows, the archive {archived}")
        self.in_postgres = in_postgres
        self.archived = archived


def write_parquet(path: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
    """Write `batches` (one Parquet row group each) as zstd Parquet at `path`; rows written."""
    written = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
            written += batch.num_rows
    return written


def verify_object(
    store: ArchiveStore, table: ArchivedTable, key: str, expected: int
) -> StoredObject:
    """The stored object at `key`, after checking its footer against `expected` rows and schema.

    Raises:
        ArchiveError: The object is missing, unreadable, or not the rows Postgres holds.
    """
    stored = store.stored_object(key)
    if stored.metadata.num_rows != expected:
        raise ArchiveError(
            f"{stored.url}: footer says {stored.metadata.num_rows} rows, Postgres holds {expected}"
        )
    if not stored.metadata.schema.to_arrow_schema().equals(table.schema, check_metadata=False):
        raise ArchiveError(f"{stored.url}: schema differs from the declared schema of {table.name}")
    return stored


def recorded_rows(
    warehouse: PostgresWarehouse, register: str, table: str, when: date
) -> int | None:
    """The row count `register` (manifest or parts) records for the table's month or day."""
    period = {"intel_archive_manifest": "month", "intel_archive_parts": "day"}[register]
    query = sql.SQL("SELECT row_count FROM {} WHERE table_name = %s AND {} = %s").format(
        sql.Identifier(register), sql.Identifier(period)
    )
    rows = warehouse.fetch_dicts(query, (table, when))
    return int(rows[0]["row_count"]) if rows else None


def record_object(
    warehouse: PostgresWarehouse,
    register: str,
    columns: Sequence[str],
    table: ArchivedTable,
    when: date,
    stored: StoredObject,
) -> None:
    """Record a verified object in `register` (replacing the row of the same table and period)."""
    period = columns[1]
    warehouse.replace_rows(
        register,
        columns,
        [
            (
                table.name,
                when,
                stored.url,
                stored.metadata.num_rows,
                stored.size_bytes,
                schema_fingerprint(table),
                datetime.now(UTC),
            )
        ],
        scope=RowScope(equals={"table_name": table.name, period: when}),
    )


class ArchiveConfig(dg.Config):
    """How the daily and monthly archives stream their rows.

    Attributes:
        batch_rows: Rows per Arrow record batch (and Parquet row group); bounds memory.
    """

    batch_rows: int = DEFAULT_BATCH_ROWS


@dataclass(frozen=True)
class ArchivedObject:
    """What archiving one table's day or month did.

    Attributes:
        table: The table.
        period: The day, or the first day of the month.
        archived: Whether a verified object now holds the period (and its register says so).
        row_count: Rows in the object (the rows Postgres held, when archived).
        size_bytes: Size of the object.
        object_url: Where the object is.
        seconds: Time taken.
        note: Why the period was not rewritten, if it was not.
        days_from_parts: For a month, the days copied from their verified day parts.
    """

    table: str
    period: date
    archived: bool
    row_count: int
    size_bytes: int
    object_url: str
    seconds: float
    note: str = ""
    days_from_parts: int = 0


def archive_each(
    context: dg.AssetExecutionContext,
    period: date,
    tables: Sequence[ArchivedTable],
    archive_one: Callable[[ArchivedTable], ArchivedObject],
    url_of: Callable[[ArchivedTable], str],
) -> tuple[list[ArchivedObject], dict[str, str]]:
    """Archive every table, going on past failures; what each did, and the failures' errors.

    A table whose rows Postgres no longer fully holds keeps its verified object (reported, not
    failed); any other error leaves the table unrecorded and is returned by table name.
    """
    outcomes: list[ArchivedObject] = []
    failures: dict[str, str] = {}
    for table in tables:
        started = time.monotonic()
        try:
            outcome = archive_one(table)
        except KeepPrevious as kept:
            note = f"kept the verified archive: {kept}"
            context.log.warning(f"{table.name}: {note}")
            seconds = round(time.monotonic() - started, 3)
            outcome = ArchivedObject(
                table.name, period, False, kept.archived, 0, url_of(table), seconds, note
            )
        except Exception as error:
            context.log.error(f"{table.name} not archived: {error!r}")
            failures[table.name] = type(error).__name__
            continue
        context.log.info(
            f"{table.name} {outcome.period}: {outcome.row_count} rows, {outcome.size_bytes} "
            f"bytes at {outcome.object_url}"
        )
        outcomes.append(outcome)
    return outcomes, failures


def archive_metadata(
    outcomes: Sequence[ArchivedObject], failures: Mapping[str, str], tables: int
) -> dict[str, Any]:
    """The materialization's metadata: totals, and a table of what each table's object holds."""
    summary = pd.DataFrame(
        [
            {"table": o.table, "archived": o.archived, "rows": o.row_count, "bytes": o.size_bytes,
             "seconds": o.seconds, "days_from_parts": o.days_from_parts, "note": o.note}
            for o in outcomes
        ]
    )  # fmt: skip
    metadata: dict[str, Any] = {
        "tables_archived": dg.MetadataValue.int(sum(o.archived for o in outcomes)),
        "dagster/row_count": dg.MetadataValue.int(sum(o.row_count for o in outcomes if o.archived)),
        "bytes_archived": dg.MetadataValue.int(sum(o.size_bytes for o in outcomes)),
        "tables": markdown_preview(summary, rows=tables),
    }
    for o in outcomes:
        metadata[f"rows_{o.table}"] = dg.MetadataValue.int(o.row_count)
    if failures:
        raise dg.Failure(
            description=f"not archived: {', '.join(f'{t} ({e})' for t, e in failures.items())}",
            metadata=metadata,
        )
    return metadata
