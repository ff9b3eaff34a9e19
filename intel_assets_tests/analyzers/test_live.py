import random
from datetime import timedelta

import pytest

from intel_assets.analyzers import live
from intel_assets.analyzers.live import StreamStartHour, TimeSlot
from intel_assets_tests.analyzers.frames import HOUR, T0, inputs, stream, video

MONDAY_10 = T0 - 2 * HOUR  # T0 is Monday 2026-03-02 12:00 UTC
SUNDAY_18 = T0 - 18 * HOUR
S = T0 - 5 * HOUR  # a scheduled start
SECOND = timedelta(seconds=1)


def _videos() -> list[dict]:
    return [
        # p1 was live as a premiere an hour ago; ended now, YouTube no longer says premiere
        video("p1", collected_at=T0 - HOUR, is_premiere=True, live_state="live",
              scheduled_start=S, actual_start=S + 120 * SECOND, view_count=1000,
              published_at=MONDAY_10),
        video("p1", is_premiere=None, live_state="ended", scheduled_start=S,
              actual_start=S + 120 * SECOND, view_count=5000, published_at=MONDAY_10),
        video("p2", is_premiere=True, live_state="ended", scheduled_start=S,
              actual_start=S + 600 * SECOND, view_count=3000, published_at=SUNDAY_18),
        video("p3", is_premiere=True, live_state="upcoming", scheduled_start=T0 + 2 * HOUR,
              view_count=0, published_at=T0 - HOUR),
        video("i1", view_count=2000, published_at=MONDAY_10),
        video("i2", view_count=1000, published_at=SUNDAY_18),
        video("i3", view_count=None, published_at=MONDAY_10),
        video("ls", is_premiere=False, live_state="live", scheduled_start=S,
              actual_start=S - 60 * SECOND, concurrent_viewers=700, view_count=800,
              published_at=T0 - HOUR),
    ]  # fmt: skip


def test_premieres_against_instant_uploads():
    result = live.analyze(inputs(_videos()))
    # started premieres p1 (5000, flagged in its earlier snapshot) and p2 (3000); p3 upcoming
    assert (result.premiere_count, result.upcoming_premiere_count) == (2, 1)
    assert result.premiere_avg_views == 4000.0
    # instant i1, i2, i3 (no views): (2000 + 1000) / 2
    assert (result.instant_count, result.instant_avg_views) == (3, 1500.0)
    assert result.performance_ratio == pytest.approx(4000 / 1500)
    assert result.other_broadcast_count == 1  # the live stream


def test_delay_and_on_time_share():
    result = live.analyze(inputs(_videos()))
    # p1 +120 s, p2 +600 s, ls -60 s: mean 660 / 3; on time (<= 300 s): p1, ls
    assert result.scheduled_count == 3
    assert result.avg_delay_seconds == 220.0
    assert result.on_time_percent == pytest.approx(200 / 3)


def test_best_and_worst_publish_times():
    result = live.analyze(inputs(_videos()))
    # finished videos with views: p1 5000, p2 3000, i1 2000, i2 1000: mean 2750.
    # Monday 10h: p1, i1 -> 7000 / 2 / 2750; Sunday 18h: p2, i2 -> 2000 / 2750
    (best,) = result.best_times
    assert (best.hour_utc, best.day_of_week, best.video_count) == (10, 0, 2)
    assert best.performance_index == pytest.approx(3500 / 2750)
    (worst,) = result.worst_times
    assert (worst.hour_utc, worst.day_of_week, worst.video_count) == (18, 6, 2)
    assert worst.performance_index == pytest.approx(2000 / 2750)
    assert [(s.hour_utc, s.day_of_week, s.video_count) for s in result.by_hour] == [
        (10, None, 2), (18, None, 2),
    ]  # fmt: skip
    assert [(s.day_of_week, s.video_count) for s in result.by_weekday] == [(0, 2), (6, 2)]
    assert result.to_dict()["best_times"] == [
        {"hour_utc": 10, "day_of_week": 0, "performance_index": 1.2727, "video_count": 2}
    ]


def test_live_now_on_youtube_and_twitch_start_hours():
    streams = [
        stream("a", collected_at=T0 - HOUR, started_at=MONDAY_10, viewer_count=100),
        stream("a", collected_at=T0, started_at=MONDAY_10, viewer_count=300),
        stream("b", started_at=MONDAY_10 + HOUR / 2, viewer_count=400),
        stream("c", started_at=T0 - 4 * HOUR, viewer_count=50),
    ]
    result = live.analyze(inputs(_videos(), streams))
    assert (result.youtube_live_now, result.youtube_upcoming) == (1, 1)
    assert (result.youtube_concurrent_viewers, result.youtube_max_concurrent_viewers) == (700, 700)
    # 8h: c 50; 10h: a (100+300)/2 = 200 and b 400 -> (200 + 400) / 2
    assert result.twitch_start_hours == [StreamStartHour(8, 1, 50.0), StreamStartHour(10, 2, 300.0)]
    assert result.twitch_best_start_hour == 10  # 8h has one stream only


def test_empty_input():
    result = live.analyze(inputs())
    assert result.sample_size == 0
    assert (result.premiere_count, result.instant_count, result.performance_ratio) == (0, 0, None)
    assert (result.avg_delay_seconds, result.on_time_percent) == (None, None)
    assert result.best_times == [] and result.twitch_best_start_hour is None


def test_one_instant_upload():
    result = live.analyze(inputs([video("a", view_count=10)]), live.LiveParams(min_cell_videos=1))
    # one cell: it is the best, and no cell is left to be the worst
    assert result.best_times == [TimeSlot(12, 6, 1.0, 1)]  # published T0 - 24 h: Sunday 12h
    assert result.worst_times == []
    assert result.performance_ratio is None


def test_same_input_in_any_row_order_gives_identical_output():
    rows = _videos()
    shuffled = rows[:]
    random.Random(9).shuffle(shuffled)
    assert live.analyze(inputs(rows)).to_dict() == live.analyze(inputs(shuffled)).to_dict()
