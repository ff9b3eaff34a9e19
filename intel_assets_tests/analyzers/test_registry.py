import json
import math
import random

import pytest

from intel_assets.analyzers.decay import AnalysisResult
from intel_assets.analyzers.registry import ANALYZERS, run
from intel_assets_tests.analyzers.frames import HOUR, T0, channel, inputs, stream, video

NAMES = ["viral", "title", "format", "description", "semantic", "regional", "live", "competition"]


def _messy_game() -> tuple[list[dict], list[dict], list[dict]]:
    """A bit of everything the analyzers must survive, in several scripts."""
    titles = [
        "¡Gané 100 partidas!",
        "最強の武器【初心者向け】",
        "Лучший сид",
        "أفضل بذرة",
        "WIN 🔥",
    ]
    videos = []
    for i, title in enumerate(titles):
        for hours_ago, views in ((2, 1000 * i), (0, 1000 * i + 500 * (i + 1))):
            videos.append(video(f"v{i}", collected_at=T0 - hours_ago * HOUR, title=title,
                                view_count=views, channel_id=f"UC{i % 2}",
                                tags=["fortnite", f"tag{i % 2}"],
                                description=f"https://twitch.tv/x #fortnite\n{title}"))  # fmt: skip
    videos += [
        video("huge", view_count=10**11, like_count=None, tags=None, description=None),
        video("dup", view_count=5, collected_at=T0 - HOUR),
        video("dup", view_count=7, collected_at=T0 - HOUR),
        video("recount", view_count=900, collected_at=T0 - HOUR),
        video("recount", view_count=800),
        video("short", is_short=True, duration_seconds=30, view_count=None, caption=None),
        video("up", live_state="upcoming", is_premiere=True, view_count=0, scheduled_start=T0),
    ]
    streams = [
        stream("s1", collected_at=T0 - 3 * HOUR, language="es", viewer_count=10),
        stream("s2", collected_at=T0 - 3 * HOUR, language=None, viewer_count=0),
    ]
    channels = [channel("UC0"), channel("UC1", published_at=None, subscriber_count=None)]
    return videos, streams, channels


def test_the_registry_lists_the_eight_analyzers_with_hot_tier_ttls():
    assert list(ANALYZERS) == NAMES
    for name, spec in ANALYZERS.items():
        assert spec.name == name
        assert 4 * 3600 <= spec.ttl_seconds <= 6 * 3600
        assert spec.min_sample >= 1 and spec.half_life_hours > 0
        assert set(spec.needs) <= {"videos", "streams", "channels"} and "videos" in spec.needs


@pytest.mark.parametrize("name", NAMES)
def test_empty_input_gives_an_empty_result_with_zero_confidence(name):
    result = run(name, inputs())
    assert (result.sample_size, result.confidence, result.data_age_seconds) == (0, 0.0, 0.0)
    json.dumps(result.to_dict(), allow_nan=False)


@pytest.mark.parametrize("name", NAMES)
def test_messy_input_gives_json_safe_deterministic_results(name):
    videos, streams, channels = _messy_game()
    result = run(name, inputs(videos, streams, channels))
    text = json.dumps(result.to_dict(), allow_nan=False, sort_keys=True)
    assert 0.0 <= result.confidence <= 1.0
    assert all(isinstance(v, int | float | str | type(None)) for v in result.key_figures.values())
    for rows in (videos, streams, channels):
        random.Random(name).shuffle(rows)
    again = run(name, inputs(videos, streams, channels))
    assert json.dumps(again.to_dict(), allow_nan=False, sort_keys=True) == text
    assert AnalysisResult.from_dict(result.to_dict()) == result


def test_confidence_from_the_sample_and_the_stalest_source():
    videos, streams, _ = _messy_game()
    viral = run("viral", inputs(videos, streams))
    # velocities: v0..v4 (two snapshots each); "recount" only lost views, "dup" has one
    # collected_at: 5 of min_sample 30
    assert viral.sample_size == 5
    assert viral.data_age_seconds == 0.0  # reads videos only, collected at T0
    assert viral.confidence == pytest.approx(math.sqrt(5 / 30), abs=1e-4)
    regional = run("regional", inputs(videos, streams))
    # streams were collected 3 h before the videos; videos v0-v4, huge, dup, recount, short,
    # up = 10 plus 2 streams = 12 of 50, half-life 12 h
    assert regional.data_age_seconds == 3 * 3600
    assert regional.sample_size == 12
    expected = math.sqrt(12 / 50) * 0.5 ** (3 / 12)
    assert regional.confidence == pytest.approx(expected, abs=1e-4)
    stale = run("regional", inputs(videos, streams), stale=True)
    assert stale.stale and stale.confidence == pytest.approx(expected / 2, abs=1e-4)


def test_an_unknown_analyzer_is_a_clear_error():
    with pytest.raises(KeyError, match="known: viral, title"):
        run("virality", inputs())
