"""`/health` and `/metrics`: the CLI's health report and Prometheus text, over HTTP."""

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from intel_assets.api.config import ApiConfig
from intel_assets.health import check_health
from intel_assets_tests.api.conftest import served


def _findings(report: dict) -> list[tuple[str, str, str]]:
    return [(c["component"], c["name"], c["status"]) for c in report["checks"]]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_health_is_the_clis_report_and_needs_no_key(api_app: FastAPI):
    config: ApiConfig = api_app.state.config
    with served(api_app) as anonymous:
        answer = anonymous.get("/health")
    cli = check_health(config.service_settings()).to_dict()

    body = answer.json()
    assert answer.status_code == 200
    assert _findings(body) == _findings(cli)
    assert (body["status"], body["healthy"]) == (cli["status"], cli["healthy"])
    assert ("redis", "hot tier", "ok") in _findings(body)
    assert ("postgres", "warehouse", "ok") in _findings(body)
    assert any(c["component"] == "freshness" for c in body["checks"])


@pytest.mark.usefixtures("redis_stopped")
def test_health_with_redis_stopped_names_it_as_failing(api: httpx.Client):
    answer = api.get("/health")

    assert answer.status_code == 200
    body = answer.json()
    assert body["healthy"] is False
    redis_finding = next(c for c in body["checks"] if c["component"] == "redis")
    assert redis_finding["status"] == "fail"
    assert redis_finding["detail"].startswith("no answer")


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
