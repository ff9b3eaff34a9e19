"""Client keys: every data route needs one when keys are set; none when they are not."""

import logging

import pytest
from fastapi import FastAPI

from intel_assets.api import create_app
from intel_assets.api.config import parse_api_keys
from intel_assets.api.security import ApiKeyGuard
from intel_assets_tests.api.conftest import API_KEYS, Seeded, api_config, served


def _data_paths(app: FastAPI) -> list[str]:
    """One concrete path per data route of the app (every `/v1` route it documents)."""
    return [
        path.format(game="fortnite", analyzer="viral")
        for path in app.openapi()["paths"]
        if path.startswith("/v1")
    ]


def test_every_data_route_refuses_a_request_without_a_key(api_app: FastAPI):
    paths = _data_paths(api_app)
    with served(api_app) as anonymous:
        answers = {path: anonymous.get(path) for path in paths}

    assert len(paths) == 13
    assert {p: a.status_code for p, a in answers.items()} == dict.fromkeys(paths, 401)
    for answer in answers.values():
        assert answer.json()["detail"] == (
            "missing API key: send one of the server's keys in the X-API-Key header"
        )
        assert answer.headers["WWW-Authenticate"] == "X-API-Key"


def test_a_wrong_key_is_refused_and_never_logged(
    api_app: FastAPI, caplog: pytest.LogCaptureFixture
):
    wrong = "not-a-key-of-this-server"
    with caplog.at_level(logging.DEBUG), served(api_app) as client:
        answer = client.get("/v1/games", headers={"X-API-Key": wrong})
        near_miss = client.get("/v1/games", headers={"X-API-Key": API_KEYS[0] + "x"})

    assert (answer.status_code, near_miss.status_code) == (401, 401)
    assert answer.json()["detail"] == "invalid API key"
    assert wrong not in caplog.text
    assert API_KEYS[0] not in caplog.text


def test_each_configured_key_is_accepted(api_app: FastAPI):
    with served(api_app) as client:
        statuses = [
            client.get("/v1/games", headers={"X-API-Key": key}).status_code for key in API_KEYS
        ]

    assert statuses == [200, 200]


def test_the_api_description_needs_no_key(api_app: FastAPI):
    with served(api_app) as anonymous:
        document = anonymous.get("/openapi.json")

    assert document.status_code == 200
    schemes = document.json()["components"]["securitySchemes"]
    assert schemes == {
        "APIKeyHeader": {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "A client key of INTEL_API_KEYS (required when the server sets any).",
        }
    }


def test_without_configured_keys_every_route_is_open(seeded: Seeded):
    app = create_app(api_config(seeded, api_keys=()))
    with served(app) as anonymous:
        statuses = {path: anonymous.get(path).status_code for path in _data_paths(app)}
        document = anonymous.get("/openapi.json").json()

    assert statuses == dict.fromkeys(statuses, 200)
    # Nothing to send, so the document declares no scheme either.
    assert "securitySchemes" not in document.get("components", {})


def test_keys_are_read_comma_separated_with_blanks_ignored():
    assert parse_api_keys(" alpha, beta ,,gamma ") == ("alpha", "beta", "gamma")
    assert parse_api_keys("") == ()
    assert parse_api_keys(None) == ()


def test_the_guard_accepts_only_configured_keys_of_any_length_or_script():
    guard = ApiKeyGuard(["short", "a-much-longer-key-ключ"])

    assert guard.enabled
    assert guard.accepts("short")
    assert guard.accepts("a-much-longer-key-ключ")
    assert not guard.accepts("shor")
    assert not guard.accepts("short ")
    assert not guard.accepts("")
    assert not guard.accepts(None)
    assert not ApiKeyGuard([]).enabled
