"""The simulated world: deterministic, growing, and true to what it claims about itself."""

import re
import statistics
from collections import Counter
from datetime import timedelta

import httpx

from intel_assets.catalog import load_catalog
from intel_assets.simulator import Simulator
from intel_assets_tests.simulator.conftest import KEY, NOW, helix_headers, youtube

ALL_PARTS = (
    "snippet,contentDetails,statistics,liveStreamingDetails,topicDetails,status,"
    "localizations,paidProductPlacementDetails"
)


def _answers(http: httpx.Client) -> list[bytes]:
    with Simulator(seed=11, videos_per_game_per_day=40, channels=600).running() as sim:
        sim.set_clock(NOW)
        ids = ",".join(sim.world.chart_ids("US", NOW)[:50])
        headers = helix_headers(http, sim)
        return [
            youtube(
                http, sim, "videos", part=ALL_PARTS, chart="mostPopular", maxResults=50
            ).content,
            youtube(http, sim, "videos:batchGetStats", part="statistics", id=ids).content,
            youtube(http, sim, "search", part="snippet", q="valorant", type="video").content,
            http.get(f"{sim.twitch_url}/streams", headers=headers).content,
            http.get(
                f"{sim.twitch_url}/videos", params={"game_id": "27471"}, headers=headers
            ).content,
        ]


def test_same_seed_and_clock_give_identical_answers(http):
    assert _answers(http) == _answers(http)


def test_another_seed_is_another_world():
    at = NOW
    one = Simulator(seed=1, videos_per_game_per_day=10, channels=200).world
    two = Simulator(seed=2, videos_per_game_per_day=10, channels=200).world
    first = one.videos_at(at)[0]

    assert {v.video_id for v in one.videos_at(at)}.isdisjoint(v.video_id for v in two.videos_at(at))
    assert two.video(first.video_id) is None  # ids of one seed are unknown to another


def test_views_likes_and_comments_never_decrease_as_the_clock_advances(sim, http):
    ids = [v.video_id for v in sim.world.videos_at(NOW, timedelta(hours=6))][:50]
    previous: dict[str, tuple[int, ...]] = {}
    for step in range(6):
        sim.set_clock(NOW + timedelta(hours=4 * step))
        items = youtube(
            http, sim, "videos:batchGetStats", part="statistics", id=",".join(ids)
        ).json()["items"]
        for item in items:
            stats = item["statistics"]
            counts = tuple(int(stats.get(k, 0)) for k in ("viewCount", "likeCount", "commentCount"))
            before = previous.get(item["id"], (0, 0, 0))
            assert all(now >= then for now, then in zip(counts, before, strict=True)), item["id"]
            previous[item["id"]] = counts
    uploads = {
        v.video_id for v in sim.world.videos_at(NOW, timedelta(hours=6)) if v.live_kind == "none"
    }
    # 20 hours on, every upload has views (a stream may still be upcoming, with none).
    assert all(previous[i][0] > 0 for i in ids if i in uploads)


def test_mentioned_games_are_what_the_catalog_finds_in_the_text(sim):
    catalog = load_catalog()
    videos = sim.world.videos_at(NOW, timedelta(days=1))
    styles = Counter(v.mention for v in videos)

    for video in videos:
        words = sim.world.text(video.video_id)
        found = catalog.games_of(words.title, words.tags, words.description)
        assert tuple(found) == video.mentioned_games, (video.video_id, words.title)
    # Every way of naming (or not naming) the game occurs.
    assert set(styles) == {"title", "tags", "description", "none", "crossover"}
    assert any(len(v.mentioned_games) == 2 for v in videos)


def test_is_short_follows_the_projects_rule(sim):
    videos = sim.world.videos_at(NOW, timedelta(days=1))

    for video in videos:
        words = sim.world.text(video.video_id)
        labelled = "#shorts" in words.title.casefold() or any(
            t.casefold().lstrip("#") == "shorts" for t in words.tags
        )
        rule = video.duration_seconds <= 60 or (video.duration_seconds <= 180 and labelled)
        assert rule == video.is_short, video.video_id
    assert any(v.is_short and v.duration_seconds > 60 for v in videos)
    assert any(not v.is_short and v.duration_seconds <= 180 for v in videos)


def test_durations_span_every_bucket_and_languages_include_other_scripts(sim):
    videos = sim.world.videos_at(NOW, timedelta(days=2))
    edges = [60, 180, 480, 900, 1800, 3600]
    buckets = Counter(sum(v.duration_seconds >= e for e in edges) for v in videos)
    titles = {v.language: sim.world.text(v.video_id).title for v in videos}

    assert set(buckets) == set(range(7))  # under a minute ... over an hour
    assert re.search(r"[\u3040-\u30ff]", titles["ja"])  # kana
    assert re.search(r"[\uac00-\ud7a3]", titles["ko"])  # hangul
    assert re.search(r"[\u0400-\u04ff]", titles["ru"])  # Cyrillic
    assert re.search(r"[\u0600-\u06ff]", titles["ar"])  # Arabic
    for language in ("es", "pt", "de", "fr"):
        assert language in titles
    missing = sum(v.audio_language is None and v.default_language is None for v in videos)
    assert 0 < missing < len(videos) / 4


def test_language_shares_sum_to_one_and_follow_the_game(sim):
    shares = sim.world.language_shares("league_of_legends", NOW, timedelta(days=7))

    assert abs(sum(shares.values()) - 1) < 1e-9
    # League of Legends is big in Korea: its share is far above the 3 % of a default game.
    assert shares["ko"] > 0.1
    assert max(shares, key=lambda lang: shares[lang]) in ("en", "ko")


def test_viral_videos_outgrow_their_games_baseline(sim):
    at = NOW.timestamp()
    for game in ("fortnite", "minecraft", "roblox"):
        videos = [
            v
            for v in sim.world.videos_at(NOW, timedelta(days=3), game)
            if v.live_kind == "none" and at - v.published_at > 86_400
        ]
        viral = [v for v in videos if v.viral]
        assert viral, game
        for video in viral:
            peers = [v.views_at(at) for v in videos if v.is_short == video.is_short and not v.viral]
            assert video.views_at(at) > 20 * statistics.median(peers), game
        ids = sim.world.viral_video_ids(game, NOW, timedelta(days=3))
        assert {v.video_id for v in viral} <= set(ids)


def test_growth_is_fast_early_then_saturates(sim):
    video = next(
        v
        for v in sim.world.videos_at(NOW, timedelta(days=1))
        if not v.viral and v.live_kind == "none"
    )
    t0 = video.published_at
    first_day = video.views_at(t0 + 86_400) - video.views_at(t0)
    sixth_day = video.views_at(t0 + 6 * 86_400) - video.views_at(t0 + 5 * 86_400)

    assert first_day > 4 * sixth_day > 0


def test_every_upload_is_published_on_its_own_utc_day(sim):
    day = int(NOW.timestamp() // 86_400)
    start = NOW.replace(hour=0)

    for pool in range(sim.world.youtube.other_pool + 1):
        for video in sim.world.youtube.day_videos(pool, day):
            assert day * 86_400 <= video.published_at < (day + 1) * 86_400
    # So a window from midnight to midnight holds every upload of the day: 9 pools x 40.
    assert len(sim.world.videos_published(start, start + timedelta(days=1))) == 9 * 40


def test_unknown_and_malformed_ids_are_not_videos(sim):
    assert sim.world.video("xxxxxxxxxxx") is None
    assert sim.world.video("short") is None
    assert sim.world.video("!!!!!!!!!!!") is None


def test_key_and_secret_never_reach_the_log(caplog, http):
    import logging

    secret_key, secret = "key-1234567890-never-logged", "secret-0987654321-never-logged"
    with caplog.at_level(logging.DEBUG, logger="intel_assets.simulator"):
        simulator = Simulator(
            youtube_api_key=secret_key, twitch_client_secret=secret, channels=100,
            videos_per_game_per_day=5,
        )  # fmt: skip
        with simulator.running() as sim:
            http.get(
                f"{sim.youtube_url}/videos",
                params={"part": "id", "chart": "mostPopular", "key": secret_key},
            )
            http.get(f"{sim.youtube_url}/videos", params={"part": "id", "id": "x", "key": KEY})
            token = http.post(
                f"{sim.auth_url}/token",
                data={"client_id": "simulator-client", "client_secret": secret,
                      "grant_type": "client_credentials"},
            ).json()["access_token"]  # fmt: skip
            http.get(f"{sim.twitch_url}/streams", headers={"Authorization": f"Bearer {token}"})

    # The simulator's own log lines; this test's client puts the key in its URLs, which httpx
    # logs when another test has turned its logger up.
    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("intel_assets.simulator")
    )
    assert "/youtube/v3/videos" in logged  # requests are logged ...
    for value in (secret_key, secret, token, KEY):
        assert value not in logged  # ... without their credentials
