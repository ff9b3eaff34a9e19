import random
from datetime import timedelta

import pytest

from intel_assets.analyzers import competition
from intel_assets.analyzers.competition import ChannelGroup
from intel_assets_tests.analyzers.frames import HOUR, T0, channel, inputs, stream, video

DAY = timedelta(days=1)
TOP_TWO = competition.CompetitionParams(top_channels=2)


def _videos() -> list[dict]:
    return [
        video("a1", channel_id="A", view_count=6000),
        video("a2", channel_id="A", view_count=2000),
        video("b1", channel_id="B", view_count=1000),
        video("c1", channel_id="C", view_count=1000),
        video("d1", channel_id="D", view_count=None),
    ]


def _channels() -> list[dict]:
    return [
        channel("A", published_at=T0 - 100 * DAY, subscriber_count=5_000),
        channel("B", collected_at=T0 - HOUR, published_at=T0 - 1000 * DAY, subscriber_count=9_000),
        # B's newer snapshot counts: it grew past 10,000
        channel("B", published_at=T0 - 1000 * DAY, subscriber_count=50_000),
        channel("C", published_at=T0 - 2000 * DAY, subscriber_count=2_000_000),
        channel("Z", subscriber_count=None),  # no videos of this game: not counted
    ]


def _streams() -> list[dict]:
    c1, c2 = T0 - HOUR, T0
    return [
        stream("s1", user_id="u1", collected_at=c1, viewer_count=300),
        stream("s2", user_id="u2", collected_at=c1, viewer_count=100),
        stream("s1", user_id="u1", collected_at=c2, viewer_count=500),
    ]


def test_channel_concentration():
    result = competition.analyze(inputs(_videos(), _streams(), _channels()), TOP_TWO)
    # views A 8000, B 1000, C 1000, D none: 10000
    assert (result.channel_count, result.videos_per_channel) == (4, 1.25)
    assert result.top_channels_view_share == 0.9  # (8000 + 1000) / 10000
    assert result.top_channels_video_share == 0.6  # (2 + 1) / 5
    # 80^2 + 10^2 + 10^2; videos 40^2 + 3 * 20^2
    assert result.hhi_views == pytest.approx(6600)
    assert result.hhi_videos == pytest.approx(2800)


def test_new_against_established_channels_and_size_tiers():
    result = competition.analyze(inputs(_videos(), _streams(), _channels()))
    # A is 100 days old: new; B, C established; D has no channel row
    assert result.new_channels == ChannelGroup(1, 2, 8000, 4000.0, 0.8)
    assert result.established_channels == ChannelGroup(2, 2, 2000, 1000.0, 0.2)
    assert result.unknown_age_channels == ChannelGroup(1, 1, 0, None, 0.0)
    assert result.new_vs_established_ratio == 4.0
    tiers = {name: group.channel_count for name, group in result.size_tiers.items()}
    assert tiers == {"small": 1, "mid": 1, "large": 1, "hidden": 1}


def test_twitch_crowding_and_saturation():
    result = competition.analyze(inputs(_videos(), _streams(), _channels()), TOP_TWO)
    # collection 1: u1 300 + u2 100 over 2 channels = 200; collection 2: u1 500 alone
    assert result.twitch_channel_count == 2
    assert result.twitch_avg_live_channels == 1.5
    assert result.twitch_viewers_per_channel == 350.0  # (200 + 500) / 2
    assert result.twitch_top_channels_viewer_share == 1.0
    # dominance 0.9, closedness 1 - 8000/10000 = 0.2, crowding 50 / (50 + 350) = 0.125
    assert result.saturation_components == {
        "dominance": 0.9,
        "closedness": pytest.approx(0.2),
        "crowding": 0.125,
    }
    assert result.saturation_score == pytest.approx(100 * (0.9 + 0.2 + 0.125) / 3)
    # with the default top 10 every channel is "top": dominance 1.0
    default = competition.analyze(inputs(_videos(), _streams(), _channels()))
    assert default.saturation_score == pytest.approx(100 * (1.0 + 0.2 + 0.125) / 3)


def test_missing_sources_leave_their_components_out():
    # no channel rows, no streams: only dominance is left
    result = competition.analyze(inputs(_videos()))
    assert result.saturation_components == {"dominance": 1.0, "closedness": None, "crowding": None}
    assert result.saturation_score == 100.0
    assert result.unknown_age_channels.channel_count == 4


def test_empty_input():
    result = competition.analyze(inputs())
    assert result.sample_size == 0
    assert (result.channel_count, result.hhi_views, result.saturation_score) == (0, None, None)
    assert result.to_dict()["new_channels"] == {
        "channel_count": 0, "video_count": 0, "total_views": 0, "avg_views_per_video": None,
        "view_share": None,
    }  # fmt: skip


def test_one_video_with_huge_views():
    result = competition.analyze(inputs([video("a", view_count=9_000_000_000)]))
    assert (result.hhi_views, result.top_channels_view_share) == (10_000.0, 1.0)


def test_same_input_in_any_row_order_gives_identical_output():
    videos, streams, channels = _videos(), _streams(), _channels()
    first = competition.analyze(inputs(videos, streams, channels)).to_dict()
    for rows in (videos, streams, channels):
        random.Random(1).shuffle(rows)
    assert competition.analyze(inputs(videos, streams, channels)).to_dict() == first
