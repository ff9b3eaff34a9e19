import random

import pytest

from intel_assets.analyzers import format as format_analyzer
from intel_assets.analyzers.format import DurationBucketStats, FormatStats
from intel_assets_tests.analyzers.frames import inputs, video


def _videos() -> list[dict]:
    return [
        # engagement = (likes + comments) / views
        video("s1", duration_seconds=30, is_short=True, view_count=9000, like_count=900,
              comment_count=0, definition="hd"),  # 0.1
        video("s2", duration_seconds=50, is_short=True, view_count=3000, like_count=None,
              definition="sd", caption=None),  # likes hidden: no engagement
        video("l1", duration_seconds=600, view_count=4000, like_count=200, comment_count=0,
              caption=True),  # 0.05
        video("l2", duration_seconds=700, view_count=2000, like_count=100, comment_count=0),
        video("l3", duration_seconds=1200, view_count=2000, like_count=40, comment_count=0),
        video("l4", duration_seconds=None, view_count=5000, definition=None),  # (50+10)/5000
        video("l5", duration_seconds=300, view_count=None),
        video("up", duration_seconds=None, view_count=0, live_state="upcoming"),
    ]  # fmt: skip


def test_duration_buckets_with_performance_index_against_the_game_average():
    result = format_analyzer.analyze(inputs(_videos()), format_analyzer.FormatParams(2))
    # duration and views known: s1 9000, s2 3000, l1 4000, l2 2000, l3 2000 -> mean 4000
    buckets = {b.bucket_label: b for b in result.buckets}
    assert [b.bucket_label for b in result.buckets] == [
        "under_1m", "1_3m", "3_8m", "8_15m", "15_30m", "30_60m", "over_60m",
    ]  # fmt: skip
    # s1, s2: avg 6000 / 4000 = 1.5; engagement only s1's 0.1 (s2 hides likes)
    assert buckets["under_1m"] == DurationBucketStats("under_1m", 0, 60, 2, 6000.0, 0.1, 12000, 1.5)
    # l1, l2: 3000 / 4000 = 0.75
    assert buckets["8_15m"] == DurationBucketStats("8_15m", 480, 900, 2, 3000.0, 0.05, 6000, 0.75)
    # l3: (40+0)/2000 = 0.02, 2000/4000 = 0.5
    assert buckets["15_30m"] == DurationBucketStats("15_30m", 900, 1800, 1, 2000.0, 0.02, 2000, 0.5)
    # l5 has no views: 3_8m is empty
    assert buckets["3_8m"] == DurationBucketStats("3_8m", 180, 480, 0, None, None, 0, None)
    # under_1m has the best index among buckets with >= 2 videos
    assert result.optimal_duration_range == "under_1m"
    # durations of finished videos: (30+50+600+700+1200+300)/6
    assert result.avg_duration_seconds == 480.0
    assert (result.videos_without_views, result.videos_without_duration) == (1, 1)
    assert result.broadcasts_excluded == 1
    assert result.sample_size == 6  # s1, s2, l1, l2, l3, l4


def test_shorts_against_longform():
    result = format_analyzer.analyze(inputs(_videos()))
    assert result.shorts == FormatStats(2, 6000.0, 12000, 0.1)
    # l1..l4: 13000 / 4; engagement (0.05 + 0.05 + 0.02 + 60/5000) / 4 = 0.132 / 4
    longform = result.longform
    assert (longform.video_count, longform.avg_views, longform.total_views) == (4, 3250.0, 13000)
    assert longform.avg_engagement == pytest.approx(0.033)
    assert result.shorts_performance_ratio == pytest.approx(6000 / 3250)
    # with the default minimum of 5 videos no bucket qualifies
    assert result.optimal_duration_range is None


def test_hd_and_captions_against_views():
    result = format_analyzer.analyze(inputs(_videos()))
    # all six with views: 25000 / 6 = 4166.67 average
    average = 25000 / 6
    # hd: s1, l1, l2, l3 = 17000 / 4 = 4250
    hd, sd = result.definition.hd, result.definition.sd
    assert (hd.video_count, hd.avg_views, hd.total_views) == (4, 4250.0, 17000)
    assert hd.performance_index == pytest.approx(4250 / average)
    assert (sd.video_count, sd.avg_views, sd.total_views) == (1, 3000.0, 3000)
    assert sd.performance_index == pytest.approx(3000 / average)
    assert result.definition.unknown_count == 1  # l4
    # captions: l1 with (4000); s1, l2, l3, l4 without (18000 / 4 = 4500); s2 unknown
    captions = result.captions
    assert captions.with_feature.avg_views == 4000.0
    assert captions.without_feature.avg_views == 4500.0
    assert captions.unknown_count == 1
    assert captions.lift == pytest.approx(4000 / 4500)


def test_to_dict_keys_the_rollups_read():
    data = format_analyzer.analyze(inputs(_videos())).to_dict()
    assert {"buckets", "optimal_duration_range", "shorts", "longform", "shorts_performance_ratio",
            "definition", "captions"} <= set(data)  # fmt: skip
    assert set(data["buckets"][0]) == {
        "bucket_label", "bucket_min_seconds", "bucket_max_seconds", "video_count", "avg_views",
        "avg_engagement", "total_views", "performance_index",
    }  # fmt: skip


def test_empty_input():
    result = format_analyzer.analyze(inputs())
    assert result.sample_size == 0
    assert [b.video_count for b in result.buckets] == [0] * 7
    assert result.optimal_duration_range is None
    assert result.shorts_performance_ratio is None
    assert result.to_dict()["shorts"] == {
        "video_count": 0, "avg_views": None, "total_views": 0, "avg_engagement": None,
    }  # fmt: skip


def test_one_video_without_likes_and_huge_views():
    result = format_analyzer.analyze(
        inputs([video("a", duration_seconds=7200, view_count=12_000_000_000, like_count=None)]),
        format_analyzer.FormatParams(1),
    )
    over = result.buckets[-1]
    assert (over.video_count, over.total_views, over.performance_index) == (1, 12_000_000_000, 1.0)
    assert over.avg_engagement is None
    assert result.optimal_duration_range == "over_60m"


def test_same_input_in_any_row_order_gives_identical_output():
    rows = _videos()
    shuffled = rows[:]
    random.Random(5).shuffle(shuffled)
    first = format_analyzer.analyze(inputs(rows)).to_dict()
    assert first == format_analyzer.analyze(inputs(shuffled)).to_dict()
