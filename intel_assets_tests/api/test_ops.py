"""`/health` and `/metrics`: the CLI's health report and Prometheus text, over HTTP."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from intel_assets.api.app import API_APPLICATION_NAME
from intel_assets.api.config import ApiConfig
from intel_assets.api.ops import SHARED_SECONDS
from intel_assets.health import check_health
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.api.conftest import served


def _findings(report: dict) -> list[tuple[str, str, str]]:
    return [(c["component"], c["name"], c["status"]) for c in report["checks"]]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


COMPONENTS = {"postgres", "redis", "archive", "quota", "breaker", "freshness"}


def test_health_without_a_key_says_only_ok_or_degraded_and_the_detail_needs_a_key(
    api: httpx.Client, api_app: FastAPI
):
    config: ApiConfig = api_app.state.config
    with served(api_app) as anonymous:
        public = anonymous.get("/health")
        refused = anonymous.get("/health/detail")
    detail = api.get("/health/detail")
    cli = check_health(config.service_settings()).to_dict()

    assert public.status_code == 200 and refused.status_code == 401
    body = public.json()
    assert set(body) == {"status", "checked_at", "components"}
    assert set(body["components"]) == COMPONENTS
    assert set(body["components"].values()) <= {"ok", "degraded"}
    # Each component is degraded exactly when one of the CLI's findings of it is not ok.
    for component, state in body["components"].items():
        findings = [c["status"] for c in cli["checks"] if c["component"] == component]
        assert state == ("ok" if set(findings) == {"ok"} else "degraded"), component
    # Nothing about how the deployment is built: no URL, socket, user, version or error text.
    text = public.text
    for secret in (config.postgres_url, config.redis_url, "PostgreSQL", "socket", "no answer"):
        assert secret not in text
    assert "/" not in json.dumps(body["components"])

    assert detail.status_code == 200
    assert _findings(detail.json()) == _findings(cli)
    assert (detail.json()["status"], detail.json()["healthy"]) == (cli["status"], cli["healthy"])
    assert ("redis", "hot tier", "ok") in _findings(detail.json())


def test_health_reuses_the_pools_for_sixty_callers_at_once(
    api: httpx.Client, api_app: FastAPI, stored: PostgresWarehouse, hot: redis.Redis
):
    config: ApiConfig = api_app.state.config
    database = urlsplit(config.postgres_url).path.lstrip("/")

    def connections() -> tuple[int, int]:
        # The API's own connections: autovacuum's workers and the test's readers come and go in
        # the database on their own.
        backends = stored.fetch_dicts(
            "SELECT count(*)::int AS n FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = %s",
            (database, API_APPLICATION_NAME),
        )[0]["n"]
        return backends, len(hot.client_list())

    assert api.get("/health").status_code == 200  # the pools are open and warm
    before = connections()
    latencies: list[float] = []

    def call() -> None:
        started = time.perf_counter()
        answer = api.get("/health")
        latencies.append(time.perf_counter() - started)
        assert answer.status_code == 200

    with ThreadPoolExecutor(max_workers=60) as pool:
        for future in [pool.submit(call) for _ in range(60)]:
            future.result()
    after = connections()
    latencies.sort()
    print(
        f"/health, 60 callers at once: p50 {latencies[29] * 1000:.1f} ms, "
        f"p95 {latencies[56] * 1000:.1f} ms; Postgres backends {before[0]} -> {after[0]}, "
        f"Redis clients {before[1]} -> {after[1]}"
    )
    # The API's own pools answer every caller: no connection is opened for them.
    assert after == before
    assert before[0] > 0 and before[1] > 0


@pytest.mark.usefixtures("redis_stopped")
def test_health_with_redis_stopped_names_it_as_failing(api: httpx.Client):
    answer = api.get("/health/detail")
    time.sleep(SHARED_SECONDS)  # past the report the callers of the last second share
    public = api.get("/health")

    assert answer.status_code == 200
    body = answer.json()
    assert body["healthy"] is False
    redis_finding = next(c for c in body["checks"] if c["component"] == "redis")
    assert redis_finding["status"] == "fail"
    assert redis_finding["detail"].startswith("no answer")
    assert public.json()["components"]["redis"] == "degraded"
    assert public.json()["status"] == "degraded"


def test_answers_carry_security_headers_and_a_422_echoes_little(api: httpx.Client):
    huge = "9" * 60_000
    answer = api.get("/v1/trending", params={"days": huge})
    docs = api.get("/docs")

    assert answer.status_code == 422
    assert len(answer.content) < 1_000  # FastAPI's own answer repeats all 60,000 characters
    error = answer.json()["detail"][0]
    assert error["loc"] == ["query", "days"]
    assert error["input"] == "9" * 64 + "... (60000 characters, not repeated)"
    for response in (answer, docs, api.get("/health")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "content-security-policy" not in docs.headers  # Swagger UI loads its script


def test_metrics_need_a_key_and_parse_as_prometheus_text(api: httpx.Client, api_app: FastAPI):
    with served(api_app) as anonymous:
        refused = anonymous.get("/metrics")
    answer = api.get("/metrics")

    assert refused.status_code == 401
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    assert samples[("intel_metrics_source_up", (("source", "redis"),))] == 1.0
    assert samples[("intel_metrics_source_up", (("source", "postgres"),))] == 1.0
    # The YouTube search bucket holds 100 units a day and the breakers are known.
    limit = ("intel_quota_limit_units", (("bucket", "search"), ("platform", "youtube")))
    assert samples[limit] == 100.0
    assert any(name == "intel_data_age_seconds" for name, _ in samples)


@pytest.mark.usefixtures("redis_stopped")
def test_metrics_with_redis_stopped_say_so_and_still_answer(api: httpx.Client):
    answer = api.get("/metrics")

    assert answer.status_code == 200
    samples = _samples(answer.text)
    assert samples[("intel_metrics_source_up", (("source", "redis"),))] == 0.0
    assert samples[("intel_metrics_source_up", (("source", "postgres"),))] == 1.0
