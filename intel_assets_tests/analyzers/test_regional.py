import math
import random

import pytest

from intel_assets.analyzers import regional
from intel_assets_tests.analyzers.frames import HOUR, T0, inputs, stream, video

ES_TITLE = "Cómo ganar en Fortnite: los mejores trucos para principiantes"


def _videos() -> list[dict]:
    return [
        video("e1", default_audio_language="en-US", view_count=3000),
        video("e2", default_language="en-GB", view_count=1000),
        # "zxx" (no speech) is no language: falls through to detection of the Spanish title
        video("e3", default_audio_language="zxx", title=ES_TITLE, view_count=2000),
        video("s1", default_audio_language="es-419", view_count=4000),
        video("j1", default_audio_language="ja", view_count=2000),
        video("z1", default_language="zh-Hans", view_count=1000),
        video("u1", title="GG", view_count=500),  # two letters: unknown
    ]


def _streams() -> list[dict]:
    c1, c2 = T0 - HOUR, T0
    return [
        stream("a", collected_at=c1, language="en", viewer_count=300),
        stream("b", collected_at=c1, language="en", viewer_count=100),
        stream("c", collected_at=c1, language="es", viewer_count=200),
        stream("d", collected_at=c1, language="ko", viewer_count=400),
        stream("a", collected_at=c2, language="en", viewer_count=500),
        stream("c", collected_at=c2, language="es", viewer_count=200),
        stream("e", collected_at=c2, language="other", viewer_count=50),
    ]


def test_language_comes_from_audio_then_default_then_detection():
    result = regional.analyze(inputs(_videos(), _streams()))
    # audio: e1, s1, j1; default: e2, z1; detected: e3 (es); unknown: u1
    assert result.language_source == {"audio": 3, "default": 2, "detected": 1, "unknown": 1}
    assert result.language_distribution == {"en": 2, "es": 2, "ja": 1, "zh": 1}
    assert result.dominant_language == "en"  # tie with es, alphabetical
    # shares 2/6, 2/6, 1/6, 1/6: entropy (2/3) ln 3 + (1/3) ln 6 over ln 4
    expected = ((2 / 3) * math.log(3) + (1 / 3) * math.log(6)) / math.log(4)
    assert result.language_diversity_score == pytest.approx(expected)


def test_a_language_resolved_at_collection_is_used_as_stored():
    rows = _videos()
    # e3's collection stored "pt" as detected (say an older detector read its Spanish title so);
    # u1's stored "unknown" stays unknown. The analyzer trusts both and detects nothing.
    rows[2] = {**rows[2], "language": "pt", "language_source": "detected"}
    rows[6] = {**rows[6], "language": None, "language_source": "unknown"}
    result = regional.analyze(inputs(rows, _streams()))
    assert result.language_source == {"audio": 3, "default": 2, "detected": 1, "unknown": 1}
    assert result.language_distribution == {"en": 2, "es": 1, "pt": 1, "ja": 1, "zh": 1}


def test_resolve_languages_fills_only_unresolved_rows():
    frame = inputs(
        [
            video("a", default_audio_language="de-AT"),
            video("b", title=ES_TITLE),
            video("c", title=ES_TITLE, language="fr", language_source="default"),
        ]
    ).videos
    resolved = regional.resolve_languages(frame)
    assert list(resolved["language"]) == ["de", "es", "fr"]
    assert list(resolved["language_source"]) == ["audio", "detected", "default"]


def test_supply_against_demand_per_language():
    result = regional.analyze(inputs(_videos(), _streams()))
    rows = {lang.language_code: lang for lang in result.languages}
    assert [lang.language_code for lang in result.languages] == ["en", "es", "ja", "zh", "ko"]
    en, es, ko, ja = rows["en"], rows["es"], rows["ko"], rows["ja"]
    # en on YouTube: e1 + e2 = 4000 views; Twitch: streams a, b; snapshots 300, 100, 500;
    # collections sum 400 and 500 -> 450 concurrent
    assert (en.youtube_video_count, en.youtube_avg_views, en.youtube_total_views) == (
        2,
        2000.0,
        4000,
    )
    assert (en.twitch_stream_count, en.twitch_avg_viewers, en.twitch_total_viewers) == (
        2,
        300.0,
        450,
    )
    # ko: only in the first collection, 400 -> (400 + 0) / 2
    assert (ko.twitch_stream_count, ko.twitch_total_viewers) == (1, 200)
    # demand 450 + 200 (es) + 200 (ko) = 850; supply 6 videos.
    # en: s = 1/3, d = 9/17: competition s/(s+d) = 17/44; opportunity (27/44) * sqrt(1)
    assert en.competition_score == pytest.approx(100 * 17 / 44)
    assert en.opportunity_score == pytest.approx(100 * 27 / 44)
    # es: s = 1/3, d = 4/17: 17/29; opportunity (12/29) * sqrt((4/17) / (9/17)) = 8/29
    assert es.competition_score == pytest.approx(100 * 17 / 29)
    assert es.opportunity_score == pytest.approx(100 * 8 / 29)
    # ko: no YouTube supply: competition 0, opportunity 1 * sqrt(4/9)
    assert ko.competition_score == 0.0
    assert ko.opportunity_score == pytest.approx(100 * 2 / 3)
    # ja: no Twitch demand
    assert (ja.competition_score, ja.opportunity_score) == (100.0, 0.0)
    # YouTube views of known languages: 4000 + 6000 + 2000 + 1000 = 13000
    assert es.market_share_percent == pytest.approx(100 * 6000 / 13000)
    assert ko.market_share_percent == 0.0
    assert result.twitch_unknown_language_streams == 1  # "other"
    assert result.sample_size == 7 + 5  # videos + distinct streams


def test_detection_reads_titles_in_other_scripts():
    assert regional.detect_language("Лучший сид в Майнкрафте для выживания") == "ru"
    assert regional.detect_language("أفضل بذرة في ماين كرافت للبقاء") == "ar"
    assert regional.detect_language("フォートナイトで勝つ方法【初心者向け】") == "ja"
    assert regional.detect_language("Joguei 100 dias no Minecraft com meus amigos") == "pt"
    # links, hashtags and mentions say nothing about the language
    assert regional.detect_language("Ich habe jedes Spiel gewonnen #win https://x.com/a") == "de"
    assert regional.detect_language("1v1 🔥 #fortnite @someone") is None


def test_codes_reduce_to_their_iso_639_1_base():
    codes = ["en-US", "zh-Hans", "pt_BR", "iw", "zxx", "", None, "EN", "fil", "x-klingon"]
    assert [regional.normalize_language_code(c) for c in codes] == [
        "en", "zh", "pt", "he", None, None, None, "en", "tl", None,
    ]  # fmt: skip


def test_without_twitch_data_there_are_no_scores():
    result = regional.analyze(inputs([video("a", default_audio_language="fr")]))
    (french,) = result.languages
    assert (french.competition_score, french.opportunity_score) == (None, None)
    assert french.market_share_percent == 100.0
    assert result.language_diversity_score == 0.0


def test_twitch_without_youtube_is_all_opportunity():
    result = regional.analyze(inputs(streams=[stream("a", language="pt-BR", viewer_count=80)]))
    (portuguese,) = result.languages
    # s = 0, d = 1: competition 0, opportunity 100 * 1 * sqrt(1/1)
    assert (portuguese.competition_score, portuguese.opportunity_score) == (0.0, 100.0)
    assert portuguese.market_share_percent is None  # no YouTube views at all
    assert (result.dominant_language, result.sample_size) == (None, 1)


def test_empty_input():
    result = regional.analyze(inputs())
    assert (result.sample_size, result.languages, result.dominant_language) == (0, [], None)
    assert result.language_distribution == {}
    assert result.to_dict()["language_source"] == {
        "audio": 0, "default": 0, "detected": 0, "unknown": 0,
    }  # fmt: skip


def test_to_dict_rows_carry_the_regional_table_columns():
    data = regional.analyze(inputs(_videos(), _streams())).to_dict()
    assert set(data["languages"][0]) == {
        "language_code", "youtube_video_count", "youtube_avg_views", "youtube_total_views",
        "twitch_stream_count", "twitch_avg_viewers", "twitch_total_viewers", "competition_score",
        "opportunity_score", "market_share_percent",
    }  # fmt: skip


def test_same_input_in_any_row_order_gives_identical_output():
    videos, streams = _videos(), _streams()
    first = regional.analyze(inputs(videos, streams)).to_dict()
    random.Random(4).shuffle(videos)
    random.Random(4).shuffle(streams)
    assert regional.analyze(inputs(videos, streams)).to_dict() == first
