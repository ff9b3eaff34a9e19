"""The OpenAPI document validates, and requests generated from it never make the server fail.

The fuzz run is bounded: `FUZZ_EXAMPLES` cases per operation, derandomized so a failure
reproduces; schemathesis checks every answer against the document (status codes, content
types, response schemas) and that the key is enforced.
"""

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.schemas import APIOperation

from intel_assets_tests.api.conftest import API_KEYS

FUZZ_EXAMPLES = 30
GAME = "fortnite"
PATHS = [
    "/health",
    "/health/detail",
    "/metrics",
    "/v1/games",
    "/v1/games/{game}/channels",
    "/v1/games/{game}/daily",
    "/v1/games/{game}/hourly",
    "/v1/games/{game}/intel",
    "/v1/games/{game}/intel/{analyzer}",
    "/v1/games/{game}/optimal-durations",
    "/v1/games/{game}/summary",
    "/v1/games/{game}/twitch/broadcasters",
    "/v1/games/{game}/twitch/stats",
    "/v1/games/{game}/twitch/top-streamers",
    "/v1/quota",
    "/v1/trending",
]


def test_the_openapi_document_validates(api_app: FastAPI):
    document = api_app.openapi()

    validate(document)  # type: ignore[arg-type]
    assert sorted(document["paths"]) == PATHS


def _cases(operation: APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    """Valid and invalid requests; for per-game routes also with a game that has data.

    Random game keys all answer 404 before their parameters are read, so without a real game
    the ranges, windows and analyzers would never be exercised.
    """
    games: list[dict[str, str] | None] = [None]
    if "{game}" in operation.path:
        games.append({"game": GAME})
    key = {"X-API-Key": API_KEYS[0]}
    strategies = [operation.as_strategy(path_parameters=game, headers=key) for game in games]
    if operation.path not in ("/health", "/health/detail", "/metrics", "/v1/games", "/v1/quota"):
        strategies += [
            operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=game, headers=key)
            for game in games
        ]
    return st.one_of(strategies)


@pytest.mark.parametrize("path", PATHS)
def test_generated_requests_get_documented_answers_and_no_server_error(
    api: httpx.Client, path: str
):
    # Over HTTP to the served API, as a client would call it.
    operation = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")[path]["GET"]

    @given(case=_cases(operation))
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    answers_as_documented()
