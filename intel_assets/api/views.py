"""Stored data as the API shows it: pure functions from records to the response models.

The same function summarises a snapshot whichever tier it came from, so a client sees the same
figures from Redis and from Postgres for the same collection.
"""

import math
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from intel_assets.analyzers.decay import current_confidence
from intel_assets.api.schemas import Analysis, TopStream, TopVideo, TwitchSummary, YouTubeSummary
from intel_assets.api.tiered_store import Snapshot, StoredAnalysis

TOP_COUNT = 10
"""Videos or streams listed in a summary."""

UNKNOWN_LANGUAGE = "unknown"


def _age(since: datetime, now: datetime) -> float:
    """Seconds from `since` to `now`, never negative (clock skew)."""
    return max(0.0, (now - since).total_seconds())


def _count(value: Any) -> int | None:
    """A count as an int: the hot tier's JSON may carry 30091.0 (pandas), Postgres a bigint."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _moment(value: Any) -> datetime:
    """A timestamp from either tier: a datetime from Postgres, ISO text from the hot tier."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _most_first(count: Any, record_id: Any) -> tuple[bool, int, str]:
    """Sort key: the highest count first, unknown counts last, ties by id (a stable order)."""
    value = _count(count)
    return (value is None, -(value or 0), str(record_id))


def analysis_view(stored: StoredAnalysis, now: datetime) -> Analysis:
    """An analyzer's result as served at `now`, its confidence decayed to `now`."""
    result = stored.result
    return Analysis(
        analyzer=result.analyzer,  # type: ignore[arg-type]  # a registry name, checked there
        game_key=result.game_key,
        source=stored.source,
        as_of=result.as_of,
        age_seconds=_age(result.as_of, now),
        data_age_seconds=result.data_age_seconds,
        sample_size=result.sample_size,
        stale=result.stale,
        confidence_at_as_of=result.confidence,
        confidence=min(1.0, max(0.0, current_confidence(result, now))),
        half_life_seconds=result.half_life_seconds,
        key_figures=result.key_figures if stored.source == "hot_tier" else None,
        result=result.result,
    )


def youtube_summary(snapshot: Snapshot, now: datetime) -> YouTubeSummary:
    """A YouTube snapshot in figures: counts, views, and the most viewed videos.

    Views are summed and averaged over the videos that report them.
    """
    videos = snapshot.records
    views = [v for v in (_count(r.get("view_count")) for r in videos) if v is not None]
    ranked = sorted(videos, key=lambda r: _most_first(r.get("view_count"), r.get("video_id")))
    return YouTubeSummary(
        source=snapshot.source,
        collected_at=snapshot.collected_at,
        age_seconds=_age(snapshot.collected_at, now),
        video_count=len(videos),
        shorts_count=sum(1 for r in videos if r.get("is_short")),
        live_count=sum(1 for r in videos if r.get("live_state") == "live"),
        upcoming_count=sum(1 for r in videos if r.get("live_state") == "upcoming"),
        total_views=sum(views),
        avg_views=sum(views) / len(views) if views else 0.0,
        top_videos=[_top_video(r) for r in ranked[:TOP_COUNT]],
    )


def _top_video(record: Mapping[str, Any]) -> TopVideo:
    return TopVideo(
        video_id=str(record["video_id"]),
        title=str(record.get("title") or ""),
        channel_id=str(record["channel_id"]),
        channel_title=record.get("channel_title"),
        published_at=_moment(record["published_at"]),
        duration_seconds=_count(record.get("duration_seconds")),
        is_short=bool(record.get("is_short")),
        live_state=str(record.get("live_state") or "none"),
        view_count=_count(record.get("view_count")),
        like_count=_count(record.get("like_count")),
        comment_count=_count(record.get("comment_count")),
    )


def twitch_summary(snapshot: Snapshot, now: datetime) -> TwitchSummary:
    """A Twitch snapshot in figures: streams, viewers per language, the most watched streams."""
    streams = snapshot.records
    viewers = [_count(r.get("viewer_count")) or 0 for r in streams]
    by_language: Counter[str] = Counter()
    for record, count in zip(streams, viewers, strict=True):
        by_language[str(record.get("language") or UNKNOWN_LANGUAGE)] += count
    ranked = sorted(streams, key=lambda r: _most_first(r.get("viewer_count"), r.get("stream_id")))
    return TwitchSummary(
        source=snapshot.source,
        collected_at=snapshot.collected_at,
        age_seconds=_age(snapshot.collected_at, now),
        stream_count=len(streams),
        total_viewers=sum(viewers),
        avg_viewers=sum(viewers) / len(viewers) if viewers else 0.0,
        viewers_by_language=dict(sorted(by_language.items(), key=lambda kv: (-kv[1], kv[0]))),
        top_streams=[_top_stream(r) for r in ranked[:TOP_COUNT]],
    )


def _top_stream(record: Mapping[str, Any]) -> TopStream:
    return TopStream(
        stream_id=str(record["stream_id"]),
        user_login=record.get("user_login"),
        user_name=record.get("user_name"),
        title=str(record.get("title") or ""),
        viewer_count=_count(record.get("viewer_count")) or 0,
        language=record.get("language"),
        started_at=_moment(record["started_at"]),
    )
