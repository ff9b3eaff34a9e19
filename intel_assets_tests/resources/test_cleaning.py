"""The model boundary: every value an API sends becomes storable, or its item is rejected."""

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from intel_assets.resources.cleaning import BIGINT_MAX, INTEGER_MAX, storable_text
from intel_assets.resources.twitch_models import Stream
from intel_assets.resources.youtube_models import Repair, Video, VideoStats, parse_items


def video_item(video_id: str = "vid00000001", **parts: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": video_id,
        "snippet": {
            "publishedAt": "2026-11-18T12:00:00Z",
            "channelId": "UCchannel",
            "title": "Fortnite clutch",
            "description": "a description",
            "liveBroadcastContent": "none",
            "tags": ["fortnite"],
        },
        "contentDetails": {"duration": "PT5M", "caption": "true"},
        "statistics": {"viewCount": "1200", "likeCount": "30", "commentCount": "4"},
    }
    for name, values in parts.items():
        body[name] = {**body.get(name, {}), **values}
    return body


def stream_item(stream_id: str = "41000000001", **fields: Any) -> dict[str, Any]:
    return {
        "id": stream_id,
        "user_id": "141981764",
        "user_login": "somebody",
        "user_name": "Somebody",
        "game_id": "33214",
        "game_name": "Fortnite",
        "type": "live",
        "title": "ranked grind",
        "tags": ["English"],
        "viewer_count": 88,
        "started_at": "2026-11-18T11:00:00Z",
        "language": "en",
        "is_mature": False,
        "thumbnail_url": "https://example.invalid/{width}x{height}.jpg",
        **fields,
    }


def _parse_videos(items: list[Any]) -> tuple[list[Video], int, list[Repair]]:
    repairs: list[Repair] = []
    records, rejected = parse_items(
        {"items": items}, Video.from_api, method="videos.list", repairs=repairs
    )
    return records, rejected, repairs


def test_each_poisoned_value_of_the_issue_is_repaired_and_the_rest_kept_exactly():
    items = [
        video_item("vid0000000A", statistics={"viewCount": "99999999999999999999"}),
        video_item("vid0000000B", snippet={"title": "Fort\x00nite \x00clutch"}),
        video_item("vid0000000C", snippet={"title": "Fortnite \ud800 clutch"}),
        video_item("vid0000000D", contentDetails={"duration": "PT99999999999H"}),
        video_item("vid0000000E"),
    ]
    records, rejected, repairs = _parse_videos(items)
    assert rejected == 0
    by_id = {v.video_id: v for v in records}
    # 99999999999999999999 > 9223372036854775807 (BIGINT): NULL; likes and comments kept.
    assert by_id["vid0000000A"].view_count is None
    assert (by_id["vid0000000A"].like_count, by_id["vid0000000A"].comment_count) == (30, 4)
    # The NULs go, every other character stays.
    assert by_id["vid0000000B"].title == "Fortnite clutch"
    # A lone surrogate becomes U+FFFD.
    assert by_id["vid0000000C"].title == "Fortnite \ufffd clutch"
    # 99999999999 hours overflow any timedelta: NULL, and no Short can be told from it.
    assert by_id["vid0000000D"].duration_seconds is None
    assert by_id["vid0000000D"].is_short is False
    assert by_id["vid0000000D"].view_count == 1200
    # The clean item is exactly what the API said.
    clean = by_id["vid0000000E"]
    assert (clean.title, clean.duration_seconds, clean.view_count, clean.caption) == (
        "Fortnite clutch",
        300,
        1200,
        True,
    )
    assert repairs == [
        Repair("videos.list", "vid0000000A", ("view_count",)),
        Repair("videos.list", "vid0000000B", ("title",)),
        Repair("videos.list", "vid0000000C", ("title",)),
        Repair("videos.list", "vid0000000D", ("duration_seconds",)),
    ]


def test_numbers_beyond_their_columns_are_null_and_at_the_limit_kept():
    records, rejected, repairs = _parse_videos(
        [
            video_item("vid0000000A", statistics={"viewCount": str(BIGINT_MAX)}),
            video_item("vid0000000B", statistics={"likeCount": str(BIGINT_MAX + 1)}),
            video_item("vid0000000C", statistics={"commentCount": "-4"}),
            # INTEGER_MAX seconds is 68 years: the limit of the duration column.
            video_item("vid0000000D", contentDetails={"duration": f"PT{INTEGER_MAX}S"}),
            video_item("vid0000000E", contentDetails={"duration": f"PT{INTEGER_MAX + 1}S"}),
            video_item("vid0000000F", contentDetails={"duration": "1e400s"}),
        ]
    )
    assert rejected == 0
    values = [(v.view_count, v.like_count, v.comment_count, v.duration_seconds) for v in records]
    assert values == [
        (BIGINT_MAX, 30, 4, 300),
        (1200, None, 4, 300),
        (1200, 30, None, 300),
        (1200, 30, 4, INTEGER_MAX),
        (1200, 30, 4, None),
        (1200, 30, 4, None),
    ]
    assert [r.fields for r in repairs] == [
        ("like_count",),
        ("comment_count",),
        ("duration_seconds",),
        ("duration_seconds",),
    ]


def test_unreadable_optional_fields_are_null_and_required_ones_reject_the_item():
    records, rejected, repairs = _parse_videos(
        [
            video_item(
                "vid0000000A",
                snippet={"channelTitle": 5, "description": ["x"], "tags": "not a list"},
                contentDetails={"caption": "maybe"},
                liveStreamingDetails={"scheduledStartTime": "soon"},
            ),
            video_item("vid0000000B", snippet={"publishedAt": "soon"}),
            video_item("vid0000000C", snippet={"title": None}),
        ]
    )
    assert rejected == 2
    assert len(records) == 1
    video = records[0]
    assert (video.channel_title, video.description, video.tags, video.caption) == (
        None,
        "",
        [],
        None,
    )
    assert video.scheduled_start is None
    assert set(repairs[0].fields) == {
        "channel_title",
        "description",
        "tags",
        "caption",
        "scheduled_start",
    }


def test_stats_and_streams_are_validated_the_same_way():
    stats = VideoStats.from_api(
        {"id": "vid0000000A", "statistics": {"viewCount": "99999999999999999999", "likeCount": "7"}}
    )
    assert (stats.view_count, stats.like_count) == (None, 7)
    repairs: list[Repair] = []
    streams, rejected = parse_items(
        {
            "data": [
                stream_item("41000000001", title="gg\x00 \ud83d"),
                # stream_snapshots.viewer_count is an INTEGER that must be there: unusable.
                stream_item("41000000002", viewer_count=99999999999999999999),
                stream_item("41000000003", is_mature="sometimes"),
            ]
        },
        Stream.from_api,
        method="streams",
        key="data",
        repairs=repairs,
    )
    assert rejected == 1
    assert [(s.stream_id, s.title, s.is_mature) for s in streams] == [
        ("41000000001", "gg \ufffd", False),
        ("41000000003", "ranked grind", None),
    ]
    assert repairs == [
        Repair("streams", "41000000001", ("title",)),
        Repair("streams", "41000000003", ("is_mature",)),
    ]


POISON = st.one_of(
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["PT99999999999H", "P0D", "PT1H2M", "nan", "\x00", "\ud800", "1e400s"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
)
PATHS = [
    ("snippet", "title"),
    ("snippet", "description"),
    ("snippet", "channelTitle"),
    ("snippet", "publishedAt"),
    ("snippet", "tags"),
    ("snippet", "defaultAudioLanguage"),
    ("contentDetails", "duration"),
    ("contentDetails", "caption"),
    ("statistics", "viewCount"),
    ("statistics", "likeCount"),
    ("liveStreamingDetails", "concurrentViewers"),
    ("liveStreamingDetails", "actualStartTime"),
]


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        return storable_text(value) == value
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return 0 <= value <= BIGINT_MAX
    return True


@settings(max_examples=300, deadline=None)
@given(poison=st.lists(st.tuples(st.sampled_from(PATHS), POISON), min_size=1, max_size=4))
def test_fuzzed_items_are_stored_storable_or_rejected_and_never_fail_the_page(
    poison: list[tuple[tuple[str, str], Any]],
):
    bad = video_item("vid0000000P")
    for (part, name), value in poison:
        bad[part] = {**bad.get(part, {}), name: value}
    records, rejected, _ = _parse_videos([video_item("vid0000000A"), bad])
    assert records[0] == Video.from_api(video_item("vid0000000A"))  # the rest, exactly
    assert len(records) + rejected == 2
    for video in records:
        row = video.model_dump()
        assert all(_storable(value) for value in row.values()), row
        assert row["duration_seconds"] is None or row["duration_seconds"] <= INTEGER_MAX
        json.dumps(video.model_dump(mode="json"), ensure_ascii=False).encode()
