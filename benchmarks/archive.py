"""The monthly archive of 20 million snapshot rows to S3 (moto), against pyarrow writing them.

A month of `video_snapshots` (see `data.py`) is archived by `monthly_archive` in a child
process (in-process `dg.materialize` there), so its peak memory (the child's maximum resident
set) is the archive's alone; moto's S3 server runs in another process, standing in for S3. The
reference, in a third process, is pyarrow writing the very same rows from memory into a local
zstd Parquet file: the archive's own file is read back one row group at a time (not timed) and
only `ParquetWriter.write_table` is timed, so it is the floor of any Parquet archive of these
rows: no database read, no upload, no verification.
"""

import multiprocessing
import queue
import resource
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks import environment
from benchmarks.data import insert_video_snapshots
from benchmarks.harness import check
from benchmarks.measure import rate, row, seconds, times

MONTH = datetime(2026, 3, 1, tzinfo=UTC)
MONTH_KEY = "2026-03-01"
BUCKET = "intel-bench"
GIB = 2**30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _s3(endpoint: str) -> Any:
    from dagster_aws.s3 import S3Resource

    return S3Resource(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def archive_in_child(url: str, endpoint: str, results: Any) -> None:
    """The child process: run `monthly_archive` for the month; send time, rows and peak RSS."""
    import dagster as dg

    from intel_assets.defs.archive.monthly import monthly_archive
    from intel_assets.resources.archive import ArchiveStore
    from intel_assets.resources.warehouse import PostgresWarehouse

    warehouse = PostgresWarehouse(url=url)
    store = ArchiveStore(url=f"s3://{BUCKET}/archive", s3=_s3(endpoint))
    started = time.perf_counter()
    result = dg.materialize(
        [monthly_archive],
        partition_key=MONTH_KEY,
        resources={"warehouse": warehouse, "archive": store},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    elapsed = time.perf_counter() - started
    rows = warehouse.fetch_dicts(
        "SELECT row_count FROM intel_archive_manifest WHERE table_name = 'video_snapshots'"
    )
    warehouse.close()
    results.put(
        {
            "success": result.success,
            "seconds": elapsed,
            "rows": int(rows[0]["row_count"]) if rows else 0,
            "peak_rss": _peak_rss_bytes(),
        }
    )


def write_in_child(source: str, target: str, results: Any) -> None:
    """The reference's process: write the file's rows again with pyarrow, timing only writes."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    written = 0
    elapsed = 0.0
    with pq.ParquetWriter(target, parquet.schema_arrow, compression="zstd") as writer:
        for group in range(parquet.num_row_groups):
            rows = parquet.read_row_group(group)
            started = time.perf_counter()
            writer.write_table(rows)
            elapsed += time.perf_counter() - started
            written += rows.num_rows
    started = time.perf_counter()
    # Closing writes the footer: part of writing the file.
    results.put({"seconds": elapsed + time.perf_counter() - started, "rows": written})


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    """Run `target(*args, results)` in a fresh (spawned) process; what it put in `results`."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=target, args=(*args, results))
    child.start()
    try:
        while True:
            try:
                outcome = results.get(timeout=1)
                break
            except queue.Empty:
                check(child.is_alive(), f"{target.__name__} died (exit code {child.exitcode})")
    finally:
        child.join(timeout=60)
        if child.is_alive():
            child.kill()
    return outcome


def _copy_out_seconds(url: str) -> float:
    """Seconds Postgres takes to produce the month in key order as binary COPY (drained)."""
    from psycopg import connect, sql

    from intel_assets.defs.archive.tables import VIDEO_SNAPSHOTS

    start, end = VIDEO_SNAPSHOTS.bounds(MONTH.date())
    select = VIDEO_SNAPSHOTS.select(
        sql.SQL("{c} >= {s} AND {c} < {e}").format(
            c=sql.Identifier("collected_at"), s=sql.Literal(start), e=sql.Literal(end)
        )
    )
    started = time.perf_counter()
    with connect(url) as conn, conn.cursor() as cur:
        copy = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(select)
        with cur.copy(copy) as out:
            for _ in out:
                pass
    return time.perf_counter() - started


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check(process.poll() is None, "moto's S3 server exited")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError("moto's S3 server did not start")


def run(smoke: bool) -> list[dict[str, Any]]:
    """Twenty million rows (smoke: 20,000)."""
    return measure(hours=10, videos=2_000) if smoke else measure(hours=625, videos=32_000)


def measure(hours: int, videos: int) -> list[dict[str, Any]]:
    """The row for a month of `hours x videos` snapshot rows."""
    env = environment.current()
    total = hours * videos
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    local = env.scratch / "archive.parquet"
    again = env.scratch / "again.parquet"
    try:
        _wait_for_port(port, moto)
        client = _s3(endpoint).get_client()
        client.create_bucket(Bucket=BUCKET)
        with env.database() as url:
            from psycopg import connect

            with connect(url) as conn:
                insert_video_snapshots(conn, "video_snapshots", MONTH, hours=hours, videos=videos)
            with connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE video_snapshots")
            ours = _in_child(archive_in_child, url, endpoint)
            floor = _copy_out_seconds(url)
        check(bool(ours["success"]), "monthly_archive failed")
        check(ours["rows"] == total, f"archived {ours['rows']} of {total} rows")
        key = f"archive/table=video_snapshots/month={MONTH:%Y-%m}/part-0.parquet"
        client.download_file(BUCKET, key, str(local))
        size = local.stat().st_size
        reference = _in_child(write_in_child, str(local), str(again))
        check(reference["rows"] == total, f"the reference wrote {reference['rows']} rows")
    finally:
        moto.terminate()
        moto.wait(timeout=30)
        for path in (local, again):
            path.unlink(missing_ok=True)
    ratio = reference["seconds"] / ours["seconds"]
    peak = ours["peak_rss"] / GIB
    return [
        row(
            f"monthly archive of {total:,} snapshot rows to S3 (moto)",
            f"{seconds(ours['seconds'])} ({rate(total, ours['seconds'], 'rows')}), "
            f"peak memory {peak:.2f} GiB",
            f"pyarrow writing the same rows from memory: {seconds(reference['seconds'])} "
            f"({rate(total, reference['seconds'], 'rows')})",
            f"{times(ratio)} of pyarrow's speed",
            "at least 0.5x; peak memory at most 1.5 GiB",
            met=ratio >= 0.5 and peak <= 1.5,
            note=(
                f"One month of `video_snapshots` ({total:,} rows, a {size / 2**20:,.0f} MiB zstd "
                "Parquet file); ours is `monthly_archive` by in-process `dg.materialize` in a "
                "child process (read in key order from Postgres, write, upload, read the footer "
                "back and verify, record), with its peak resident memory. Postgres alone, "
                f"producing the same rows in key order as a binary COPY read and thrown away, "
                f"took {seconds(floor)} ({times(reference['seconds'] / floor)} of pyarrow's "
                "speed)."
            ),
            missed="Postgres producing the rows is the floor: its binary COPY of the month "
            "(above) already takes longer than twice pyarrow's write. ADBC decodes that COPY "
            "into Arrow in C++ and the Parquet writer works one piece behind the reader, so "
            "ours is little more than that floor plus the write; reaching 0.5x would need the "
            "month's rows kept columnar before the archive runs (e.g. Parquet written as each "
            "day closes and concatenated by row group at the month's end), or reading games "
            "in parallel on more cores.",
        )
    ]
