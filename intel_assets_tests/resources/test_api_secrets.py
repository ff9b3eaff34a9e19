"""No configured key or secret appears in a log line, an error, metadata or shared state.

Both clients run through every path that logs or raises (retries, faults, quotaExceeded, a
renewed token, rejected credentials), inside Dagster runs whose event logs are searched too.
"""

import json
import logging
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
import redis

from intel_assets.resources.errors import ApiError, ConfigurationError
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.redis_keys import twitch_token_key
from intel_assets.resources.twitch import TwitchResource
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube import YouTubeResource
from intel_assets.simulator import Fault, RunningSimulator, Simulator
from intel_assets_tests.resources.api_helpers import FAST

YOUTUBE_KEY = "yt-K3y-5ecret-0001"
CLIENT_ID = "tw-client-1d-0002"
CLIENT_SECRET = "tw-5ecret-0003"
WRONG_KEY = "yt-wr0ng-key-0004"
WRONG_SECRET = "tw-wr0ng-5ecret-0005"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    simulator = Simulator(
        seed=11,
        youtube_api_key=YOUTUBE_KEY,
        twitch_client_id=CLIENT_ID,
        twitch_client_secret=CLIENT_SECRET,
    )
    with simulator.running() as running:
        yield running


class Seen:
    """Everything that could leak: text gathered from errors, metadata and state."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, *values: Any) -> None:
        self.texts.extend(f"{value!s}\n{value!r}" for value in values)

    def expect(self, call: Any, error: type[ApiError]) -> None:
        with pytest.raises(error) as raised:
            call()
        self.add(raised.value, raised.value.__cause__, raised.value.__context__)


def _cached_tokens(redis_url: str) -> list[str]:
    state = redis.Redis.from_url(redis_url, decode_responses=True)
    return [json.loads(str(state.get(key)))["token"] for key in state.keys(twitch_token_key("*"))]


def _collect(seen: Seen, sim: RunningSimulator, redis_url: str, warehouse_url: str) -> list[str]:
    """Run both clients through every path that logs or raises; the access tokens issued."""
    hot = RedisHotTier(url=redis_url)
    warehouse = PostgresWarehouse(url=warehouse_url)
    youtube = YouTubeResource(
        api_key=YOUTUBE_KEY,
        api_url=sim.youtube_url,
        redis=hot,
        warehouse=warehouse,
        max_attempts=3,
        **FAST,
    )
    with youtube.client(game_key="fortnite", run_id="r1") as client:
        client.chart(region_code="US", max_pages=1)
        sim.inject(Fault(kind="status", api="youtube", status=503, count=1))
        sim.inject(Fault(kind="truncated", api="youtube", count=1))
        client.video_categories("US")
        sim.inject(Fault(kind="rate_limit", api="youtube", retry_after_seconds=1, count=1))
        client.video_categories("DE")
        sim.inject(Fault(kind="malformed_json", api="youtube", count=3))
        seen.expect(lambda: client.video_categories("US"), ApiError)
        sim.set_quota_limit("search", 0)
        seen.expect(lambda: client.search(q="fortnite"), ApiError)
        seen.expect(lambda: client.search(q="fortnite"), ApiError)
        wrong = YouTubeResource(
            api_key=WRONG_KEY, api_url=sim.youtube_url, redis=hot, warehouse=warehouse
        )
        seen.expect(lambda: wrong.client().chart_page(region_code="US"), ConfigurationError)
        sim.inject(Fault(kind="slow", api="youtube", delay_seconds=0.3, count=2))
        slow = YouTubeResource(
            api_key=YOUTUBE_KEY,
            api_url=sim.youtube_url,
            redis=hot,
            warehouse=warehouse,
            max_attempts=2,
            breaker_failure_threshold=1,
            **{**FAST, "timeout_seconds": 0.1},
        )
        seen.expect(lambda: slow.client().video_categories("US"), ApiError)
        seen.expect(lambda: slow.client().video_categories("US"), ApiError)  # breaker open
        seen.add(
            client,
            youtube,
            client.units_spent(),
            client.calls,
            client.quota_status(),
            client.breaker_status(),
            slow.breaker_status(),
        )

    twitch = TwitchResource(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_url=sim.twitch_url,
        auth_url=sim.auth_url,
        redis=hot,
        warehouse=warehouse,
        max_attempts=2,
        **FAST,
    )
    with twitch.client(game_key="fortnite") as helix:
        games = helix.top_games()
        tokens = _cached_tokens(redis_url)
        sim.inject(Fault(kind="expire_tokens"))
        helix.streams(game_ids=[games[0].game_id])
        tokens += _cached_tokens(redis_url)
        sim.inject(Fault(kind="status", api="twitch", status=500, count=2))
        seen.expect(lambda: helix.games(ids=["33214"]), ApiError)
        sim.inject(Fault(kind="malformed_json", api="auth", count=2))
        sim.inject(Fault(kind="expire_tokens"))
        seen.expect(lambda: helix.games(ids=["33214"]), ApiError)
        seen.add(
            helix,
            twitch,
            helix.calls,
            helix.duplicates,
            helix.rate_status(),
            helix.quota_status(),
            helix.breaker_status(),
        )
    bad = TwitchResource(
        client_id=CLIENT_ID,
        client_secret=WRONG_SECRET,
        api_url=sim.twitch_url,
        auth_url=sim.auth_url,
        redis=hot,
        warehouse=warehouse,
    )
    seen.expect(lambda: bad.client().top_games(), ConfigurationError)
    youtube.close()
    twitch.close()
    warehouse.close()
    return tokens


def test_no_secret_in_logs_errors_metadata_or_state(
    sim: RunningSimulator,
    redis_url: str,
    warehouse_url: str,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "intel_assets", "urllib3", "psycopg"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    seen = Seen()
    tokens = _collect(seen, sim, redis_url, warehouse_url)
    assert len(set(tokens)) == 2  # the first token, and the one issued after the 401

    state = redis.Redis.from_url(redis_url, decode_responses=True)
    for key in map(str, state.keys("*")):
        if key.startswith(twitch_token_key("")):
            continue  # the token cache holds a token by design
        kind = state.type(key)
        value = state.hgetall(key) if kind == "hash" else state.get(key) if kind == "string" else ""
        seen.add(key, value)
    warehouse = PostgresWarehouse(url=warehouse_url)
    quota_log = warehouse.fetch_dicts("SELECT * FROM intel_quota_log")
    assert len(quota_log) > 10
    seen.add(quota_log)
    warehouse.close()

    records = [
        f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    ]
    assert any(r.startswith("httpx") for r in records)  # the HTTP libraries did log
    assert any("retrying" in r for r in records)
    haystack = "\n".join(records + seen.texts)
    for secret in (YOUTUBE_KEY, WRONG_KEY, CLIENT_ID, CLIENT_SECRET, WRONG_SECRET):
        assert secret not in haystack, secret
    for token in tokens:
        assert token not in haystack
    # the configuration errors did name the variables
    assert "YOUTUBE_API_KEY" in haystack and "TWITCH_CLIENT_SECRET" in haystack


def test_no_secret_in_dagster_event_logs(
    sim: RunningSimulator,
    redis_url: str,
    warehouse: PostgresWarehouse,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("YOUTUBE_API_KEY", YOUTUBE_KEY)
    monkeypatch.setenv("BAD_YOUTUBE_API_KEY", WRONG_KEY)

    @dg.asset
    def collected(context: dg.AssetExecutionContext, youtube: YouTubeResource):
        with youtube.client(game_key="fortnite", run_id=context.run.run_id) as client:
            videos = client.chart(region_code="US", max_pages=1)
        context.log.info(f"collected with {client!r} from {youtube!r}")
        return dg.MaterializeResult(
            metadata={
                "videos": len(videos),
                "units": dg.MetadataValue.json(client.units_spent()),
                "quota": dg.MetadataValue.json(
                    {b: s.used for b, s in client.quota_status().items()}
                ),
            }
        )

    def youtube_resource(variable: str) -> YouTubeResource:
        return YouTubeResource(
            api_key=dg.EnvVar(variable),
            api_url=sim.youtube_url,
            redis=RedisHotTier(url=redis_url),
            warehouse=warehouse,
            **FAST,
        )

    instance = dg.DagsterInstance.ephemeral()
    good = dg.materialize(
        [collected], resources={"youtube": youtube_resource("YOUTUBE_API_KEY")}, instance=instance
    )
    assert good.success
    bad = dg.materialize(
        [collected],
        resources={"youtube": youtube_resource("BAD_YOUTUBE_API_KEY")},
        instance=instance,
        raise_on_error=False,
    )
    assert not bad.success
    texts = []
    for result in (good, bad):
        for entry in instance.all_logs(result.run_id):
            texts.append(repr(entry))
    haystack = "\n".join(texts)
    assert "YOUTUBE_API_KEY" in haystack  # the failed run says which variable to fix
    assert YOUTUBE_KEY not in haystack and WRONG_KEY not in haystack
