"""The typed records and error mapping against the real API responses in fixtures/real.

fixtures/real is a byte-for-byte copy of ../shared/fixtures/real (see its PROVENANCE.md).
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intel_assets.resources.errors import (
    ConfigurationError,
    QuotaExceededError,
    RequestRejectedError,
)
from intel_assets.resources.http import RetryableFailure, retry_after_seconds
from intel_assets.resources.twitch_models import (
    ChannelInfo,
    Game,
    Stream,
    Token,
    TwitchVideo,
    twitch_duration_seconds,
)
from intel_assets.resources.youtube import (
    _PATHS,
    DEFAULT_METHOD_BUCKETS,
    DEFAULT_VIDEO_PARTS,
    MAX_IDS_PER_CALL,
    youtube_error,
)
from intel_assets.resources.youtube_models import (
    Channel,
    Repair,
    SearchResult,
    Video,
    VideoCategory,
    VideoStats,
    duration_seconds,
    is_short,
    parse_items,
)

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
RESET = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)


def load(relative: str) -> Any:
    return json.loads((REAL / relative).read_text(encoding="utf-8"))


def videos_of(relative: str) -> dict[str, Video]:
    records, skipped = parse_items(load(relative), Video.from_api, method="videos.list")
    assert skipped == 0
    return {video.video_id: video for video in records}


# ---------------------------------------------------------------- every real file parses


def _youtube_videos(body: Any) -> None:
    records, skipped = parse_items(body, Video.from_api, method="videos.list")
    assert skipped == 0
    assert len(records) == len(body["items"]) > 0


def _youtube_categories(body: Any) -> None:
    records, skipped = parse_items(body, VideoCategory.from_api, method="videoCategories.list")
    assert skipped == 0
    by_id = {c.category_id: c for c in records}
    assert len(by_id) == 32  # both files list the 32 categories of 2020
    assert by_id["20"].title == "Gaming"
    assert by_id["1"].title == "Film & Animation" and by_id["1"].assignable is True


def _error(expected: type) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        error = youtube_error(
            body["error"]["code"],
            body,
            method="videos.list",
            bucket="default",
            reset_at=RESET,
            secrets=("simulator-key",),
        )
        assert type(error) is expected, error
        if isinstance(error, ConfigurationError):
            assert "YOUTUBE_API_KEY" in str(error)
            assert error.variables == ("YOUTUBE_API_KEY",)
        if isinstance(error, QuotaExceededError):
            assert error.bucket == "default" and error.reset_at == RESET

    return check


def _discovery(body: Any) -> None:
    methods = body["methods"]
    # Every method we call exists at the path we call (relative to .../youtube/v3).
    for method, path in _PATHS.items():
        assert methods[method]["path"] == "youtube/v3" + path
        assert methods[method]["httpMethod"] == "GET"
    assert set(_PATHS) == set(DEFAULT_METHOD_BUCKETS)
    assert methods["videos.list"]["parameters"]["maxResults"]["maximum"] == "50"
    assert "50" in methods["videos.batchGetStats"]["parameters"]["id"]["description"]
    assert MAX_IDS_PER_CALL == 50
    # Every part we ask videos.list for is a property of the Video schema.
    assert set(DEFAULT_VIDEO_PARTS) <= set(body["schemas"]["Video"]["properties"])
    search = methods["search.list"]["parameters"]
    for name in ("q", "type", "order", "publishedAfter", "regionCode", "relevanceLanguage"):
        assert name in search
    assert "videoDuration" in search


def _twitch_list(parse: Callable[[Any], Any], count: int) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        records, skipped = parse_items(body, parse, method="twitch", key="data")
        assert (len(records), skipped) == (count, 0)

    return check


def _twitch_token(body: Any) -> None:
    issued = datetime(2026, 3, 1, tzinfo=UTC)
    token = Token.from_api(body, issued_at=issued)
    assert token.access_token.get_secret_value() == "jostpf5q0uzmxmkba9iyug38kjtgh"
    assert "jostpf5q0uzmxmkba9iyug38kjtgh" not in repr(token)
    # expires_in 5011271 s = 58 days 0 h 1 min 11 s (58 * 86400 = 5011200; +71 s)
    assert token.expires_at == datetime(2026, 4, 28, 0, 1, 11, tzinfo=UTC)


def _twitch_openapi(body: Any) -> None:
    paths = body["paths"]
    for path, params in (
        ("/streams", {"game_id", "language", "first", "after"}),
        ("/games/top", {"first", "after"}),
        ("/games", {"id", "name"}),
        ("/videos", {"game_id", "sort", "period", "first", "after"}),
        ("/channels", {"broadcaster_id"}),
        ("/search/categories", {"query", "first", "after"}),
    ):
        declared = {p["name"] for p in paths[path]["get"].get("parameters", [])}
        assert params <= declared, (path, params - declared)


CHECKS: dict[str, Callable[[Any], None]] = {
    "youtube/videos_list_mostPopular_US_2020-04-24.json": _youtube_videos,
    "youtube/python-youtube_videos_chart_paged_1.json": _youtube_videos,
    "youtube/videoCategories_list_TimFinnigan.json": _youtube_categories,
    "youtube/videoCategories_list_US_category_id.json": _youtube_categories,
    "youtube/error_quotaExceeded_403_ShareX-issue-4477.json": _error(QuotaExceededError),
    "youtube/error_dailyLimitExceeded_403_legacy_SMAPPNYU-youtube-data-api-issue-22.json": _error(
        QuotaExceededError
    ),
    "youtube/error_keyInvalid_400_legacy_alaouy-YouTube-issue-101.json": _error(ConfigurationError),
    # PERMISSION_DENIED for a key-only public read: the key may not use this API.
    "youtube/python-youtube_error_permission_resp.json": _error(ConfigurationError),
    "youtube/youtube_v3_discovery_subset_rev20261104.json": _discovery,
    "twitch/get_streams_example1.json": _twitch_list(Stream.from_api, 1),
    "twitch/get_streams_example2.json": _twitch_list(Stream.from_api, 1),
    "twitch/get_games_example1.json": _twitch_list(Game.from_api, 1),
    "twitch/get_top_games_example1.json": _twitch_list(Game.from_api, 1),
    "twitch/search_categories_example1.json": _twitch_list(Game.from_api, 1),
    "twitch/get_videos_example1.json": _twitch_list(TwitchVideo.from_api, 1),
    "twitch/get_channel_information_example1.json": _twitch_list(ChannelInfo.from_api, 1),
    "twitch/oauth2_token_client_credentials_doc_example.json": _twitch_token,
    "twitch/openapi_subset_6_endpoints.json": _twitch_openapi,
}


def test_every_real_file_has_a_check():
    on_disk = {str(p.relative_to(REAL)) for p in REAL.rglob("*.json")}
    assert on_disk == set(CHECKS)


@pytest.mark.parametrize("relative", sorted(CHECKS))
def test_real_file_parses(relative: str):
    CHECKS[relative](load(relative))


# ---------------------------------------------------------------- values checked by hand


def test_most_popular_values_by_hand():
    videos = videos_of("youtube/videos_list_mostPopular_US_2020-04-24.json")
    assert len(videos) == 50

    juice = videos["ZengOKCUBHo"]
    assert juice.duration_seconds == 3 * 60 + 49  # PT3M49S = 229
    assert (juice.view_count, juice.like_count, juice.comment_count) == (1600374, 406409, 54559)
    assert juice.default_audio_language is None and juice.default_language is None
    assert juice.published_at == datetime(2020, 4, 24, 4, 0, 52, tzinfo=UTC)
    assert juice.channel_id == "UC0BletW9phE4xHFM44q4qKA"
    assert juice.category_id == "10"
    assert juice.caption is False and juice.definition == "hd"
    assert juice.licensed_content is False
    assert juice.is_short is False and juice.live_state == "none"
    # an ordinary upload (no liveStreamingDetails): not a premiere
    assert juice.is_premiere is False
    assert len(juice.tags) == 11

    draft = videos["TCHjpbXni00"]
    assert draft.duration_seconds == 4 * 3600 + 11 * 60 + 11  # PT4H11M11S = 15071
    assert (draft.view_count, draft.like_count, draft.comment_count) == (522889, 2249, 23)
    assert draft.category_id == "17"

    jack = videos["N9J5HbMe6js"]
    assert jack.duration_seconds == 23 * 60 + 47  # PT23M47S = 1427
    assert (jack.view_count, jack.like_count, jack.comment_count) == (2410624, 173530, 25989)
    assert jack.default_audio_language == "en" and jack.default_language is None
    assert jack.category_id == "20"

    got7 = videos["cyhWBIfdk7I"]
    assert got7.duration_seconds == 4 * 60 + 46  # PT4M46S = 286
    assert got7.default_audio_language == "ko"
    assert (got7.view_count, got7.like_count, got7.comment_count) == (1362910, 158098, 12000)

    mando = videos["B492eUpIyAc"]
    assert mando.duration_seconds == 2 * 60 + 5  # PT2M5S = 125
    assert mando.default_audio_language == "en-US"
    assert mando.caption is True

    hands = videos["dOHX_ybeLOo"]
    assert hands.duration_seconds == 60 + 16  # PT1M16S = 76
    # 76 s is over 60 s and neither the title nor a tag says #shorts: long-form
    assert hands.is_short is False
    assert hands.default_audio_language == "en" and hands.default_language == "en"


def test_chart_page_without_statistics_leaves_counts_null():
    videos = videos_of("youtube/python-youtube_videos_chart_paged_1.json")
    assert len(videos) == 5
    for video in videos.values():
        # parts were snippet and player: nothing about counts or length is known
        assert video.view_count is None and video.like_count is None
        assert video.duration_seconds is None and video.is_short is False


# ---------------------------------------------------------------- rules on built items


def item(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "vid00000001",
        "snippet": {
            "publishedAt": "2026-03-01T12:00:00Z",
            "channelId": "UCchannel",
            "title": "A video",
            "liveBroadcastContent": "none",
        },
        "contentDetails": {"duration": "PT5M"},
        "statistics": {"viewCount": "10"},
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        elif isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def test_hidden_counts_are_null_never_zero():
    video = Video.from_api(item(statistics={"viewCount": "120", "commentCount": "0"}))
    assert video.view_count == 120
    assert video.like_count is None  # likeCount absent: hidden
    assert video.comment_count == 0  # a real zero stays zero


@pytest.mark.parametrize(
    ("duration", "title", "tags", "expected"),
    [
        ("PT60S", "a clip", [], True),  # <= 60 s
        ("PT61S", "a clip", [], False),
        ("PT2M59S", "Clip #Shorts", [], True),  # 179 s labelled in the title
        ("PT3M", "clip", ["SHORTS"], True),  # 180 s labelled by a tag
        ("PT3M1S", "clip #shorts", [], False),  # 181 s: too long for a Short
        ("PT2M", "clip", ["shortsfeed"], False),  # not the label
    ],
)
def test_is_short(duration: str, title: str, tags: list[str], expected: bool):
    video = Video.from_api(
        item(snippet={"title": title, "tags": tags}, contentDetails={"duration": duration})
    )
    assert video.is_short is expected


def test_live_states_and_premieres():
    upcoming_stream = Video.from_api(
        item(
            snippet={"liveBroadcastContent": "upcoming"},
            contentDetails={"duration": "P0D"},
            liveStreamingDetails={"scheduledStartTime": "2026-03-02T18:00:00Z"},
        )
    )
    assert upcoming_stream.live_state == "upcoming"
    assert upcoming_stream.duration_seconds is None  # P0D
    assert upcoming_stream.is_premiere is False  # a real live stream has no recording yet
    assert upcoming_stream.scheduled_start == datetime(2026, 3, 2, 18, tzinfo=UTC)
    assert upcoming_stream.is_short is False

    premiere = Video.from_api(
        item(
            snippet={"liveBroadcastContent": "upcoming"},
            contentDetails={"duration": "PT45S"},
            liveStreamingDetails={"scheduledStartTime": "2026-03-02T18:00:00Z"},
        )
    )
    assert premiere.is_premiere is True  # already has its 45 s recording
    assert premiere.is_short is False  # never a Short while upcoming

    live = Video.from_api(
        item(
            snippet={"liveBroadcastContent": "live"},
            contentDetails={"duration": "P0D"},
            liveStreamingDetails={
                "actualStartTime": "2026-03-02T18:01:00Z",
                "concurrentViewers": "4321",
            },
        )
    )
    assert (live.live_state, live.concurrent_viewers, live.is_premiere) == ("live", 4321, False)

    ended = Video.from_api(
        item(
            contentDetails={"duration": "PT1H2M3S"},
            liveStreamingDetails={
                "actualStartTime": "2026-03-02T18:01:00Z",
                "actualEndTime": "2026-03-02T19:03:03Z",
            },
        )
    )
    assert ended.live_state == "ended"
    assert ended.duration_seconds == 3600 + 2 * 60 + 3  # 3723
    assert ended.is_premiere is None  # the API cannot tell a finished premiere from a stream
    assert ended.actual_end == datetime(2026, 3, 2, 19, 3, 3, tzinfo=UTC)


def test_full_item_fields():
    video = Video.from_api(
        item(
            snippet={"tags": ["fortnite"], "categoryId": "20", "defaultLanguage": "de"},
            contentDetails={"caption": "true", "definition": "sd", "licensedContent": True},
            status={"madeForKids": False},
            topicDetails={"topicCategories": ["https://en.wikipedia.org/wiki/Video_game"]},
            paidProductPlacementDetails={"hasPaidProductPlacement": True},
            localizations={"fr": {"title": "x"}, "de": {"title": "y"}},
        )
    )
    assert video.caption is True and video.definition == "sd"
    assert video.made_for_kids is False and video.has_paid_product_placement is True
    assert video.topic_categories == ["https://en.wikipedia.org/wiki/Video_game"]
    assert video.localization_languages == ["de", "fr"]
    assert video.default_language == "de" and video.category_id == "20"


def test_unusable_items_are_rejected_and_impossible_values_nulled(
    caplog: pytest.LogCaptureFixture,
):
    body = {
        "items": [
            item(),
            item(id=None),  # no id: nothing to store it under
            item(statistics={"viewCount": "12a"}),  # not a number: stored as NULL
            item(contentDetails={"duration": "five minutes"}),  # not a duration: NULL
            "not an object",
            item(id="vid00000002"),
            item(id="vid00000003", snippet={"publishedAt": "yesterday"}),  # a required time
        ]
    }
    repairs: list[Repair] = []
    records, skipped = parse_items(body, Video.from_api, method="videos.list", repairs=repairs)
    assert [v.video_id for v in records] == ["vid00000001"] * 3 + ["vid00000002"]
    assert skipped == 3
    assert (records[1].view_count, records[1].duration_seconds) == (None, 300)
    assert (records[2].view_count, records[2].duration_seconds) == (10, None)
    assert repairs == [
        Repair("videos.list", "vid00000001", ("view_count",)),
        Repair("videos.list", "vid00000001", ("duration_seconds",)),
    ]
    assert caplog.text.count("videos.list: rejected item") == 3
    assert "(id 'vid00000003')" in caplog.text and "published_at" in caplog.text
    assert caplog.text.count("videos.list: repaired item vid00000001") == 2


def test_items_that_are_not_a_list_fail_the_answer():
    with pytest.raises(ValueError, match="not a list"):
        parse_items({"items": {"a": 1}}, Video.from_api, method="videos.list")


def test_durations():
    assert duration_seconds("P0D") is None
    assert duration_seconds(None) is None
    assert duration_seconds("PT1H") == 3600
    assert duration_seconds("P1DT1S") == 86401
    assert duration_seconds("229s") == 229  # protobuf form (batchGetStats)
    assert duration_seconds("3.6s") == 4
    with pytest.raises(ValueError):
        duration_seconds("P1M")  # a month has no fixed length
    assert twitch_duration_seconds("1h3m21s") == 3600 + 3 * 60 + 21
    assert twitch_duration_seconds("3m21s") == 201
    assert is_short(None, "#shorts", [], "none") is False


def test_batch_stats_channel_and_search_records():
    stats = VideoStats.from_api(
        {
            "id": "vid00000001",
            "snippet": {"publishTime": "2026-03-01T12:00:00Z"},
            "contentDetails": {"duration": "75s"},
            "statistics": {"viewCount": "5", "likeCount": "2"},
        }
    )
    assert (stats.duration_seconds, stats.view_count, stats.like_count) == (75, 5, 2)
    assert stats.comment_count is None
    hidden = Channel.from_api(
        {
            "id": "UCx",
            "snippet": {"title": "X"},
            "statistics": {
                "hiddenSubscriberCount": True,
                "subscriberCount": "0",
                "videoCount": "3",
            },
            "contentDetails": {"relatedPlaylists": {"uploads": "UUx"}},
        }
    )
    assert hidden.subscriber_count is None and hidden.video_count == 3
    assert hidden.uploads_playlist_id == "UUx"
    with pytest.raises(ValueError, match="not a video"):
        SearchResult.from_api({"id": {"kind": "youtube#channel", "channelId": "UCx"}})


# ---------------------------------------------------------------- error answers


def test_todays_invalid_key_shape_is_a_configuration_error():
    body = {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "errors": [
                {"message": "API key not valid.", "domain": "global", "reason": "badRequest"}
            ],
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
    error = youtube_error(400, body, method="search.list", bucket="search", reset_at=RESET)
    assert isinstance(error, ConfigurationError)
    assert "YOUTUBE_API_KEY" in str(error)


def test_retryable_and_rejected_answers():
    rate = youtube_error(
        403,
        {"error": {"code": 403, "errors": [{"reason": "rateLimitExceeded"}]}},
        method="videos.list",
        bucket="default",
        reset_at=RESET,
        retry_after=7.0,
    )
    assert isinstance(rate, RetryableFailure)
    assert rate.retry_after == 7.0 and rate.breaker_failure is False
    server = youtube_error(503, None, method="videos.list", bucket="default", reset_at=RESET)
    assert isinstance(server, RetryableFailure) and server.breaker_failure is True
    missing = youtube_error(
        404,
        {"error": {"code": 404, "errors": [{"reason": "videoNotFound"}], "message": "gone"}},
        method="videos.list",
        bucket="default",
        reset_at=RESET,
    )
    assert isinstance(missing, RequestRejectedError) and missing.reason == "videoNotFound"


def test_quoted_secrets_are_redacted():
    body = {"error": {"code": 400, "errors": [{"reason": "badRequest"}], "message": "key k3y!"}}
    error = youtube_error(
        400, body, method="videos.list", bucket="default", reset_at=RESET, secrets=("k3y!",)
    )
    assert "k3y!" not in str(error) and "***" in str(error)


def test_retry_after_header_forms():
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert retry_after_seconds("12", now=now) == 12.0
    assert (
        retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 30.0
    )  # 7:28:00 - 7:27:30
    assert retry_after_seconds("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0.0  # in the past
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None
