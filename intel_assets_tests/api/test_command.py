"""`intel-assets api`: the command serves the API over HTTP with the environment's keys."""

from pathlib import Path

import httpx

from intel_assets.dev.api_serving import running_api
from intel_assets_tests.api.conftest import Seeded

KEY = "a-command-test-key"


def test_the_command_serves_the_api_with_the_keys_of_intel_api_keys(seeded: Seeded, tmp_path: Path):
    # running_api runs `intel-assets api` with INTEL_API_KEYS=KEY and waits until /v1/games
    # answers 200 with that key.
    with running_api(seeded.warehouse_url, seeded.redis_url, tmp_path, KEY) as base_url:
        keyed = httpx.get(f"{base_url}/v1/games/gta/intel/title", headers={"X-API-Key": KEY})
        anonymous = httpx.get(f"{base_url}/v1/games/gta/intel/title")
        health = httpx.get(f"{base_url}/health")
        document = httpx.get(f"{base_url}/openapi.json")
    log = (tmp_path / "api.log").read_text()

    assert keyed.status_code == 200
    assert keyed.json()["source"] == "hot_tier"
    assert anonymous.status_code == 401
    assert health.status_code == 200
    assert document.json()["info"]["title"] == "Creator Intel read API"
    assert "API keys required" in log
    assert KEY not in log
