"""Small snapshot frames for analyzer tests: one dict per row, defaults for every column.

Each builder takes only the fields a test cares about; the rest get plain defaults (a 10-minute
long-form HD video of fortnite with 1000 views, 50 likes, 10 comments, no language, no tags).
Frames come out with the columns and the dtypes the warehouse gives (`fetch_frame`): tz-aware
timestamps, floats where counts may be null, lists in object columns.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from intel_assets.analyzers.base import AnalyzerInputs
from intel_assets.contracts.tables import CHANNEL_FRAME_COLUMNS, STREAM_COLUMNS, VIDEO_COLUMNS

GAME = "fortnite"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
"""A Monday noon UTC: the default collection time."""

HOUR = timedelta(hours=1)


def _with_fields(defaults: dict[str, Any], fields: dict[str, Any], table: str) -> dict[str, Any]:
    unknown = set(fields) - set(defaults)
    if unknown:
        raise KeyError(f"not {table} columns: {sorted(unknown)}")
    return {**defaults, **fields}


def video(video_id: str = "v1", **fields: Any) -> dict[str, Any]:
    """One `video_snapshots` row; `fields` override the defaults."""
    collected_at = fields.get("collected_at", T0)
    row: dict[str, Any] = {
        "video_id": video_id,
        "game_key": GAME,
        "collected_at": collected_at,
        "collection_id": f"yt-{collected_at:%Y%m%dT%H%M%S}",
        "source": "chart",
        "title": f"Video {video_id}",
        "description": "",
        "channel_id": "UC_a",
        "channel_title": "Channel A",
        "published_at": T0 - 24 * HOUR,
        "duration_seconds": 600,
        "is_short": False,
        "view_count": 1000,
        "like_count": 50,
        "comment_count": 10,
        "default_audio_language": None,
        "default_language": None,
        "live_state": "none",
        "is_premiere": None,
        "scheduled_start": None,
        "actual_start": None,
        "actual_end": None,
        "concurrent_viewers": None,
        "tags": [],
        "topic_categories": [],
        "category_id": "20",
        "definition": "hd",
        "caption": False,
        "licensed_content": True,
        "made_for_kids": False,
        "has_paid_product_placement": False,
        "localization_languages": [],
        # Unresolved, as rows stored before collection resolved languages: analyzers resolve.
        "language": None,
        "language_source": None,
    }
    return _with_fields(row, fields, "video_snapshots")


def stream(stream_id: str = "s1", **fields: Any) -> dict[str, Any]:
    """One `stream_snapshots` row; `fields` override the defaults."""
    collected_at = fields.get("collected_at", T0)
    row: dict[str, Any] = {
        "stream_id": stream_id,
        "user_id": f"u-{stream_id}",
        "user_login": f"login_{stream_id}",
        "user_name": f"Streamer {stream_id}",
        "game_key": GAME,
        "twitch_game_id": "33214",
        "collected_at": collected_at,
        "collection_id": f"tw-{collected_at:%Y%m%dT%H%M%S}",
        "viewer_count": 100,
        "language": "en",
        "started_at": T0 - 2 * HOUR,
        "title": "live",
        "tags": [],
        "is_mature": False,
    }
    return _with_fields(row, fields, "stream_snapshots")


def channel(channel_id: str = "UC_a", **fields: Any) -> dict[str, Any]:
    """One `channel_snapshots` row; `fields` override the defaults."""
    collected_at = fields.get("collected_at", T0)
    row: dict[str, Any] = {
        "channel_id": channel_id,
        "game_key": GAME,
        "collected_at": collected_at,
        "collection_id": f"yt-{collected_at:%Y%m%dT%H%M%S}",
        "title": f"Channel {channel_id}",
        "published_at": T0 - timedelta(days=1000),
        "country": None,
        "subscriber_count": 50_000,
        "video_count": 100,
        "view_count": 1_000_000,
    }
    return _with_fields(row, fields, "channel_snapshots")


def frame(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows as a frame with exactly these columns, typed as the warehouse would type them."""
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.DataFrame.from_records(
        [tuple(row[c] for c in columns) for row in rows], columns=list(columns)
    )


def inputs(
    videos: Sequence[dict[str, Any]] = (),
    streams: Sequence[dict[str, Any]] = (),
    channels: Sequence[dict[str, Any]] = (),
    *,
    as_of: datetime | None = None,
) -> AnalyzerInputs:
    """Analyzer inputs from row dicts; `as_of` defaults to the newest row (T0 when none)."""
    if as_of is None and not (videos or streams or channels):
        as_of = T0
    return AnalyzerInputs.from_frames(
        GAME,
        videos=frame(videos, VIDEO_COLUMNS),
        streams=frame(streams, STREAM_COLUMNS),
        channels=frame(channels, CHANNEL_FRAME_COLUMNS),
        as_of=as_of,
    )
