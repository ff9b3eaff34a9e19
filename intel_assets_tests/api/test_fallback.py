"""With the hot tier's Redis server stopped, answers come from Postgres and say so."""

import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from intel_assets import services
from intel_assets.analyzers.registry import ANALYZERS
from intel_assets.api.tiered_store import HotTierGate
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.api.conftest import REDIS_RETRY_SECONDS, Seeded

GAME = "minecraft"


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _without_timing(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("source", "age_seconds")}


@pytest.mark.usefixtures("redis_stopped")
def test_intel_falls_back_to_the_latest_rows_in_postgres(
    api: httpx.Client, stored: PostgresWarehouse
):
    latest = {
        r["analyzer"]: r
        for r in stored.fetch_dicts(
            "SELECT DISTINCT ON (analyzer) analyzer, as_of, confidence, sample_size, result "
            "FROM intel_analysis_results WHERE game_key = %s ORDER BY analyzer, as_of DESC",
            (GAME,),
        )
    }

    answer = api.get(f"/v1/games/{GAME}/intel")

    assert answer.status_code == 200
    body = answer.json()
    assert list(body["analyses"]) == list(ANALYZERS)
    served_at = _iso(body["served_at"])
    for name, analysis in body["analyses"].items():
        row = latest[name]
        assert analysis["source"] == "warehouse"
        assert _iso(analysis["as_of"]) == row["as_of"]
        assert analysis["result"] == row["result"]
        assert analysis["sample_size"] == row["sample_size"]
        assert analysis["key_figures"] is None
        assert analysis["confidence_at_as_of"] == row["confidence"]
        half_life = ANALYZERS[name].half_life_seconds
        age = (served_at - row["as_of"]).total_seconds()
        assert analysis["age_seconds"] == pytest.approx(age)
        assert analysis["confidence"] == pytest.approx(row["confidence"] * 0.5 ** (age / half_life))


def test_both_tiers_give_the_same_analysis_and_the_same_summary(
    api: httpx.Client, request: pytest.FixtureRequest
):
    hot_intel = api.get(f"/v1/games/{GAME}/intel").json()["analyses"]
    hot_summary = api.get(f"/v1/games/{GAME}/summary").json()
    request.getfixturevalue("redis_stopped")

    warm_intel = api.get(f"/v1/games/{GAME}/intel").json()["analyses"]
    warm_summary = api.get(f"/v1/games/{GAME}/summary").json()

    for name in ANALYZERS:
        assert (hot_intel[name]["source"], warm_intel[name]["source"]) == ("hot_tier", "warehouse")
        for field in ("as_of", "result", "sample_size", "confidence_at_as_of", "stale"):
            assert warm_intel[name][field] == hot_intel[name][field], (name, field)
    for platform in ("youtube", "twitch"):
        assert (hot_summary[platform]["source"], warm_summary[platform]["source"]) == (
            "hot_tier",
            "warehouse",
        )
        # The same collection from either tier: the same figures and top items.
        assert _without_timing(warm_summary[platform]) == _without_timing(hot_summary[platform])


@pytest.mark.usefixtures("redis_stopped")
def test_every_route_but_quota_answers_while_redis_is_stopped(api: httpx.Client):
    paths = [
        "/v1/games",
        f"/v1/games/{GAME}/intel/title",
        f"/v1/games/{GAME}/hourly",
        f"/v1/games/{GAME}/daily",
        f"/v1/games/{GAME}/optimal-durations",
        "/v1/trending",
    ]
    statuses = {path: api.get(path).status_code for path in paths}
    quota = api.get("/v1/quota")

    assert statuses == dict.fromkeys(paths, 200)
    assert quota.status_code == 503
    assert quota.json()["detail"].startswith("Redis does not answer")
    assert quota.headers["Retry-After"] == "5"


def test_after_redis_is_back_answers_come_from_it_again(api: httpx.Client, seeded: Seeded):
    services.stop(seeded.redis_settings)
    try:
        during = api.get(f"/v1/games/{GAME}/intel/live").json()["source"]
    finally:
        services.embedded_redis_url(seeded.redis_settings)
    # The gate tries Redis again once its memory of the failure has passed.
    time.sleep(REDIS_RETRY_SECONDS * 2)
    after = api.get(f"/v1/games/{GAME}/intel/live").json()["source"]

    assert (during, after) == ("warehouse", "hot_tier")


def test_a_dead_redis_is_skipped_until_the_retry_time_has_passed(tmp_path: Path):
    now = [100.0]
    dead = RedisHotTier(url=f"unix://{tmp_path / 'nothing.sock'}?db=0")
    gate = HotTierGate(dead, retry_seconds=5.0, clock=lambda: now[0])

    assert gate.get_many(["a"]) is None
    assert gate.is_down()
    now[0] += 4.9
    assert gate.is_down()
    now[0] += 0.2
    assert not gate.is_down()
    assert gate.get_many(["a"]) is None
    assert gate.is_down()
