"""Lineage as Dagster sees it equals lineage as the code reads it.

Read from the project's one `Definitions`: every asset declares the warehouse tables it reads
and writes (`intel_assets.contracts.lineage`, shown as asset metadata); every table it reads is
written by itself or by an upstream asset (a declared dependency), or is a source table
written outside the graph; and the SQL its code runs (its compute function and every function,
class and SQL string of the project it reaches) reads no table it does not declare.
"""

import ast
import inspect
import re
import textwrap
import types
from collections import defaultdict
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from intel_assets.contracts.lineage import SOURCE_TABLES
from intel_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[1]
READS = re.compile(r"(?<!DELETE )\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_]*)")
"""A table an SQL text reads (`DELETE FROM` deletes; CTE names are not tables and drop out)."""


@cache
def warehouse_tables() -> frozenset[str]:
    """Every table the migrations create."""
    found: set[str] = set()
    for path in sorted((ROOT / "migrations").glob("*.sql")):
        found |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)", path.read_text()))
    return frozenset(found)


@cache
def graph() -> Any:
    return defs().resolve_asset_graph()


def _declared(key: dg.AssetKey, label: str) -> set[str]:
    value = graph().get(key).metadata[label]
    assert isinstance(value, dg.JsonMetadataValue) and isinstance(value.data, list), (key, label)
    return {str(table) for table in value.data}


def _ours(value: object) -> bool:
    module = getattr(value, "__module__", None) or ""
    # Resources run the SQL they are given; the assets' own modules say which tables.
    return module.startswith("intel_assets.") and not module.startswith(
        ("intel_assets.resources.", "intel_assets.simulator.")
    )


def reached_sql(function: Callable[..., Any]) -> str:
    """The source of `function` and of every project function, class and string it reaches."""
    texts: list[str] = []
    seen: set[int] = set()
    todo: list[Any] = [function]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        source = textwrap.dedent(inspect.getsource(item))
        texts.append(source)
        module = inspect.getmodule(item)
        names = getattr(item, "__globals__", None) or (vars(module) if module else {})
        for node in ast.walk(ast.parse(source)):
            found: object = None
            if isinstance(node, ast.Name):
                found = names.get(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                owner = names.get(node.value.id)
                if isinstance(owner, types.ModuleType):
                    found = getattr(owner, node.attr, None)
            if isinstance(found, str):
                texts.append(found)
            elif (inspect.isfunction(found) or inspect.isclass(found)) and _ours(found):
                todo.append(found)
    return "\n".join(texts)


def _assets() -> list[dg.AssetsDefinition]:
    return [a for a in defs().assets or [] if isinstance(a, dg.AssetsDefinition)]


def test_every_asset_declares_the_tables_it_reads_and_writes():
    for key in graph().get_all_asset_keys():
        metadata = graph().get(key).metadata
        assert "intel/tables_read" in metadata, key
        assert "intel/tables_written" in metadata, key
        declared = _declared(key, "intel/tables_read") | _declared(key, "intel/tables_written")
        assert declared <= warehouse_tables(), (key, declared - warehouse_tables())


def test_every_table_an_asset_reads_comes_from_upstream_or_a_source():
    writers: dict[str, set[dg.AssetKey]] = defaultdict(set)
    for key in graph().get_all_asset_keys():
        for table in _declared(key, "intel/tables_written"):
            writers[table].add(key)
    unexplained: list[str] = []
    for key in graph().get_all_asset_keys():
        upstream = set(graph().get(key).parent_keys) | {key}
        for table in sorted(_declared(key, "intel/tables_read")):
            if table not in SOURCE_TABLES and not writers[table] & upstream:
                names = sorted(w.to_user_string() for w in writers[table])
                unexplained.append(f"{key.to_user_string()} reads {table} (written by {names})")
    assert unexplained == []


@pytest.mark.parametrize("asset", _assets(), ids=lambda a: a.node_def.name)
def test_the_sql_an_asset_runs_reads_only_tables_it_declares(asset: dg.AssetsDefinition):
    read = set(READS.findall(reached_sql(asset.op.compute_fn.decorated_fn)))  # type: ignore[union-attr]
    read &= warehouse_tables()
    declared: set[str] = set()
    for key in asset.keys:
        declared |= _declared(key, "intel/tables_read") | _declared(key, "intel/tables_written")
    assert read - declared == set()


def test_the_scan_finds_the_tables_of_the_hourly_rollup():
    """The scan sees through helpers and SQL constants: the hourly rollup's three reads."""
    hourly = next(a for a in _assets() if dg.AssetKey("hourly_metrics") in a.keys)
    read = set(READS.findall(reached_sql(hourly.op.compute_fn.decorated_fn)))  # type: ignore[union-attr]
    assert read & warehouse_tables() == {
        "video_snapshots",
        "stream_snapshots",
        "intel_analysis_results",
    }


def test_a_table_asset_writes_the_table_it_names():
    for key in graph().get_all_asset_keys():
        name = graph().get(key).metadata.get("dagster/table_name")
        if name is not None:
            assert str(name) in _declared(key, "intel/tables_written"), key
