import random

import pytest

from intel_assets.analyzers import semantic
from intel_assets.analyzers.base import LabelledStats, TermParams
from intel_assets_tests.analyzers.frames import inputs, video

TWO = semantic.SemanticParams(terms=TermParams(min_term_videos=2))
WIKI = "https://en.wikipedia.org/wiki/"


def _videos() -> list[dict]:
    # mean views 12000 / 6 = 2000: relative performance 1.5, 0.5, 1, 1, 2, 0
    return [
        video("v1", view_count=3000, tags=["Fortnite", "battle royale", "Zero Build"],
              topic_categories=[WIKI + "Action_game", WIKI + "Video_game_culture"]),
        video("v2", view_count=1000, tags=["ＦＯＲＴＮＩＴＥ", "Battle  Royale", "zero build"],
              topic_categories=[WIKI + "Action_game"]),
        video("v3", view_count=2000, tags=["fortnite", "battle royale", "creative"],
              topic_categories=[WIKI + "Role-playing_video_game"]),
        video("v4", view_count=2000, tags=["creative", "map code", "fortnite", "creative"]),
        video("v5", view_count=4000, tags=["map code", "creative"]),
        video("v6", view_count=0, tags=[]),
    ]  # fmt: skip


def test_tag_frequency_and_performance_after_folding():
    result = semantic.analyze(inputs(_videos()), TWO)
    # fortnite v1-v4 (full-width folds): (1.5+0.5+1+1)/4 = 1.0; battle royale v1-v3: 3/3;
    # creative v3-v5: (1+1+2)/3; map code v4, v5: 1.5; zero build v1, v2: 1.0
    assert [(t.label, t.video_count) for t in result.top_tags] == [
        ("fortnite", 4), ("creative", 3), ("battle royale", 3), ("map code", 2), ("zero build", 2),
    ]  # fmt: skip
    assert [t.label for t in result.best_tags] == [
        "map code", "creative", "fortnite", "battle royale", "zero build",
    ]  # fmt: skip
    assert result.best_tags[1].performance_index == pytest.approx(4 / 3)
    # 3+3+3+3 (v4's repeat counts once)+2+0 = 14 tags over 6 videos
    assert result.avg_tags_per_video == pytest.approx(14 / 6)
    assert (result.distinct_tags, result.videos_without_tags) == (5, 1)


def test_tags_that_occur_together_form_clusters():
    result = semantic.analyze(inputs(_videos()), TWO)
    # Jaccard: fortnite-battle royale 3/4, fortnite-zero build 2/4, battle royale-zero build 2/3,
    # creative-map code 2/3 (all >= 0.5); fortnite-creative 2/5 and the rest below.
    first, second = result.tag_clusters
    assert first.tags == ["battle royale", "fortnite", "zero build"]
    # videos v1-v4: 8000 views, index (1.5+0.5+1+1)/4
    assert (first.video_count, first.total_views, first.performance_index) == (4, 8000, 1.0)
    assert second.tags == ["creative", "map code"]
    # v3, v4, v5: 8000 views, (1+1+2)/3
    assert (second.video_count, second.avg_views) == (3, pytest.approx(8000 / 3))
    # a stricter threshold keeps only the 3/4 link
    strict = semantic.SemanticParams(terms=TermParams(min_term_videos=2), cluster_min_jaccard=0.7)
    assert [c.tags for c in semantic.analyze(inputs(_videos()), strict).tag_clusters] == [
        ["battle royale", "fortnite"]
    ]


def test_topic_categories_become_names():
    result = semantic.analyze(inputs(_videos()))
    # Action game: v1, v2 -> (1.5+0.5)/2; Video game culture: v1 -> 1.5; Role-playing: v3 -> 1
    assert result.topics == [
        LabelledStats("Action game", 2, 2000.0, 4000, 1.0),
        LabelledStats("Video game culture", 1, 3000.0, 3000, 1.5),
        LabelledStats("Role-playing video game", 1, 2000.0, 2000, 1.0),
    ]
    assert result.videos_without_topics == 3
    assert semantic.topic_name(WIKI + "Pok%C3%A9mon") == "Pokémon"


def test_tags_in_other_scripts():
    rows = [
        video("a", tags=["フォートナイト", "Фортнайт", "فورتنايت"]),
        video("b", tags=["ﾌｫｰﾄﾅｲﾄ", "ФОРТНАЙТ"]),  # half-width kana and capitals fold
    ]
    result = semantic.analyze(inputs(rows), TWO)
    assert [(t.label, t.video_count) for t in result.top_tags] == [
        ("фортнайт", 2), ("フォートナイト", 2),
    ]  # fmt: skip


def test_empty_input_and_missing_lists():
    assert semantic.analyze(inputs()).sample_size == 0
    assert semantic.analyze(inputs()).avg_tags_per_video is None
    rows = [video("a", tags=None, topic_categories=None, view_count=None)]
    result = semantic.analyze(inputs(rows))
    assert (result.sample_size, result.videos_without_tags, result.videos_without_topics) == (
        0, 1, 1,
    )  # fmt: skip
    assert result.tag_clusters == [] and result.top_tags == []


def test_same_input_in_any_row_order_gives_identical_output():
    rows = _videos()
    shuffled = rows[:]
    random.Random(2).shuffle(shuffled)
    first = semantic.analyze(inputs(rows), TWO).to_dict()
    assert first == semantic.analyze(inputs(shuffled), TWO).to_dict()
