"""Each contract has one owner: Redis keys in `resources/redis_keys.py`, table columns in
`contracts/tables.py`, and the read API imports neither the asset layer nor API resources."""

import ast
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intel_assets.contracts import tables
from intel_assets.resources import redis_keys

PACKAGE = Path(__file__).resolve().parents[1] / "intel_assets"
KEY_OWNER = PACKAGE / "resources" / "redis_keys.py"
TABLE_OWNER = PACKAGE / "contracts" / "tables.py"
KEY = re.compile(r"^(youtube|twitch|intel):(\S|$)")
"""A key, or the start of one in an f-string (not a message such as "twitch: down")."""


def _sources() -> list[Path]:
    # The simulator is the APIs' stand-in, not part of the pipeline: it shares no contract.
    return [p for p in PACKAGE.rglob("*.py") if "simulator" not in p.relative_to(PACKAGE).parts]


def _strings(tree: ast.AST) -> list[str]:
    """Every string literal, and every literal part of an f-string."""
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is str]


def test_keys_are_the_documented_ones():
    window = datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
    assert redis_keys.snapshot_key("youtube", "fortnite") == "youtube:games:fortnite"
    assert redis_keys.snapshot_key("twitch", "gta") == "twitch:games:gta"
    assert redis_keys.analysis_key("viral", "roblox") == "intel:viral:precomputed:roblox"
    assert redis_keys.chart_key("US", window) == "youtube:chart:US:20:2026-03-08T14:00:00+00:00"
    assert redis_keys.video_stats_prefix(window) == "youtube:stats:2026-03-08T14:00:00+00:00:"
    assert redis_keys.uploads_sweep_key(window) == "youtube:uploads:2026-03-08T14:00:00+00:00"
    assert redis_keys.discovered_key("gta") == "youtube:discovered:gta"
    day = redis_keys.quota_key("youtube", "search", "2026-03-08")
    assert day == "intel:quota:youtube:search:2026-03-08"
    assert redis_keys.quota_closed_key(day) == "intel:quota:youtube:search:2026-03-08:closed"
    assert redis_keys.breaker_key("twitch_auth") == "intel:breaker:twitch_auth"
    assert redis_keys.run_counted_key("r1") == "intel:metrics:runs:counted:r1"
    assert redis_keys.window_cache_ttl(60) == 3600 + 600
    assert redis_keys.SNAPSHOT_TTL_SECONDS == 5 * 3600


def test_no_module_but_the_owner_spells_a_redis_key():
    spelled = {
        f"{path.relative_to(PACKAGE)}: {text!r}"
        for path in _sources()
        if path != KEY_OWNER
        for text in _strings(ast.parse(path.read_text()))
        if KEY.match(text)
    }
    assert not spelled


def test_no_module_but_the_owner_lists_a_tables_columns():
    """A literal tuple or list of a table's columns, all of them or all but two, is a copy.

    Shorter lists of column names (what a check or a summary reads) are not a table's shape.
    """
    column_sets = [set(t.columns) for t in tables.ARCHIVED] + [
        set(tables.ANALYSIS_RESULTS_COLUMNS),
        set(tables.COLLECTION_STATE_COLUMNS),
        set(tables.ARCHIVE_MANIFEST_COLUMNS),
    ]
    copies: list[str] = []
    for path in _sources():
        if path == TABLE_OWNER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Tuple | ast.List):
                continue
            names = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            whole = len(names) >= 3 and len(names) == len(node.elts)
            if whole and any(set(names) <= c and len(names) >= len(c) - 2 for c in column_sets):
                copies.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not copies


def test_column_lists_are_the_schemas():
    assert tuple(tables.VIDEO_SNAPSHOTS.schema.names) == tables.VIDEO_COLUMNS
    assert (*tables.CHANNEL_FRAME_COLUMNS, "fetched_at") == tables.CHANNEL_COLUMNS
    assert "id" not in tables.QUOTA_LOG_COLUMNS
    assert len(tables.QUOTA_LOG_COLUMNS) == len(tables.QUOTA_LOG.columns) - 1
    assert tables.DAILY_STATS_COLUMNS[2:10] == tables.STAT_COLUMNS


@pytest.mark.parametrize("module", ["intel_assets.api.app", "intel_assets.api.tiered_store"])
def test_the_read_api_imports_no_asset_definitions(module: str):
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, {module}; print(' '.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [m for m in loaded if m.startswith("intel_assets.defs")] == []
    # Quota and breaker state are read without building the API resources (no credentials).
    assert "intel_assets.resources.api_state" in loaded
