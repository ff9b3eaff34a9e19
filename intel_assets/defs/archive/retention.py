"""`retention`: prunes Postgres past the seed's windows, but only rows the archive holds.

Windows (configurable): hourly rows 7 days (the Twitch hourly statistics too), daily and
performance rows 90 days (the Twitch daily statistics, top streamers and channel growth too),
the quota log 30 days, snapshots 90 days. The Twitch monthly statistics, a row per game and
month, stay. Nothing is deleted on the strength of a date alone:

- Rows of the hourly, daily, performance and quota tables past their window are deleted month
  by month, and only where the month is in `intel_archive_manifest` and the archived object
  holds exactly the rows about to be deleted (compared row for row, read back from the store,
  in the same REPEATABLE READ transaction as the DELETE).
- Snapshot months wholly past their window are dropped as partitions (DETACH + DROP of
  `video_snapshots_YYYY_MM`, never row by row), and only where the archive holds every row:
  the manifest's row count, the archived month file's footer and the partition's row count
  agree, or else every day of the partition with rows has a verified day part
  (`intel_archive_parts`, its footer read back from the store) holding exactly that day's
  rows. A day counts as archived only through its verified part.

Everything kept because the archive lacks it (never archived, or changed since) is reported.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from intel_assets.defs.aggregation.common import markdown_preview
from intel_assets.defs.archive.monthly import current_parts, day_counts
from intel_assets.defs.archive.objects import recorded_rows
from intel_assets.defs.archive.tables import (
    CHANNEL_GROWTH,
    CHANNEL_PROJECTIONS,
    CHANNEL_SNAPSHOTS,
    DAILY_METRICS,
    DURATION_PERFORMANCE,
    HOURLY_METRICS,
    PREMIERE_PERFORMANCE,
    QUOTA_LOG,
    REGIONAL_PERFORMANCE,
    STREAM_SNAPSHOTS,
    TWITCH_BROADCASTER_GROWTH,
    TWITCH_CHANNEL_SNAPSHOTS,
    TWITCH_GAME_STATS,
    TWITCH_GAME_STATS_HOURLY,
    TWITCH_TOP_STREAMERS,
    TWITCH_VIDEO_SNAPSHOTS,
    VIDEO_SNAPSHOTS,
    ArchivedTable,
    record_batches,
)
from intel_assets.resources.archive import ArchiveError, ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse


class RetentionConfig(dg.Config):
    """How long each tier stays in Postgres.

    Attributes:
        hourly_days: Days of `intel_hourly_metrics` and `twitch_game_stats_hourly` (the seed's
            warm tier: 7).
        daily_days: Days of `intel_daily_metrics`, the three performance tables,
            `twitch_game_stats`, `twitch_game_top_streamers`, `channel_growth`,
            `channel_projections` and `twitch_broadcaster_growth` (90).
        quota_log_days: Days of `intel_quota_log` (30).
        snapshot_days: Days of snapshots; a month is dropped once all of it is older (the
            Twitch channel and video snapshots, plain tables, lose their older rows).
        as_of: ISO 8601 instant the windows are measured back from; empty means now.
    """

    hourly_days: int = 7
    daily_days: int = 90
    quota_log_days: int = 30
    snapshot_days: int = 90
    as_of: str = ""


@dataclass(frozen=True)
class PruneOutcome:
    """What retention did with one table's month.

    Attributes:
        table: The table.
        month: First day of the month.
        action: `deleted` (rows), `dropped` (a snapshot partition) or `kept`.
        rows: Rows deleted, dropped or kept.
        reason: Why rows were kept (empty otherwise).
    """

    table: str
    month: date
    action: str
    rows: int
    reason: str = ""


def _manifest(warehouse: PostgresWarehouse, table: str, month: date) -> int | None:
    rows = warehouse.fetch_dicts(
        "SELECT row_count FROM intel_archive_manifest WHERE table_name = %s AND month = %s",
        (table, month),
    )
    return int(rows[0]["row_count"]) if rows else None


def _in_range(rows: pa.Table, column: str, low: object, high: object) -> pa.Table:
    kind = rows.schema.field(column).type
    return rows.filter(
        (pc.field(column) >= pa.scalar(low, type=kind))
        & (pc.field(column) < pa.scalar(high, type=kind))
    )


def prune_table_rows(
    warehouse: PostgresWarehouse,
    store: ArchiveStore,
    table: ArchivedTable,
    cutoff: date | datetime,
) -> list[PruneOutcome]:
    """Delete the table's rows older than `cutoff` that the verified archive holds.

    Month by month: a month's old rows go only if the month is in the manifest and the
    archived object holds every one of them unchanged; otherwise they stay and are reported.
    """
    month_of = sql.SQL(
        "date_trunc('month', {c})::date" if table.is_date else
        "date_trunc('month', {c} AT TIME ZONE 'UTC')::date"
    ).format(c=sql.Identifier(table.time_column))  # fmt: skip
    months = warehouse.fetch_dicts(
        sql.SQL("SELECT {m} AS month, count(*) AS n FROM {t} WHERE {c} < %s GROUP BY 1 ORDER BY 1")
        .format(m=month_of, t=sql.Identifier(table.name), c=sql.Identifier(table.time_column)),
        (cutoff,),
    )  # fmt: skip
    outcomes = []
    for entry in months:
        month: date = entry["month"]
        start, end = table.bounds(month)
        high = min(end, cutoff)  # type: ignore[type-var]
        if _manifest(warehouse, table.name, month) is None:
            outcomes.append(
                PruneOutcome(table.name, month, "kept", entry["n"], "month not archived")
            )
            continue
        try:
            archived = store.read_table(table.object_key(month))
        except ArchiveError as error:
            outcomes.append(PruneOutcome(table.name, month, "kept", entry["n"], str(error)))
            continue
        with warehouse.connection() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            current = pa.Table.from_batches(
                list(record_batches(conn, warehouse.url, table, start, high, batch_rows=50_000)),
                schema=table.schema,
            )
            low = pc.call_function("min", [current[table.time_column]]).as_py()
            expected = _in_range(archived, table.time_column, low, high)
            if not current.equals(expected.cast(table.schema)):
                reason = (
                    f"archive differs: {current.num_rows} rows here, "
                    f"{expected.num_rows} archived in the same range"
                )
                outcomes.append(PruneOutcome(table.name, month, "kept", current.num_rows, reason))
                continue
            deleted = conn.execute(
                sql.SQL("DELETE FROM {} WHERE {}").format(
                    sql.Identifier(table.name), table.range_condition()
                ),
                (start, high),
            ).rowcount
        outcomes.append(PruneOutcome(table.name, month, "deleted", deleted))
    return outcomes


def _month_file_rows(
    warehouse: PostgresWarehouse, store: ArchiveStore, table: ArchivedTable, month: date
) -> tuple[int | None, int | None]:
    """The month's row count in the manifest and in its file's footer (None: missing)."""
    archived = recorded_rows(warehouse, "intel_archive_manifest", table.name, month)
    if archived is None:
        return None, None
    try:
        return archived, store.stored_object(table.object_key(month)).metadata.num_rows
    except ArchiveError:
        return archived, None


def _days_unarchived(
    conn: psycopg.Connection,
    warehouse: PostgresWarehouse,
    store: ArchiveStore,
    table: ArchivedTable,
    month: date,
) -> list[date]:
    """The partition's days with rows that no verified day part holds exactly."""
    start, end = table.bounds(month)
    counts = day_counts(conn, table, start, end)
    current = current_parts(warehouse, store, table, counts)
    return sorted(day for day in counts if day not in current)


def _keep_reason(
    conn: psycopg.Connection,
    warehouse: PostgresWarehouse,
    store: ArchiveStore,
    table: ArchivedTable,
    month: date,
    rows: int,
) -> str:
    """Why the partition must stay ("" if the archive holds every one of its rows).

    Either the month file holds them (the manifest's count, the file's footer and the partition
    agree), or every day of the partition with rows has a verified part holding that day's rows.
    """
    archived, footer_rows = _month_file_rows(warehouse, store, table, month)
    if archived is not None and rows == archived == footer_rows:
        return ""
    missing = _days_unarchived(conn, warehouse, store, table, month)
    if not missing:
        return ""
    if archived is None:
        month_note = "month not archived"
    elif footer_rows is None:
        month_note = "archived object missing or unreadable"
    else:
        month_note = f"{rows} rows here, {archived} in the manifest, {footer_rows} in the file"
    return f"{month_note}; {len(missing)} days without a verified part (first {missing[0]})"


def prune_snapshot_months(
    warehouse: PostgresWarehouse,
    store: ArchiveStore,
    table: ArchivedTable,
    cutoff: datetime,
) -> list[PruneOutcome]:
    """Drop the table's month partitions that end before `cutoff` and are archived.

    A partition goes only if the archive holds all its rows (`_keep_reason`): its month file,
    or a verified part for each of its days; a day counts only through its verified part.
    """
    children = warehouse.fetch_dicts(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY 1",
        (table.name,),
    )
    pattern = re.compile(rf"^{re.escape(table.name)}_(\d{{4}})_(\d{{2}})$")
    outcomes = []
    for child in children:
        match = pattern.match(child["name"])
        if match is None:
            continue
        month = date(int(match.group(1)), int(match.group(2)), 1)
        if table.bounds(month)[1] > cutoff:  # type: ignore[operator]
            continue
        partition = sql.Identifier(child["name"])
        with warehouse.connection() as conn:
            # No writer may add rows between the count and the drop.
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(partition))
            counted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(partition)).fetchone()
            rows = int(counted[0]) if counted else 0
            reason = _keep_reason(conn, warehouse, store, table, month, rows)
            if not reason:
                conn.execute(
                    sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
                        sql.Identifier(table.name), partition
                    )
                )
                conn.execute(sql.SQL("DROP TABLE {}").format(partition))
        action = "kept" if reason else "dropped"
        outcomes.append(PruneOutcome(table.name, month, action, rows, reason))
    return outcomes


def apply_retention(
    warehouse: PostgresWarehouse, store: ArchiveStore, config: RetentionConfig, as_of: datetime
) -> list[PruneOutcome]:
    """Prune every tier past its window as of `as_of`; what was deleted, dropped and kept."""
    today = as_of.astimezone(UTC).date()
    outcomes: list[PruneOutcome] = []
    for table in (HOURLY_METRICS, TWITCH_GAME_STATS_HOURLY):
        outcomes += prune_table_rows(
            warehouse, store, table, as_of - timedelta(days=config.hourly_days)
        )
    for table in (
        DAILY_METRICS,
        DURATION_PERFORMANCE,
        REGIONAL_PERFORMANCE,
        PREMIERE_PERFORMANCE,
        TWITCH_GAME_STATS,
        TWITCH_TOP_STREAMERS,
        CHANNEL_GROWTH,
        TWITCH_BROADCASTER_GROWTH,
        CHANNEL_PROJECTIONS,
    ):
        outcomes += prune_table_rows(
            warehouse, store, table, today - timedelta(days=config.daily_days)
        )
    outcomes += prune_table_rows(
        warehouse, store, QUOTA_LOG, as_of - timedelta(days=config.quota_log_days)
    )
    for table in (VIDEO_SNAPSHOTS, STREAM_SNAPSHOTS, CHANNEL_SNAPSHOTS):
        outcomes += prune_snapshot_months(
            warehouse, store, table, as_of - timedelta(days=config.snapshot_days)
        )
    # Twitch's channel and video snapshots are few rows: plain tables, pruned row by row.
    for table in (TWITCH_CHANNEL_SNAPSHOTS, TWITCH_VIDEO_SNAPSHOTS):
        outcomes += prune_table_rows(
            warehouse, store, table, as_of - timedelta(days=config.snapshot_days)
        )
    return outcomes


@dg.asset(deps=["daily_archive", "monthly_archive"], kinds={"postgres"}, group_name="archive")
def retention(
    context: dg.AssetExecutionContext,
    config: RetentionConfig,
    warehouse: PostgresWarehouse,
    archive: ArchiveStore,
) -> dg.MaterializeResult:
    """The warehouse pruned to its retention windows, never past what the archive holds.

    Each materialization reports what it deleted (rows), dropped (snapshot partitions) and
    kept because the archive lacks it, per table and month.
    """
    as_of = datetime.fromisoformat(config.as_of) if config.as_of else datetime.now(UTC)
    if as_of.tzinfo is None:
        raise dg.Failure(description=f"as_of {config.as_of!r} needs a UTC offset")
    outcomes = apply_retention(warehouse, archive, config, as_of)
    for o in outcomes:
        message = f"retention {o.table} {o.month:%Y-%m}: {o.action} {o.rows} rows"
        if o.action == "kept":
            context.log.warning(f"{message} ({o.reason})")
        else:
            context.log.info(message)
    report = pd.DataFrame(
        [
            {"table": o.table, "month": f"{o.month:%Y-%m}", "action": o.action, "rows": o.rows,
             "reason": o.reason}
            for o in outcomes
        ]
    )  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "as_of": dg.MetadataValue.text(as_of.isoformat()),
            "rows_deleted": dg.MetadataValue.int(
                sum(o.rows for o in outcomes if o.action == "deleted")
            ),
            "partitions_dropped": dg.MetadataValue.int(
                sum(o.action == "dropped" for o in outcomes)
            ),
            "snapshot_rows_dropped": dg.MetadataValue.int(
                sum(o.rows for o in outcomes if o.action == "dropped")
            ),
            "rows_kept_unarchived": dg.MetadataValue.int(
                sum(o.rows for o in outcomes if o.action == "kept")
            ),
            "report": markdown_preview(report, rows=max(len(report), 1)),
        }
    )
