import itertools
from datetime import UTC, datetime

import pandas as pd
import pytest

from intel_assets.analyzers.common import (
    DURATION_BUCKETS,
    duration_bucket_labels,
    engagement_rate,
    latest_per_video,
)


def test_duration_buckets_tile_zero_to_twelve_hours_without_gaps():
    assert DURATION_BUCKETS[0].min_seconds == 0
    assert DURATION_BUCKETS[-1].max_seconds == 12 * 3600
    for left, right in itertools.pairwise(DURATION_BUCKETS):
        assert left.max_seconds == right.min_seconds


def test_durations_fall_in_half_open_buckets():
    labels = duration_bucket_labels(pd.Series([0, 59, 60, 179, 180, 3599, 3600, None, 50_000]))
    assert labels.tolist() == [
        "under_1m",
        "under_1m",
        "1_3m",
        "1_3m",
        "3_8m",
        "30_60m",
        "over_60m",
        None,
        None,
    ]


def test_engagement_is_likes_plus_comments_over_views_and_undefined_when_likes_hidden():
    frame = pd.DataFrame(
        {
            "view_count": [1000, 1000, 0, 500, 10],
            "like_count": [40, None, 5, 20, 30],
            "comment_count": [10, 10, 1, None, 5],
        }
    )
    rate = engagement_rate(frame)
    # 50/1000; hidden likes; no views; 20/500 with comments hidden; (30+5)/10 capped at 1
    assert rate[0] == pytest.approx(0.05)
    assert pd.isna(rate[1])
    assert pd.isna(rate[2])
    assert rate[3] == pytest.approx(0.04)
    assert rate[4] == 1.0


def test_latest_per_video_keeps_each_videos_newest_snapshot_per_game():
    t1, t2 = datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 1, 12, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "game_key": ["fortnite", "fortnite", "fortnite", "minecraft"],
            "video_id": ["a", "a", "b", "a"],
            "collected_at": [t2, t1, t1, t1],
            "view_count": [200, 100, 7, 100],
        }
    )
    latest = latest_per_video(frame)
    assert sorted(zip(latest.game_key, latest.video_id, latest.view_count, strict=True)) == [
        ("fortnite", "a", 200),
        ("fortnite", "b", 7),
        ("minecraft", "a", 100),
    ]


def test_latest_per_video_breaks_a_collected_at_tie_by_views_not_row_order():
    t = datetime(2026, 3, 1, 10, tzinfo=UTC)
    rows = {"game_key": ["g", "g", "g"], "video_id": ["a", "a", "a"], "collected_at": [t] * 3}
    for views in ([7, None, 5], [5, 7, None], [None, 5, 7]):
        latest = latest_per_video(pd.DataFrame({**rows, "view_count": views}))
        assert latest.view_count.tolist() == [7]
