"""The Twitch client against the simulator over real HTTP, with real Redis."""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from intel_assets.resources.errors import ApiUnavailableError, ConfigurationError
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.redis_keys import twitch_token_key
from intel_assets.resources.twitch import TwitchResource
from intel_assets.resources.twitch_models import Stream
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Fault, RunningSimulator, Simulator
from intel_assets_tests.resources.api_helpers import FAST, reset_simulator

CLIENT_ID = "simulator-client"
SECRET = "simulator-secret"
T1 = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
FORTNITE = "33214"


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    # a bigger roster than the default, so Fortnite has more than two pages of live streams
    simulator = Simulator(
        seed=7,
        twitch_client_id=CLIENT_ID,
        twitch_client_secret=SECRET,
        twitch_streamers_per_category=3000,
    )
    with simulator.running() as sim:
        yield sim


@pytest.fixture
def sim(running: RunningSimulator) -> RunningSimulator:
    return reset_simulator(running)


def twitch_resource(
    sim: RunningSimulator, redis_url: str, warehouse: PostgresWarehouse, **settings: Any
) -> TwitchResource:
    config: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "api_url": sim.twitch_url,
        "auth_url": sim.auth_url,
        "redis": RedisHotTier(url=redis_url),
        "warehouse": warehouse,
        **FAST,
    }
    config.update(settings)
    return TwitchResource(**config)


@pytest.fixture
def make_twitch(
    redis_url: str, warehouse: PostgresWarehouse
) -> Iterator[Callable[..., TwitchResource]]:
    """Makes Twitch resources on this test's Redis and warehouse; closes them afterwards."""
    made: list[TwitchResource] = []

    def make(sim: RunningSimulator, **settings: Any) -> TwitchResource:
        made.append(twitch_resource(sim, redis_url, warehouse, **settings))
        return made[-1]

    yield make
    for resource in made:
        resource.close()


@pytest.fixture
def twitch(sim: RunningSimulator, make_twitch: Callable[..., TwitchResource]) -> TwitchResource:
    return make_twitch(sim)


def helix_calls(sim: RunningSimulator, endpoint: str) -> tuple[int, int]:
    counts = sim.counts()["twitch"][endpoint]
    return counts["calls"], counts["points"]


def token_calls(sim: RunningSimulator) -> int:
    return sim.counts()["auth"]["token"]["calls"]


def test_streams_page_to_the_end_and_repeats_are_kept_once(
    sim: RunningSimulator, twitch: TwitchResource
):
    t2 = T1 + timedelta(minutes=10)
    first = [s.stream_id for s in sim.world.live_streams("fortnite", T1)]
    later = [s.stream_id for s in sim.world.live_streams("fortnite", t2)]
    assert len(first) > 100 and len(later) > 200  # at least three pages at t2
    # Page 1 is answered at T1, the rest at t2 (ten minutes later, viewers moved): a stream
    # near the end of page 1 may have dropped to page 2 and be listed again.
    page_one, rest = first[:100], later[100:]
    repeats = set(page_one) & set(rest)
    assert repeats  # this seed and time do reorder streams across the page boundary
    expected = page_one + [sid for sid in rest if sid not in set(page_one)]

    client = twitch.client(game_key="fortnite")
    client.top_games()  # fetch the token first, so only /streams is slowed below
    sim.set_clock(T1)
    sim.inject(Fault(kind="slow", api="twitch", path_prefix="/helix/streams", delay_seconds=1.0))
    result: list[Stream] = []
    worker = threading.Thread(target=lambda: result.extend(client.streams(game_ids=[FORTNITE])))
    worker.start()
    time.sleep(0.5)  # page 1 has read the clock (T1) and is sleeping in the slow fault
    sim.set_clock(t2)
    worker.join(timeout=30)

    assert [s.stream_id for s in result] == expected
    assert client.duplicates["streams"] == len(repeats)
    # 100 at T1, then later[100:200] and later[200:]: 1 + ceil((len(later) - 100) / 100) calls
    assert helix_calls(sim, "streams")[0] == 1 + -(-(len(later) - 100) // 100)
    viewers = [s.viewer_count for s in result[:100]]
    assert viewers == sorted(viewers, reverse=True)


def test_token_is_fetched_once_and_shared_through_redis(
    sim: RunningSimulator,
    redis_url: str,
    twitch: TwitchResource,
    make_twitch: Callable[..., TwitchResource],
):
    twitch.client().top_games()
    other = make_twitch(sim)  # another run: a new resource, same Redis
    other.client().games(ids=[FORTNITE])
    assert token_calls(sim) == 1
    keys = redis.Redis.from_url(redis_url, decode_responses=True).keys(twitch_token_key("*"))
    assert len(keys) == 1 and CLIENT_ID not in str(keys[0])  # the key names a hash, not the id


def test_a_401_renews_the_token_once(sim: RunningSimulator, twitch: TwitchResource):
    client = twitch.client()
    client.top_games()
    sim.inject(Fault(kind="expire_tokens"))  # every issued token is now refused
    games = client.games(names=["Fortnite"])
    assert [g.game_id for g in games] == [FORTNITE]
    assert token_calls(sim) == 2
    # the refused call and its repeat with the new token
    assert helix_calls(sim, "games")[0] == 2


def test_wrong_secret_is_a_configuration_error_without_the_value(
    sim: RunningSimulator, make_twitch: Callable[..., TwitchResource]
):
    wrong = "not-the-secret-4711"
    resource = make_twitch(sim, client_secret=wrong)
    with pytest.raises(ConfigurationError) as rejected:
        resource.client().top_games()
    message = str(rejected.value)
    assert "TWITCH_CLIENT_SECRET" in message and "TWITCH_CLIENT_ID" in message
    assert wrong not in message and CLIENT_ID not in message
    assert token_calls(sim) == 1  # not retried
    assert helix_calls(sim, "games/top")[0] == 0
    with pytest.raises(ConfigurationError, match="TWITCH_CLIENT_ID"):
        make_twitch(sim, client_id="").client()


def test_a_429_waits_until_the_reset(sim: RunningSimulator, twitch: TwitchResource):
    client = twitch.client()
    client.top_games()
    sim.inject(Fault(kind="rate_limit", api="twitch", retry_after_seconds=2.0, count=1))
    started = time.time()
    client.games(ids=[FORTNITE])
    # the 429 said Ratelimit-Reset = ceil(answer time + 2 s), and the answer came after `started`
    assert time.time() - started >= 2.0
    assert helix_calls(sim, "games")[0] == 2
    assert twitch.breaker_status().failures == 0


def test_slows_down_before_the_bucket_is_empty(make_twitch: Callable[..., TwitchResource]):
    # A bucket of 120 points refilling at 2 a second. With 3 points in reserve the client waits
    # about 0.5 s per call once only 3 are left, so 125 quick calls never meet a 429.
    simulator = Simulator(
        seed=7,
        twitch_client_id=CLIENT_ID,
        twitch_client_secret=SECRET,
        twitch_points_per_minute=120,
    )
    with simulator.running() as small:
        resource = make_twitch(small, rate_reserve_points=3, points_per_minute=10_000)
        client = resource.client()
        for _ in range(125):
            client.games(ids=[FORTNITE])
        calls, points = helix_calls(small, "games")
        assert calls == points == 125  # every call took a point: none was refused with 429
        status = resource.rate_status()
        # drained to the reserve, then held near it by pacing (a slow call may refill a point)
        assert status.limit == 120 and status.remaining is not None and status.remaining <= 10


def test_other_endpoints(sim: RunningSimulator, twitch: TwitchResource):
    client = twitch.client()
    sim.set_clock(T1)
    top = client.top_games(first=20)
    assert len(top) == 20 and len({g.game_id for g in top}) == 20
    streams = client.streams(game_ids=[FORTNITE], max_pages=2)
    assert len(streams) == 200  # two full pages
    broadcasters = [s.user_id for s in streams[:150]]
    channels = client.channels(broadcasters + broadcasters[:5])  # repeats asked once
    assert sorted(c.broadcaster_id for c in channels) == sorted(broadcasters)
    assert helix_calls(sim, "channels")[0] == 2  # 150 ids at 100 a call
    videos = client.videos(game_id=FORTNITE, sort="views", period="month")
    assert videos and all(v.duration_seconds > 0 for v in videos)
    found = client.search_categories("fortn")
    assert FORTNITE in {g.game_id for g in found}
    by_name = client.games(names=["Fortnite"], ids=[FORTNITE])
    assert [g.name for g in by_name] == ["Fortnite"]
    assert (
        client.points_spent()
        == sum(helix_calls(sim, e)[1] for e in ("games/top", "streams", "channels", "videos"))
        + helix_calls(sim, "search/categories")[1]
        + helix_calls(sim, "games")[1]
    )


def test_helix_5xx_counts_against_the_twitch_breaker_only(
    sim: RunningSimulator, make_twitch: Callable[..., TwitchResource]
):
    twitch = make_twitch(sim, max_attempts=2)
    client = twitch.client()
    client.top_games()
    sim.inject(Fault(kind="status", api="twitch", status=502, count=2))
    with pytest.raises(ApiUnavailableError, match="502"):
        client.games(ids=[FORTNITE])
    assert twitch.breaker_status().failures == 1
    assert twitch.breaker("twitch_auth").status().failures == 0
