import random

import pytest

from intel_assets.analyzers import title
from intel_assets.analyzers.base import LabelledStats, TermParams
from intel_assets_tests.analyzers.frames import inputs, video

TWO = TermParams(min_term_videos=2)


def _four_titles() -> list[dict]:
    # mean views (3000+1000+2000+2000)/4 = 2000: relative performance 1.5, 0.5, 1.0, 1.0
    return [
        video("v1", title="Best Fortnite Trick", view_count=3000),
        video("v2", title="Best Fortnite Settings", view_count=1000),
        video("v3", title="Fortnite Trick Shots", view_count=2000),
        video("v4", title="How to win in Fortnite", view_count=2000),
    ]


def test_words_and_phrases_are_weighted_by_performance():
    result = title.analyze(inputs(_four_titles()), TWO)
    # trick: v1, v3 -> (1.5+1.0)/2 = 1.25 (views (3000+2000)/2); fortnite: all four -> 1.0;
    # best: v1, v2 -> (1.5+0.5)/2 = 1.0; the tie goes to more videos. "how", "to", "in" are
    # stop words; settings, shots, win appear once (< 2).
    assert result.top_words == [
        LabelledStats("trick", 2, 2500.0, 5000, 1.25),
        LabelledStats("fortnite", 4, 2000.0, 8000, 1.0),
        LabelledStats("best", 2, 2000.0, 4000, 1.0),
    ]
    assert [w.label for w in result.frequent_words] == ["fortnite", "trick", "best"]
    # v4's pairs all touch a stop word; "fortnite trick" v1+v3, "best fortnite" v1+v2
    assert [(p.label, p.performance_index) for p in result.top_phrases] == [
        ("fortnite trick", 1.25),
        ("best fortnite", 1.0),
    ]


def test_spanish_russian_and_arabic_titles_split_into_words():
    words, phrases = title.title_terms("¿Cómo GANAR en Fortnite? Los mejores trucos")
    assert words == ["cómo", "ganar", "fortnite", "mejores", "trucos"]
    # "fortnite? los" is broken by punctuation; "ganar en", "los mejores" touch stop words
    assert phrases == ["cómo ganar", "mejores trucos"]
    assert title.title_terms("Лучший СИД в Майнкрафте") == (
        ["лучший", "сид", "майнкрафте"],
        ["лучший сид"],
    )
    assert title.title_terms("أفضل بذرة في ماين كرافت") == (
        ["أفضل", "بذرة", "في", "ماين", "كرافت"],
        ["أفضل بذرة", "بذرة في", "في ماين", "ماين كرافت"],
    )


def test_unspaced_scripts_become_character_bigrams():
    # フォートナイト最強の武器: 12 characters, 11 overlapping pairs
    words, phrases = title.title_terms("フォートナイト最強の武器")
    assert words == [
        "フォ",
        "ォー",
        "ート",
        "トナ",
        "ナイ",
        "イト",
        "ト最",
        "最強",
        "強の",
        "の武",
        "武器",
    ]
    assert phrases == []
    # Thai ชนะทุกเกม: the vowel sign under ท stays with it: ช น ะ ทุ ก เ ก ม -> 7 pairs
    assert title.title_terms("ชนะทุกเกม")[0] == ["ชน", "นะ", "ะทุ", "ทุก", "กเ", "เก", "กม"]
    # Korean: each spaced word in pairs; a two-syllable word is one pair
    assert title.title_terms("포트나이트 최고의 시드")[0] == [
        "포트", "트나", "나이", "이트", "최고", "고의", "시드",
    ]  # fmt: skip
    # Latin word then Japanese: the Latin word stays whole; full-width letters fold
    assert title.title_terms("ＲＯＢＬＯＸ で一番難しい")[0] == [
        "roblox", "で一", "一番", "番難", "難し", "しい",
    ]  # fmt: skip


def test_title_styles_against_views():
    rows = [
        # 23 characters: W,I,N + E,A,S,Y capitals of 12 cased letters = 0.583
        video("v1", title="WIN 100 games? (EASY) 🔥", view_count=3000),
        video("v2", title="how to win", view_count=1000),
        video("v3", title="最強の武器【初心者向け】", view_count=2000),
    ]
    result = title.analyze(inputs(rows))
    # mean 2000: performance 1.5, 0.5, 1.0
    brackets = result.features["has_brackets"]
    assert brackets.with_feature.performance_index == 1.25  # v1, v3
    assert brackets.without_feature.performance_index == 0.5  # v2
    assert brackets.lift == 2.5
    question = result.features["has_question"]
    assert (question.with_feature.video_count, question.lift) == (1, 2.0)  # 1.5 / ((0.5+1)/2)
    assert result.features["has_emoji"].with_feature.video_count == 1
    assert result.features["has_number"].with_feature.video_count == 1
    # lengths 23, 10, 12: all in 0_29
    assert [(b.label, b.video_count) for b in result.length_buckets] == [
        ("0_29", 3), ("30_59", 0), ("60_79", 0), ("80_plus", 0),
    ]  # fmt: skip
    assert result.avg_title_length == pytest.approx(15.0)  # (23+10+12)/3
    # capitals: v1 7/12, v2 0/8; v3 has no cased letters
    assert [(b.label, b.video_count) for b in result.caps_buckets] == [
        ("under_10pct", 1), ("10_50pct", 0), ("50pct_plus", 1), ("uncased", 1),
    ]  # fmt: skip
    assert result.avg_caps_share == pytest.approx((7 / 12 + 0) / 2)


def test_copyright_and_trademark_signs_are_not_emoji():
    result = title.analyze(inputs([video("a", title="Fortnite™ ©2026 Epic")]))
    assert result.features["has_emoji"].with_feature.video_count == 0


def test_empty_input():
    result = title.analyze(inputs())
    assert result.sample_size == 0
    assert result.top_words == [] and result.avg_title_length is None
    assert result.to_dict()["features"]["has_question"]["lift"] is None


def test_one_video_with_hidden_views():
    result = title.analyze(inputs([video("a", title="Solo", view_count=None)]))
    assert (result.sample_size, result.videos_without_views) == (0, 1)
    assert result.length_buckets[0] == LabelledStats("0_29", 1, None, 0, None)


def test_same_input_in_any_row_order_gives_identical_output():
    rows = _four_titles()
    shuffled = rows[::-1]
    random.Random(3).shuffle(shuffled)
    assert (
        title.analyze(inputs(rows), TWO).to_dict() == title.analyze(inputs(shuffled), TWO).to_dict()
    )
