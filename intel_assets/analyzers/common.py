"""Definitions every analyzer and rollup shares: input columns, duration buckets, engagement.

Pure functions over pandas DataFrames; no Dagster, no I/O. The frames have the columns of the
snapshot tables (`intel_assets.contracts.tables.SNAPSHOT_FRAME_COLUMNS`): one row per video
(stream, channel) per collection, so one video appears once per snapshot that saw it.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DurationBucket:
    """A range of video durations, `[min_seconds, max_seconds)`.

    Attributes:
        label: Name shown to creators and stored in `intel_duration_performance.bucket_label`.
        min_seconds: Shortest duration in the bucket (inclusive).
        max_seconds: Longest duration (exclusive); the last bucket ends at YouTube's 12-hour
            upload limit.
    """

    label: str
    min_seconds: int
    max_seconds: int


DURATION_BUCKETS: tuple[DurationBucket, ...] = (
    DurationBucket("under_1m", 0, 60),
    DurationBucket("1_3m", 60, 180),
    DurationBucket("3_8m", 180, 480),
    DurationBucket("8_15m", 480, 900),
    DurationBucket("15_30m", 900, 1800),
    DurationBucket("30_60m", 1800, 3600),
    DurationBucket("over_60m", 3600, 43_200),
)
"""The duration buckets of format analysis and the daily duration table, shortest first."""


def duration_bucket_labels(durations: pd.Series) -> pd.Series:
    """The bucket label of each duration in seconds (missing where the duration is missing)."""
    edges = [b.min_seconds for b in DURATION_BUCKETS] + [DURATION_BUCKETS[-1].max_seconds]
    labels = [b.label for b in DURATION_BUCKETS]
    binned = pd.Series(
        pd.cut(numeric(durations), bins=edges, labels=labels, right=False), index=durations.index
    )
    return binned.astype(object).where(binned.notna(), None)


def numeric(values: pd.Series) -> pd.Series:
    """The values as float64, with anything missing or unparsable as NaN."""
    return pd.Series(pd.to_numeric(values, errors="coerce"), index=values.index, dtype="float64")


def latest_per_video(videos: pd.DataFrame) -> pd.DataFrame:
    """Each video's newest snapshot: one row per (game_key, video_id), latest `collected_at`.

    Of two snapshots with the same `collected_at`, the one with more views wins, so the
    result does not depend on row order.
    """
    if videos.empty:
        return videos.copy()
    ordered = videos.sort_values(
        ["game_key", "video_id", "collected_at", "view_count"], kind="stable", na_position="first"
    )
    return ordered.drop_duplicates(["game_key", "video_id"], keep="last").reset_index(drop=True)


def engagement_rate(videos: pd.DataFrame) -> pd.Series:
    """Each video's engagement: (likes + comments) / views, in [0, 1].

    Undefined (NaN) where likes are hidden or there are no views yet: a hidden count is not
    zero, so such videos are left out of averages rather than pulling them down. Hidden or
    disabled comments count as none when likes are visible. Capped at 1 (bots can push raw
    ratios above it).
    """
    views = numeric(videos["view_count"])
    likes = numeric(videos["like_count"])
    comments = numeric(videos["comment_count"]).fillna(0.0)
    rate = (likes + comments) / views.where(views > 0)
    return rate.clip(upper=1.0).where(likes.notna(), np.nan)
