"""The checks of the monthly archive and of retention, read back from the store and Postgres.

`monthly_archive` (one step, the month of the run; run alone, the latest archived month):
- `monthly_archive_row_counts_match_postgres` (blocking): for every archived table, the
  manifest records the month, the object's Parquet footer (read from the store) holds the
  manifest's row count, and Postgres holds that many rows of the month. Postgres may hold fewer
  once retention has pruned the month (reported as `tables_pruned_since`), never more: rows
  missing from the archive are the failure that matters.
- `monthly_archive_matches_declared_schema` (blocking): every object's Parquet schema is the
  table's declared Arrow schema, and the manifest's schema fingerprint is that schema's.

`retention`:
- `retention_kept_every_unarchived_snapshot_month`: every month the video or stream snapshots
  had rows in, as the rollups still in Postgres tell (hourly or daily rows with videos, hourly
  rows with streams), is still a partition in Postgres or archived. Retention drops a snapshot
  month only once it is archived; a month gone from both is data lost. Channel snapshots have
  no such witness and are not covered. Not blocking: retention has nothing downstream.
"""

from collections.abc import Iterator
from datetime import date

import dagster as dg
from psycopg import sql

from intel_assets.defs.archive.monthly import monthly_archive, schema_fingerprint
from intel_assets.defs.archive.retention import retention
from intel_assets.defs.archive.tables import ARCHIVED_TABLES, ArchivedTable
from intel_assets.defs.check_helpers import (
    check_result,
    is_selected,
    not_evaluated,
    run_time_window,
)
from intel_assets.partitions import monthly_partitions
from intel_assets.resources.archive import ArchiveError, ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse

ROW_COUNTS_MATCH = dg.AssetCheckSpec(
    "monthly_archive_row_counts_match_postgres",
    asset=monthly_archive,
    partitions_def=monthly_partitions,
    blocking=True,
    description="Every table's month is in the manifest, its object holds the manifest's row "
    "count, and Postgres holds as many rows (fewer only once retention pruned them).",
)
SCHEMA_AS_DECLARED = dg.AssetCheckSpec(
    "monthly_archive_matches_declared_schema",
    asset=monthly_archive,
    partitions_def=monthly_partitions,
    blocking=True,
    description="Every object's Parquet schema is the table's declared schema, and the "
    "manifest records that schema's fingerprint.",
)
SNAPSHOT_MONTHS_KEPT = dg.AssetCheckSpec(
    "retention_kept_every_unarchived_snapshot_month",
    asset=retention,
    description="Every month the video or stream snapshots had rows in (as the rollups tell) "
    "is still a partition in Postgres or archived.",
)
SNAPSHOT_TABLES = tuple(t for t in ARCHIVED_TABLES if t.partitioned)


def _manifest(warehouse: PostgresWarehouse, month: date) -> dict[str, dict]:
    rows = warehouse.fetch_dicts(
        "SELECT table_name, row_count, schema_fingerprint FROM intel_archive_manifest"
        " WHERE month = %s",
        (month,),
    )
    return {str(r["table_name"]): r for r in rows}


def postgres_rows(warehouse: PostgresWarehouse, table: ArchivedTable, month: date) -> int:
    """Rows of the table's month in Postgres now."""
    start, end = table.bounds(month)
    rows = warehouse.fetch_dicts(
        sql.SQL("SELECT count(*) AS n FROM {} WHERE {}").format(
            sql.Identifier(table.name), table.range_condition()
        ),
        (start, end),
    )
    return int(rows[0]["n"])


def _row_count_problems(
    warehouse: PostgresWarehouse,
    month: date,
    manifest: dict[str, dict],
    footers: dict[str, tuple[int, bool] | str],
) -> tuple[list[str], int, int]:
    """Where the month's object, manifest and Postgres disagree, per table.

    Returns:
        The problems, the rows archived, and how many tables Postgres holds fewer rows of than
        the archive (pruned since).
    """
    problems: list[str] = []
    pruned = 0
    archived_rows = 0
    for table in ARCHIVED_TABLES:
        recorded = manifest.get(table.name)
        footer = footers[table.name]
        if recorded is None:
            problems.append(f"{table.name}: the manifest has no {month:%Y-%m}")
            continue
        if isinstance(footer, str):
            problems.append(f"{table.name}: {footer}")
            continue
        in_postgres = postgres_rows(warehouse, table, month)
        archived_rows += footer[0]
        if footer[0] != recorded["row_count"]:
            problems.append(
                f"{table.name}: the object holds {footer[0]} rows, the manifest says "
                f"{recorded['row_count']}"
            )
        elif in_postgres > footer[0]:
            problems.append(
                f"{table.name}: Postgres holds {in_postgres} rows of {month:%Y-%m}, the "
                f"archive {footer[0]}"
            )
        elif in_postgres < footer[0]:
            pruned += 1
    return problems, archived_rows, pruned


@dg.multi_asset_check(
    specs=[ROW_COUNTS_MATCH, SCHEMA_AS_DECLARED], can_subset=True, name="monthly_archive_checks"
)
def monthly_archive_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse, archive: ArchiveStore
) -> Iterator[dg.AssetCheckResult]:
    """The archived objects of the run's month, read back from the store, against Postgres."""
    window = run_time_window(context, monthly_archive.key, monthly_partitions)
    selected = [s for s in (ROW_COUNTS_MATCH, SCHEMA_AS_DECLARED) if is_selected(context, s)]
    if window is None:
        for spec in selected:
            yield not_evaluated(spec, "monthly_archive has no archived month")
        return
    month = window.start.date()
    manifest = _manifest(warehouse, month)
    footers: dict[str, tuple[int, bool] | str] = {}
    for table in ARCHIVED_TABLES:
        try:
            stored = archive.stored_object(table.object_key(month))
        except ArchiveError as error:
            footers[table.name] = str(error)
            continue
        schema = stored.metadata.schema.to_arrow_schema()
        footers[table.name] = (stored.metadata.num_rows, schema.equals(table.schema))
    metadata = {
        "month": dg.MetadataValue.text(f"{month:%Y-%m}"),
        "tables_checked": dg.MetadataValue.int(len(ARCHIVED_TABLES)),
    }
    if ROW_COUNTS_MATCH in selected:
        problems, archived_rows, pruned = _row_count_problems(warehouse, month, manifest, footers)
        yield check_result(
            ROW_COUNTS_MATCH,
            problems,
            {
                **metadata,
                "rows_archived": dg.MetadataValue.int(archived_rows),
                "tables_pruned_since": dg.MetadataValue.int(pruned),
            },
        )
    if SCHEMA_AS_DECLARED in selected:
        problems = []
        for table in ARCHIVED_TABLES:
            footer = footers[table.name]
            recorded = manifest.get(table.name)
            if isinstance(footer, str):
                problems.append(f"{table.name}: {footer}")
            elif not footer[1]:
                problems.append(f"{table.name}: the object's schema is not the declared one")
            if recorded is not None and recorded["schema_fingerprint"] != schema_fingerprint(table):
                problems.append(f"{table.name}: the manifest's schema fingerprint differs")
        yield check_result(SCHEMA_AS_DECLARED, problems, metadata)


def _partitions(warehouse: PostgresWarehouse) -> set[tuple[str, date]]:
    """(snapshot table, month) of every month partition Postgres holds."""
    rows = warehouse.fetch_dicts(
        "SELECT p.relname AS name FROM pg_inherits AS i JOIN pg_class AS p ON p.oid = i.inhrelid"
        " WHERE i.inhparent = ANY(%s::regclass[])",
        ([t.name for t in SNAPSHOT_TABLES],),
    )
    found = set()
    for row in rows:
        table, year, month = str(row["name"]).rsplit("_", 2)
        if year.isdigit() and month.isdigit():
            found.add((table, date(int(year), int(month), 1)))
    return found


def _archived(warehouse: PostgresWarehouse) -> set[tuple[str, date]]:
    """(snapshot table, month) of every snapshot month the manifest or a day part records.

    Retention drops a month on the strength of its day parts only when every day with rows has
    a verified part, so a month with parts recorded is in the archive.
    """
    rows = warehouse.fetch_dicts(
        "SELECT table_name, month FROM intel_archive_manifest WHERE table_name = ANY(%s)"
        " UNION SELECT table_name, date_trunc('month', day)::date FROM intel_archive_parts"
        " WHERE table_name = ANY(%s)",
        ([t.name for t in SNAPSHOT_TABLES], [t.name for t in SNAPSHOT_TABLES]),
    )
    return {(str(r["table_name"]), r["month"]) for r in rows}


def _witnessed_months(warehouse: PostgresWarehouse) -> dict[str, set[date]]:
    """Months each snapshot table had rows in, as the rollups still in Postgres tell."""
    rows = warehouse.fetch_dicts(
        "SELECT 'video_snapshots' AS table_name,"
        " date_trunc('month', hour_start AT TIME ZONE 'UTC')::date AS month"
        " FROM intel_hourly_metrics WHERE video_count > 0"
        " UNION SELECT 'video_snapshots', date_trunc('month', date)::date"
        " FROM intel_daily_metrics WHERE total_videos_seen > 0"
        " UNION SELECT 'stream_snapshots',"
        " date_trunc('month', hour_start AT TIME ZONE 'UTC')::date"
        " FROM intel_hourly_metrics WHERE twitch_stream_count > 0"
    )
    months: dict[str, set[date]] = {"video_snapshots": set(), "stream_snapshots": set()}
    for row in rows:
        months[str(row["table_name"])].add(row["month"])
    return months


@dg.multi_asset_check(specs=[SNAPSHOT_MONTHS_KEPT], name="retention_checks")
def retention_checks(warehouse: PostgresWarehouse) -> Iterator[dg.AssetCheckResult]:
    """Every snapshot month the rollups know of, in Postgres or in the archive."""
    archived = _archived(warehouse)
    covered = _partitions(warehouse) | archived
    months = _witnessed_months(warehouse)
    problems = [
        f"{table} {month:%Y-%m}: neither in Postgres nor in the archive"
        for table, table_months in sorted(months.items())
        for month in sorted(table_months)
        if (table, month) not in covered
    ]
    yield check_result(
        SNAPSHOT_MONTHS_KEPT,
        problems,
        {
            "snapshot_months_checked": dg.MetadataValue.int(sum(map(len, months.values()))),
            "snapshot_months_archived": dg.MetadataValue.int(len(archived)),
        },
    )
