import random

import pytest

from intel_assets.analyzers import viral
from intel_assets_tests.analyzers.frames import HOUR, T0, inputs, video


def _history(video_id: str, views: list[int | None], **fields: object) -> list[dict]:
    """One snapshot an hour, the last at T0."""
    start = T0 - (len(views) - 1) * HOUR
    return [
        video(video_id, collected_at=start + i * HOUR, view_count=v, **fields)
        for i, v in enumerate(views)
    ]


def _game() -> list[dict]:
    rows: list[dict] = []
    # Long-form, views at T0-2h, T0-1h, T0: latest velocity and acceleration per video
    rows += _history("l1", [0, 100, 200])  # 100/h, accel 0
    rows += _history("l2", [0, 100, 200])  # 100/h, accel 0
    rows += _history("l3", [0, 300, 500])  # 200/h, accel -100
    rows += _history("l4", [0, 200, 400])  # 200/h, accel 0
    rows += _history("l5", [0, 300, 600])  # 300/h, accel 0
    rows += _history("l6", [0, 200, 700], title="Climbing")  # 500/h, accel +300
    rows += _history("l7", [0, 500, 2000], title="Exploding")  # 1500/h, accel +1000
    # Shorts: 1000/h, 2000/h, 9000/h
    rows += _history("s1", [0, 1000, 2000], is_short=True)
    rows += _history("s2", [0, 2000, 4000], is_short=True)
    rows += _history("s3", [0, 4000, 13000], is_short=True, title="すごい")
    return rows


def test_viral_and_rising_against_separate_shorts_and_longform_baselines():
    result = viral.analyze(inputs(_game()))
    # long-form velocities sorted 100,100,200,200,300,500,1500: median 200,
    # upper quartile at position 6*0.75=4.5: 300 + 0.5*(500-300) = 400,
    # viral at max(3*200, 100) = 600
    assert result.baselines["longform"] == viral.FormatBaseline(7, 200.0, 400.0, 600.0)
    # Shorts 1000,2000,9000: median 2000, quartile at 1.5: 2000 + 0.5*7000 = 5500,
    # viral at max(3*2000, 1000) = 6000. s1 (1000/h) would be viral against long-form; not here.
    assert result.baselines["shorts"] == viral.FormatBaseline(3, 2000.0, 5500.0, 6000.0)
    assert [(v.video_id, v.velocity, v.acceleration) for v in result.viral_videos] == [
        ("s3", 9000.0, 5000.0),  # (9000 - 4000) / 1h between interval midpoints
        ("l7", 1500.0, 1000.0),
    ]
    assert result.viral_videos[0].title == "すごい" and result.viral_videos[0].views == 13000
    # l6: 500 > 400 and accelerating (+300) but under 600: rising
    assert [(v.video_id, v.acceleration) for v in result.rising_videos] == [("l6", 300.0)]
    assert (result.viral_video_count, result.rising_video_count) == (2, 1)
    # (100+100+200+200+300+500+1500+1000+2000+9000) / 10 = 14900 / 10
    assert result.avg_velocity == 1490.0
    assert result.max_velocity == 9000.0
    assert result.sample_size == result.videos_with_velocity == 10
    assert result.videos_without_history == 0


# A lone video is its own median; multiplier 1 and no floor make it viral, so it is listed.
EVERY_VIDEO_VIRAL = viral.ViralParams(viral_multiplier=1.0, longform_min_viral_velocity=0.0)


def test_velocity_uses_real_elapsed_time_between_snapshots():
    rows = [
        video("a", collected_at=T0 - 3 * HOUR, view_count=1000),
        video("a", collected_at=T0 - 2 * HOUR, view_count=1600),  # 600 in 1 h
        video("a", collected_at=T0, view_count=2000),  # 400 in 2 h
    ]
    (only,) = viral.analyze(inputs(rows), EVERY_VIDEO_VIRAL).viral_videos
    # latest interval 200/h; midpoints T0-2.5h and T0-1h are 1.5 h apart: (200-600)/1.5
    assert only.velocity == 200.0
    assert only.acceleration == pytest.approx(-266.6667, abs=1e-4)


def test_empty_input():
    result = viral.analyze(inputs())
    assert result.sample_size == 0
    assert (result.viral_video_count, result.avg_velocity, result.max_velocity) == (0, None, None)
    assert result.baselines["shorts"] == viral.FormatBaseline(0, None, None, 1000.0)
    assert result.to_dict()["viral_videos"] == []


def test_a_video_seen_once_is_counted_not_dropped():
    result = viral.analyze(inputs([video("once", view_count=5000)]))
    assert (result.videos_seen, result.videos_without_history, result.sample_size) == (1, 1, 0)


def test_same_collected_at_keeps_the_higher_count_and_divides_by_no_zero():
    rows = [
        video("a", collected_at=T0 - HOUR, view_count=100),
        video("a", collected_at=T0, view_count=300),
        video("a", collected_at=T0, view_count=350),
    ]
    result = viral.analyze(inputs(rows))
    # keeps 350: (350 - 100) / 1 h
    assert result.duplicate_snapshots == 1
    assert result.max_velocity == 250.0


def test_negative_deltas_are_skipped_and_counted():
    # 1000 -> 900 is a recount (skipped), 900 -> 1100 in 1 h is 200/h with no earlier interval
    rows = _history("a", [1000, 900, 1100])
    # b only ever loses views: no velocity at all
    rows += _history("b", [500, 400])
    result = viral.analyze(inputs(rows))
    assert result.negative_deltas == 2
    assert result.max_velocity == 200.0
    assert (result.videos_with_velocity, result.videos_only_recounts) == (1, 1)
    assert result.to_dict()["videos_only_recounts"] == 1


def test_hidden_views_are_not_zero():
    # the middle snapshot has no count: 100 -> 300 over 2 h is 100/h, not a fall to 0 and back
    result = viral.analyze(inputs(_history("a", [100, None, 300])))
    assert result.snapshots_without_views == 1
    assert result.max_velocity == 100.0
    assert result.negative_deltas == 0


def test_huge_counts_stay_exact():
    # ten billion views, +3.6 billion in an hour
    rows = _history("a", [10_000_000_000, 13_600_000_000])
    result = viral.analyze(inputs(rows), EVERY_VIDEO_VIRAL)
    assert result.max_velocity == 3_600_000_000.0
    assert result.to_dict()["viral_videos"][0]["views"] == 13_600_000_000


def test_non_english_titles_pass_through_unchanged():
    rows = _history("es", [0, 1000], title="¡Gané 100 partidas!")
    rows += _history("ru", [0, 10], title="Лучший сид")
    rows += _history("ar", [0, 10], title="أفضل بذرة")
    titles = {v.title for v in viral.analyze(inputs(rows)).viral_videos}
    # long-form median of 1000,10,10 is 10; viral at max(30, 100): only the Spanish one
    assert titles == {"¡Gané 100 partidas!"}


def test_same_input_in_any_row_order_gives_identical_output():
    rows = _game()
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    assert viral.analyze(inputs(rows)).to_dict() == viral.analyze(inputs(shuffled)).to_dict()
