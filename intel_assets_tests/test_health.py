import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from intel_assets import services
from intel_assets.catalog import load_catalog
from intel_assets.health import HealthReport, check_health
from intel_assets.resources.breaker import CircuitBreaker
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import BucketSpec, QuotaLedger
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope
from intel_assets.settings import PROJECT_ROOT, Settings
from intel_assets_tests import clock

NOW = clock.ANCHOR


def _collected(
    warehouse: PostgresWarehouse, ages: dict[tuple[str, str], timedelta], now: datetime = NOW
) -> None:
    """Collection states: each (game, source) last collected `age` before `now`."""
    warehouse.replace_rows(
        "intel_collection_state",
        ["game_key", "source", "last_collected_at", "last_collection_id"],
        [(game, source, now - age, "c") for (game, source), age in ages.items()],
        scope=RowScope(equals={"last_collection_id": "c"}),
    )


def _all_fresh(
    warehouse: PostgresWarehouse,
    ages: dict[tuple[str, str], timedelta] | None = None,
    now: datetime = NOW,
) -> None:
    """Every catalog game collected an hour ago (or `ages` before `now`); the last hour and
    yesterday rolled up."""
    catalog = load_catalog()
    fresh = {(g, s): timedelta(hours=1) for g in catalog.keys for s in ("youtube", "twitch")}
    _collected(warehouse, {**fresh, **(ages or {})}, now)
    last_hour = now.replace(minute=0, second=0) - timedelta(hours=1)
    warehouse.replace_rows(
        "intel_hourly_metrics",
        ["category_key", "hour_start"],
        [("fortnite", last_hour)],
        scope=RowScope(equals={"category_key": "fortnite"}),
    )
    warehouse.replace_rows(
        "intel_daily_metrics",
        ["category_key", "date"],
        [("fortnite", now.date() - timedelta(days=1))],
        scope=RowScope(equals={"category_key": "fortnite"}),
    )


def _statuses(report: HealthReport) -> dict[tuple[str, str], str]:
    return {(c.component, c.name): c.status for c in report.checks}


def _settings(warehouse_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        state_dir=tmp_path,
        postgres_url=warehouse_url,
        redis_url=redis_url,
        archive_url=str(tmp_path / "archive"),
    )


def test_everything_up_and_fresh_is_healthy(
    warehouse: PostgresWarehouse, warehouse_url: str, redis_url: str, tmp_path: Path
):
    _all_fresh(warehouse)

    report = check_health(_settings(warehouse_url, redis_url, tmp_path), now=NOW)

    statuses = _statuses(report)
    assert report.healthy and report.status == "ok", [c for c in report.checks if c.status != "ok"]
    assert {component for component, _ in statuses} == {
        "postgres", "redis", "archive", "quota", "breaker", "freshness",
    }  # fmt: skip
    # 8 games x 2 sources, and the two rollup tables.
    assert sum(component == "freshness" for component, _ in statuses) == 8 * 2 + 2
    assert statuses[("breaker", "youtube")] == "ok"
    assert statuses[("quota", "youtube/search")] == "ok"


def test_stale_data_open_breakers_and_overspent_quota_are_named(
    warehouse: PostgresWarehouse,
    warehouse_url: str,
    redis_url: str,
    hot_tier: RedisHotTier,
    tmp_path: Path,
):
    # Fortnite's YouTube data is 5 h old (> 4 h), valorant's 3.5 h (> the 3 h warning).
    _all_fresh(
        warehouse,
        {
            ("fortnite", "youtube"): timedelta(hours=5),
            ("valorant", "youtube"): timedelta(hours=3.5),
        },
    )
    breaker = CircuitBreaker(hot_tier.client(), api="twitch", failure_threshold=3)
    for _ in range(3):
        breaker.record_failure()
    ledger = QuotaLedger(hot_tier.client(), platform="youtube", buckets=[BucketSpec("search", 100)])
    ledger.reserve("search", "search.list", 51)

    report = check_health(_settings(warehouse_url, redis_url, tmp_path), now=NOW)

    statuses = _statuses(report)
    assert not report.healthy
    assert {(c.component, c.name) for c in report.failing()} == {
        ("freshness", "fortnite/youtube"),
        ("breaker", "twitch"),
    }
    assert statuses[("freshness", "valorant/youtube")] == "warn"
    # 51 of 100 search units: over the 50% target, still open.
    assert statuses[("quota", "youtube/search")] == "warn"


def _health_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "intel-assets"), "health", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_health_command_exits_0_when_up_and_names_a_stopped_redis(
    warehouse: PostgresWarehouse, warehouse_url: str, tmp_path: Path
):
    # The command is a process of its own on the machine's clock: fresh is fresh by that clock.
    _all_fresh(warehouse, now=clock.machine_now())
    # A Redis of this test's own, so stopping it disturbs no other test.
    own = Settings(state_dir=tmp_path / "own-redis")
    redis_url = services.embedded_redis_url(own)
    env = dict(
        os.environ,
        INTEL_STATE_DIR=str(tmp_path),
        INTEL_POSTGRES_URL=warehouse_url,
        INTEL_REDIS_URL=redis_url,
        INTEL_ARCHIVE_URL=str(tmp_path / "archive"),
    )
    try:
        up = _health_command(env)
        up_json = _health_command(env, "--json")
    finally:
        stopped = services.stop(own)
    down = _health_command(env)

    assert stopped == ["redis"]
    assert up.returncode == 0, up.stdout + up.stderr
    assert up.stdout.rstrip().endswith("healthy")
    report = json.loads(up_json.stdout)
    assert (report["healthy"], report["status"]) == (True, "ok")
    assert down.returncode == 1, down.stdout + down.stderr
    redis_line = next(line for line in down.stdout.splitlines() if line.startswith("redis"))
    assert "FAIL" in redis_line and "no answer" in redis_line
    assert "UNHEALTHY" in down.stdout and "redis hot tier" in down.stdout.splitlines()[-1]


@pytest.mark.parametrize("archive", ["file", "file/sub"])
def test_an_archive_that_cannot_be_written_fails(
    warehouse_url: str, redis_url: str, tmp_path: Path, archive: str
):
    # A file where the folder (or one of its parents) should be.
    (tmp_path / "file").write_text("not a folder")
    settings = Settings(
        state_dir=tmp_path,
        postgres_url=warehouse_url,
        redis_url=redis_url,
        archive_url=str(tmp_path / archive),
    )

    report = check_health(settings, now=NOW)

    assert _statuses(report)[("archive", str(tmp_path / archive))] == "fail"
