"""The simulator's JSON against the real responses in fixtures/real and Google's schemas."""

from datetime import timedelta

import pytest

from intel_assets.simulator import RunningSimulator
from intel_assets_tests.simulator.conftest import (
    CLIENT_ID,
    KEY,
    NOW,
    fixture,
    helix_headers,
    youtube,
)
from intel_assets_tests.simulator.shapes import (
    always_present,
    merged_shape,
    schema_problems,
    shape_problems,
)

ALL_PARTS = (
    "snippet,contentDetails,statistics,liveStreamingDetails,topicDetails,status,"
    "localizations,paidProductPlacementDetails"
)
DISCOVERY = fixture("youtube/youtube_v3_discovery_subset_rev20261104.json")
SCHEMAS = DISCOVERY["schemas"]
REAL_CHART = fixture("youtube/videos_list_mostPopular_US_2020-04-24.json")


def _varied_video_ids(sim: RunningSimulator) -> list[str]:
    """50 videos covering uploads, Shorts, streams and premieres in every state."""
    videos = sim.world.videos_at(NOW, timedelta(days=3))
    broadcasts = [v for v in videos if v.live_kind != "none"]
    uploads = [v for v in videos if v.live_kind == "none"]
    return [v.video_id for v in (broadcasts[:20] + uploads[:30])]


def test_videos_list_items_have_the_real_shape_and_the_schema(sim, http):
    body = youtube(http, sim, "videos", part=ALL_PARTS, id=",".join(_varied_video_ids(sim)))
    assert body.status_code == 200
    answer = body.json()
    real_items = merged_shape(REAL_CHART["items"])
    real_top = merged_shape([REAL_CHART])

    assert len(answer["items"]) == 50
    assert {"kind", "etag", "items", "pageInfo"} <= set(answer)
    assert shape_problems({k: v for k, v in answer.items() if k != "items"}, real_top) == []
    assert schema_problems(answer, {"$ref": "VideoListResponse"}, SCHEMAS) == []
    for item in answer["items"]:
        # The 2020 recording has only snippet, contentDetails, statistics: compare those.
        recorded_parts = {k: v for k, v in item.items() if k not in ALL_PARTS.split(",")[3:]}
        assert shape_problems(recorded_parts, real_items) == []
        for part in ("snippet", "contentDetails"):
            missing = always_present(real_items["keys"][part]) - set(item[part])
            # Tags are optional (absent when a video has none); regionRestriction is rare.
            assert missing <= {"tags"}, (part, missing)
        truth = sim.world.video(item["id"])
        assert truth is not None
        # dislikeCount has been private since December 2021; hidden counts are absent.
        expected_stats = {"viewCount", "favoriteCount"}
        expected_stats |= set() if truth.likes_hidden else {"likeCount"}
        expected_stats |= set() if truth.comments_disabled else {"commentCount"}
        assert set(item["statistics"]) == expected_stats


def test_chart_pages_have_the_real_top_level_keys(sim, http):
    answer = youtube(
        http, sim, "videos", part="snippet", chart="mostPopular", regionCode="US", maxResults=50
    ).json()

    # Page 1 of 4 of the real chart: kind, etag, nextPageToken, pageInfo, items.
    assert set(answer) == set(REAL_CHART)
    assert answer["pageInfo"] == {"totalResults": 200, "resultsPerPage": 50}
    assert answer["nextPageToken"] == REAL_CHART["nextPageToken"] == "CDIQAA"


def test_batch_get_stats_matches_its_discovery_schema(sim, http):
    answer = youtube(
        http,
        sim,
        "videos:batchGetStats",
        part="snippet,statistics,contentDetails",
        id=",".join(_varied_video_ids(sim)),
    ).json()

    assert answer["kind"] == "youtube#batchGetStatsResponse"
    assert schema_problems(answer, {"$ref": "BatchGetStatsResponse"}, SCHEMAS) == []
    assert {item["kind"] for item in answer["items"]} == {"youtube#videoStats"}


def test_video_categories_are_the_real_us_list(sim, http):
    answer = youtube(http, sim, "videoCategories", part="snippet", regionCode="US").json()
    real = fixture("youtube/videoCategories_list_US_category_id.json")
    other_real = fixture("youtube/videoCategories_list_TimFinnigan.json")

    shape = merged_shape([real, other_real])
    assert shape_problems(answer, shape) == []
    assert schema_problems(answer, {"$ref": "VideoCategoryListResponse"}, SCHEMAS) == []
    ours = [(i["id"], i["snippet"]["title"], i["snippet"]["assignable"]) for i in answer["items"]]
    theirs = [(i["id"], i["snippet"]["title"], i["snippet"]["assignable"]) for i in real["items"]]
    assert ours == theirs
    assert ("20", "Gaming", True) in ours


def test_quota_exceeded_is_the_real_body(sim, http):
    sim.set_quota_limit("default", 0)

    answer = youtube(http, sim, "videos", part="id", chart="mostPopular")

    assert answer.status_code == 403
    assert answer.json() == fixture("youtube/error_quotaExceeded_403_ShareX-issue-4477.json")


def test_invalid_key_is_todays_400_with_api_key_invalid(sim, http):
    answer = youtube(http, sim, "videos", part="id", chart="mostPopular", key="not-the-key")
    legacy = fixture("youtube/error_keyInvalid_400_legacy_alaouy-YouTube-issue-101.json")

    error = answer.json()["error"]
    assert answer.status_code == legacy["error"]["code"] == 400
    assert set(legacy["error"]) <= set(error)
    assert set(legacy["error"]["errors"][0]) <= set(error["errors"][0])
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["errors"][0]["reason"] == "badRequest"
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_have_the_modern_google_shape(sim, http, status):
    from intel_assets.simulator import Fault

    sim.inject(Fault(kind="status", api="youtube", status=status))
    answer = youtube(http, sim, "videos", part="id", chart="mostPopular")
    modern = fixture("youtube/python-youtube_error_permission_resp.json")

    assert answer.status_code == status
    error = answer.json()["error"]
    assert set(error) == set(modern["error"])  # code, message, errors, status
    assert set(error["errors"][0]) == set(modern["error"]["errors"][0])
    assert error["errors"][0]["reason"] == "backendError"
    assert error["code"] == status


def test_too_many_ids_has_the_error_shape_of_the_recordings(sim, http):
    ids = ",".join([*_varied_video_ids(sim), "aaaaaaaaaaa"])  # 51 ids
    answer = youtube(http, sim, "videos", part="id", id=ids)
    legacy = fixture(
        "youtube/error_dailyLimitExceeded_403_legacy_SMAPPNYU-youtube-data-api-issue-22.json"
    )

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(legacy["error"]) <= set(error)
    assert set(legacy["error"]["errors"][0]) <= set(error["errors"][0])
    assert error["errors"][0]["reason"] == "invalidFilters"


TWITCH_EXAMPLES = {
    "streams": (["twitch/get_streams_example1.json", "twitch/get_streams_example2.json"], {}),
    "games/top": (["twitch/get_top_games_example1.json"], {}),
    "games": (["twitch/get_games_example1.json"], {"id": ["33214", "509658"]}),
    "videos": (["twitch/get_videos_example1.json"], {"game_id": "33214"}),
    "search/categories": (["twitch/search_categories_example1.json"], {"query": "fort"}),
}
# Helix documents these two as nullable; the one recorded example happens to show one form.
NULLABLE = {"stream_id": {"string", "null"}, "muted_segments": {"array", "null"}}


@pytest.mark.parametrize("endpoint", sorted(TWITCH_EXAMPLES))
def test_helix_answers_have_the_example_shapes(sim, http, endpoint):
    names, params = TWITCH_EXAMPLES[endpoint]
    examples = [fixture(name) for name in names]
    answer = http.get(
        f"{sim.twitch_url}/{endpoint}", params=params, headers=helix_headers(http, sim)
    )

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == set(examples[0])
    shape = merged_shape([item for example in examples for item in example["data"]])
    for key, kinds in NULLABLE.items():
        if key in shape["keys"]:
            shape["keys"][key]["types"] |= kinds
    assert body["data"], endpoint
    for item in body["data"]:
        assert set(item) == set(shape["keys"]), endpoint
        assert shape_problems(item, shape) == []


def test_helix_channels_have_the_example_shape(sim, http):
    headers = helix_headers(http, sim)
    streams = http.get(f"{sim.twitch_url}/streams", headers=headers).json()["data"]
    example = fixture("twitch/get_channel_information_example1.json")

    answer = http.get(
        f"{sim.twitch_url}/channels",
        params={"broadcaster_id": [s["user_id"] for s in streams[:3]]},
        headers=headers,
    ).json()

    shape = merged_shape(example["data"])
    assert set(answer) == set(example)
    assert len(answer["data"]) == 3
    for item in answer["data"]:
        assert set(item) == set(shape["keys"])
        assert shape_problems(item, shape) == []


def test_token_has_the_documented_shape(sim, http):
    example = fixture("twitch/oauth2_token_client_credentials_doc_example.json")

    answer = http.post(
        f"{sim.auth_url}/token",
        params={
            "client_id": CLIENT_ID,
            "client_secret": "simulator-secret",
            "grant_type": "client_credentials",
        },
    ).json()

    assert shape_problems(answer, merged_shape([example])) == []
    assert set(answer) == set(example)
    assert answer["token_type"] == "bearer"


def test_a_key_in_another_script_is_just_invalid(sim, http):
    answer = youtube(http, sim, "videos", part="id", chart="mostPopular", key="ключ")

    assert answer.status_code == 400
    assert answer.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_key_is_never_in_a_body(sim, http):
    answer = youtube(http, sim, "videos", part="id", chart="mostPopular", key="not-the-key")

    assert KEY not in answer.text and "not-the-key" not in answer.text
