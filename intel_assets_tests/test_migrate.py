import multiprocessing
from pathlib import Path

import psycopg
import pytest

from intel_assets import migrate


def _applied(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ).fetchall()


def test_first_migrate_applies_every_file_and_second_applies_nothing(empty_database_url: str):
    files = sorted(p.name for p in migrate.MIGRATIONS_DIR.glob("*.sql"))
    assert files, "the migrations folder holds the schema"

    first = migrate.apply_pending(empty_database_url)
    second = migrate.apply_pending(empty_database_url)

    assert first == files
    assert second == []
    assert [name for _, name in _applied(empty_database_url)] == files


def _migrate_in_child(url: str, queue: "multiprocessing.Queue[list[str]]") -> None:
    queue.put(migrate.apply_pending(url))


def test_two_concurrent_migrates_apply_each_file_once(empty_database_url: str):
    files = sorted(p.name for p in migrate.MIGRATIONS_DIR.glob("*.sql"))
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[str]] = context.Queue()
    children = [
        context.Process(target=_migrate_in_child, args=(empty_database_url, queue))
        for _ in range(2)
    ]
    for child in children:
        child.start()
    results = [queue.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0

    # One call applied everything, the other waited on the lock and found nothing pending.
    assert sorted(results, key=len) == [[], files]
    assert [name for _, name in _applied(empty_database_url)] == files


def test_a_failing_migration_leaves_no_trace(empty_database_url: str, tmp_path: Path):
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (x int);")
    (tmp_path / "0002_bad.sql").write_text(
        "CREATE TABLE half_done (x int); SELECT * FROM no_such_table;"
    )

    with pytest.raises(psycopg.errors.UndefinedTable):
        migrate.apply_pending(empty_database_url, tmp_path)

    with psycopg.connect(empty_database_url) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert "good" in tables
    assert "half_done" not in tables
    assert _applied(empty_database_url) == [(1, "0001_good.sql")]


def test_an_edited_applied_migration_is_refused(empty_database_url: str, tmp_path: Path):
    script = tmp_path / "0001_table.sql"
    script.write_text("CREATE TABLE t (x int);")
    migrate.apply_pending(empty_database_url, tmp_path)
    script.write_text("CREATE TABLE t (x bigint);")

    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        migrate.apply_pending(empty_database_url, tmp_path)


def test_badly_named_migration_files_are_refused(tmp_path: Path):
    (tmp_path / "add_table.sql").write_text("SELECT 1;")
    with pytest.raises(migrate.MigrationError, match=r"NNNN_lower_snake\.sql"):
        migrate.discover(tmp_path)
