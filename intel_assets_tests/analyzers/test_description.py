import random

import pytest

from intel_assets.analyzers import description
from intel_assets.analyzers.base import LabelledStats, TermParams
from intel_assets_tests.analyzers.frames import inputs, video

D1 = (
    "Follow me on https://www.twitch.tv/streamer and https://x.com/streamer!\n"
    "Get the mouse: https://amzn.to/abc\n"
    "Sponsored by NordVPN. #Fortnite #Gaming\n"
    "0:00 Intro\n1:30 Gameplay\n10:05 Outro\n"
    "Thanks for watching, see you tomorrow!"
)  # 222 characters
D2 = "Únete a mi Discord: https://discord.gg/abc\nUsa el código PEPE en la tienda #fortnite"
D5 = "ゲーム実況です。チャンネル登録お願いします！ #フォートナイト\n0:00 開始\n0:30 試合\n5:00 終わり\nhttps://localhost/x"
EVERYTHING = TermParams(min_term_videos=1)


def _videos() -> list[dict]:
    # mean views 10000 / 5 = 2000: relative performance 1.5, 0.5, 1.0, 1.0, 1.0
    return [
        video("d1", description=D1, view_count=3000, has_paid_product_placement=True),
        video("d2", description=D2, view_count=1000),
        video("d3", description="", view_count=2000, has_paid_product_placement=None),
        video("d4", description=None, view_count=2000),
        video("d5", description=D5, view_count=2000),
    ]


def test_links_domains_and_social_profiles():
    result = description.analyze(inputs(_videos()), EVERYTHING)
    # d1: twitch.tv, x.com, amzn.to; d2: discord.gg; d5's https://localhost/x has no real host
    assert (result.link_count, result.invalid_links, result.videos_with_links) == (4, 1, 2)
    # one video each: d1's domains first (index 1.5, then by name), then d2's (0.5)
    assert [(d.label, d.performance_index) for d in result.top_domains] == [
        ("amzn.to", 1.5), ("twitch.tv", 1.5), ("x.com", 1.5), ("discord.gg", 0.5),
    ]  # fmt: skip
    assert [p.label for p in result.social_platforms] == ["twitch", "x", "discord"]


def test_sponsorship_chapters_and_hashtags_against_performance():
    features = description.analyze(inputs(_videos())).features
    # affiliate: d1 (amzn.to) 1.5 against (0.5+1+1+1)/4 = 0.875
    assert features["has_affiliate_links"].lift == pytest.approx(1.5 / 0.875)
    # sponsor markers: d1 "Sponsored by", d2 "Usa el código": (1.5+0.5)/2 = 1.0 against 1.0
    assert features["has_sponsor_marker"].with_feature.video_count == 2
    assert features["has_sponsor_marker"].lift == 1.0
    # YouTube's flag: d1 with, d3 unknown, d2 d4 d5 without (0.5+1+1)/3
    paid = features["has_paid_product_placement"]
    assert paid.unknown_count == 1
    assert paid.lift == pytest.approx(1.5 / (2.5 / 3))
    # chapters: d1 (0:00, 1:30, 10:05) and d5 (0:00, 0:30, 5:00): (1.5+1)/2 against (0.5+1+1)/3
    assert features["has_chapters"].with_feature.performance_index == 1.25
    assert features["has_chapters"].lift == pytest.approx(1.25 / (2.5 / 3))
    assert features["has_hashtags"].with_feature.video_count == 3


def test_hashtags_and_lengths():
    result = description.analyze(inputs(_videos()), EVERYTHING)
    # fortnite: d1, d2 -> (1.5+0.5)/2; gaming: d1; フォートナイト: d5
    assert result.top_hashtags == [
        LabelledStats("fortnite", 2, 2000.0, 4000, 1.0),
        LabelledStats("gaming", 1, 3000.0, 3000, 1.5),
        LabelledStats("フォートナイト", 1, 2000.0, 2000, 1.0),
    ]
    # d3 and d4 empty; d2 84 and d5 76 characters; d1 222
    assert [(b.label, b.video_count) for b in result.length_buckets] == [
        ("empty", 2), ("1_199", 2), ("200_999", 1), ("1000_plus", 0),
    ]  # fmt: skip
    assert result.videos_without_description == 2
    assert result.avg_description_length == pytest.approx((222 + 84 + 76) / 5)


def test_chapters_follow_youtubes_rule():
    assert description.chapter_count("0:00 a\n1:00 b\n1:01:00 c") == 3
    assert description.chapter_count("(0:00) a\n[2:00] b\n3:00 c\n4:00 d") == 4
    assert description.chapter_count("0:00 a\n1:00 b") == 0  # fewer than 3
    assert description.chapter_count("0:05 a\n1:00 b\n2:00 c") == 0  # not from 0:00
    assert description.chapter_count("0:00 a\n2:00 b\n1:00 c") == 0  # not ascending
    assert description.chapter_count("see 0:00 a\nat 1:00\n2:00") == 0  # not at line starts


def test_affiliate_and_sponsor_markers_need_whole_words_and_real_parameters():
    facts = description.description_facts(
        "#adventure awaits https://www.amazon.com/dp/B01?tag=me-20 https://store.com/?q=1"
    )
    assert facts.has_affiliate_link and not facts.has_sponsor_marker
    assert description.description_facts("Great video #ad").has_sponsor_marker
    assert not description.description_facts("https://example.com/?q=tag").has_affiliate_link


def test_empty_input():
    result = description.analyze(inputs())
    assert (result.sample_size, result.link_count, result.top_domains) == (0, 0, [])
    assert result.avg_description_length is None


def test_one_video_with_hidden_views_and_arabic_text():
    rows = [video("a", description="تابعني على https://instagram.com/x", view_count=None)]
    result = description.analyze(inputs(rows), EVERYTHING)
    assert (result.sample_size, result.videos_without_views) == (0, 1)
    assert result.social_platforms == [LabelledStats("instagram", 1, None, 0, None)]


def test_same_input_in_any_row_order_gives_identical_output():
    rows = _videos()
    shuffled = rows[:]
    random.Random(11).shuffle(shuffled)
    first = description.analyze(inputs(rows)).to_dict()
    assert first == description.analyze(inputs(shuffled)).to_dict()
