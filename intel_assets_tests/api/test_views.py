"""The pure parts of the API: summaries, decayed confidence, unknown-game messages."""

from datetime import UTC, datetime, timedelta

import pytest

from intel_assets.analyzers.decay import AnalysisResult
from intel_assets.api.tiered_store import Snapshot, StoredAnalysis, UnknownGame
from intel_assets.api.views import analysis_view, twitch_summary, youtube_summary

AT = datetime(2026, 3, 4, 12, tzinfo=UTC)


def _video(video_id: str, views: float | None, **extra: object) -> dict:
    return {
        "video_id": video_id,
        "title": f"title {video_id}",
        "channel_id": "UC1",
        "channel_title": "one",
        "published_at": "2026-03-01T00:00:00+00:00",
        "duration_seconds": 30.0,
        "is_short": False,
        "live_state": "none",
        "view_count": views,
        "like_count": None,
        "comment_count": 2.0,
        **extra,
    }


def test_a_youtube_summary_counts_what_the_videos_report():
    videos = [
        _video("a", 100.0, is_short=True),
        _video("b", None, live_state="live"),
        _video("c", 300.0, live_state="upcoming"),
        _video("d", 300.0),
    ]
    snapshot = Snapshot("hot_tier", AT, videos)

    summary = youtube_summary(snapshot, AT + timedelta(minutes=30))

    assert summary.video_count == 4
    assert (summary.shorts_count, summary.live_count, summary.upcoming_count) == (1, 1, 1)
    # Views of the three videos that report them: 100 + 300 + 300 = 700, mean 700 / 3.
    assert summary.total_views == 700
    assert summary.avg_views == pytest.approx(700 / 3)
    assert summary.age_seconds == 1800
    # Most viewed first, ties by id, the video without views last; floats become ints.
    assert [v.video_id for v in summary.top_videos] == ["c", "d", "a", "b"]
    assert summary.top_videos[0].view_count == 300
    assert summary.top_videos[0].duration_seconds == 30
    assert summary.top_videos[0].like_count is None


def test_a_twitch_summary_sums_viewers_per_language():
    streams = [
        {"stream_id": "1", "user_login": "a", "user_name": "A", "title": "x",
         "viewer_count": 50, "language": "en", "started_at": AT},
        {"stream_id": "2", "user_login": "b", "user_name": "B", "title": "y",
         "viewer_count": 30, "language": "ja", "started_at": AT},
        {"stream_id": "3", "user_login": "c", "user_name": "C", "title": "z",
         "viewer_count": 30, "language": None, "started_at": AT},
        {"stream_id": "4", "user_login": "d", "user_name": "D", "title": "w",
         "viewer_count": 10, "language": "en", "started_at": AT},
    ]  # fmt: skip

    summary = twitch_summary(Snapshot("warehouse", AT, streams), AT)

    assert (summary.stream_count, summary.total_viewers) == (4, 120)
    assert summary.avg_viewers == 30.0
    # en 50 + 10 = 60; ja 30 and unknown 30 tie, alphabetical order breaks it.
    assert list(summary.viewers_by_language.items()) == [("en", 60), ("ja", 30), ("unknown", 30)]
    assert [s.stream_id for s in summary.top_streams] == ["1", "2", "3", "4"]
    assert summary.source == "warehouse"


def test_an_analysis_served_later_has_its_confidence_halved_per_half_life():
    result = AnalysisResult(
        analyzer="viral", game_key="fortnite", as_of=AT, data_age_seconds=60.0,
        sample_size=40, confidence=0.8, stale=False, result={"viral_video_count": 3},
        half_life_seconds=6 * 3600, key_figures={"viral_video_count": 3},
    )  # fmt: skip

    hot = analysis_view(StoredAnalysis(result, "hot_tier"), AT + timedelta(hours=12))
    warm = analysis_view(StoredAnalysis(result, "warehouse"), AT + timedelta(hours=3))
    early = analysis_view(StoredAnalysis(result, "hot_tier"), AT - timedelta(minutes=5))

    # 12 h is two 6 h half-lives: 0.8 / 4 = 0.2. 3 h is half a half-life: 0.8 / sqrt(2).
    assert hot.confidence == pytest.approx(0.2)
    assert hot.age_seconds == 12 * 3600
    assert hot.key_figures == {"viral_video_count": 3}
    assert warm.confidence == pytest.approx(0.8 / 2**0.5)
    assert warm.key_figures is None
    # Served before as_of (clock skew): no decay and no negative age.
    assert (early.confidence, early.age_seconds) == (0.8, 0.0)


def test_an_unknown_game_message_names_twenty_games_and_counts_the_rest():
    known = [f"game_{i:02d}" for i in range(25)]

    message = str(UnknownGame("x" * 100, known))

    assert message.startswith("unknown game '" + "x" * 80 + "...'; known games: game_00, ")
    assert "game_19 and 5 more (GET /v1/games lists them)" in message
    assert "game_20" not in message
