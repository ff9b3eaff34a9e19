"""Format analysis: which durations, Shorts or long-form, HD and captions go with views.

The duration buckets are the seed's (`common.DURATION_BUCKETS`). Each bucket's performance
index is its average views over the game's average views (1.0 = average), over the videos
whose duration and views are both known: formats are what is compared here, so views are not
made relative to each video's own format. Upcoming and live broadcasts are left out (counted):
they have no final duration and their views are still those of a stream in progress.

The daily duration table is computed by calling `analyze` on one day's snapshots, so each
entry of `buckets` carries exactly the columns of `intel_duration_performance`. A bucket
without videos has `avg_views`, `avg_engagement` and `performance_index` None.
"""

from dataclasses import dataclass, field

import pandas as pd

from intel_assets.analyzers.base import (
    AnalyzerInputs,
    FeatureSplit,
    GroupStats,
    Intel,
    KeyFigures,
    feature_split,
    flags,
    group_stats,
    latest_videos,
    mean_or_none,
    ratio,
    relative_performance,
)
from intel_assets.analyzers.common import (
    DURATION_BUCKETS,
    duration_bucket_labels,
    engagement_rate,
    numeric,
)

UNFINISHED_LIVE_STATES = ("upcoming", "live")
"""Broadcasts whose duration and views are not final yet."""


@dataclass(frozen=True)
class FormatParams:
    """Thresholds of format analysis.

    Attributes:
        min_bucket_videos: Videos a bucket needs to be named the optimal duration (the seed's
            duration query asks for 5).
    """

    min_bucket_videos: int = 5


@dataclass(frozen=True)
class DurationBucketStats:
    """How videos of one duration bucket perform (a row of `intel_duration_performance`).

    Attributes:
        bucket_label: The bucket's label, e.g. `8_15m`.
        bucket_min_seconds: Shortest duration in the bucket (inclusive).
        bucket_max_seconds: Longest duration (exclusive).
        video_count: Videos in the bucket (duration and views known).
        avg_views: Their mean views.
        avg_engagement: Mean (likes + comments) / views of those with visible likes.
        total_views: Their summed views.
        performance_index: avg_views / the game's average views.
    """

    bucket_label: str
    bucket_min_seconds: int
    bucket_max_seconds: int
    video_count: int
    avg_views: float | None
    avg_engagement: float | None
    total_views: int
    performance_index: float | None


@dataclass(frozen=True)
class FormatStats:
    """Shorts or long-form videos of the game (views known).

    Attributes:
        video_count: Videos of the format.
        avg_views: Their mean views.
        total_views: Their summed views.
        avg_engagement: Their mean engagement (visible likes only).
    """

    video_count: int
    avg_views: float | None
    total_views: int
    avg_engagement: float | None


@dataclass(frozen=True)
class DefinitionSplit:
    """HD against SD uploads.

    Attributes:
        hd: Videos YouTube serves in HD.
        sd: Videos in SD only.
        unknown_count: Videos without a definition.
    """

    hd: GroupStats
    sd: GroupStats
    unknown_count: int


@dataclass(frozen=True)
class FormatIntel(Intel):
    """Which formats perform in a game.

    Attributes:
        videos_without_views: Finished videos without a view count (left out).
        videos_without_duration: Finished videos with views but no duration, or one beyond the
            12-hour upload limit (in no bucket).
        broadcasts_excluded: Upcoming or live broadcasts (left out).
        avg_duration_seconds: Mean duration of the finished videos with one.
        buckets: Every duration bucket, shortest first.
        optimal_duration_range: Label of the bucket with the highest performance index among
            those with at least `min_bucket_videos` videos (None if no bucket has enough).
        shorts: Shorts figures.
        longform: Long-form figures.
        shorts_performance_ratio: Shorts avg views / long-form avg views (None if either is
            missing or long-form averages 0).
        definition: HD against SD.
        captions: Videos with captions against those without.
        params: The thresholds used.
    """

    videos_without_views: int
    videos_without_duration: int
    broadcasts_excluded: int
    avg_duration_seconds: float | None
    buckets: list[DurationBucketStats]
    optimal_duration_range: str | None
    shorts: FormatStats
    longform: FormatStats
    shorts_performance_ratio: float | None
    definition: DefinitionSplit
    captions: FeatureSplit
    params: FormatParams = field(default_factory=FormatParams)

    def key_figures(self) -> KeyFigures:
        """Shorts against long-form and the best duration."""
        return {
            "sample_size": self.sample_size,
            "optimal_duration_range": self.optimal_duration_range,
            "shorts_count": self.shorts.video_count,
            "longform_count": self.longform.video_count,
            "shorts_performance_ratio": self.shorts_performance_ratio,
            "avg_duration_seconds": self.avg_duration_seconds,
        }


def _format_stats(videos: pd.DataFrame) -> FormatStats:
    return FormatStats(
        video_count=len(videos),
        avg_views=mean_or_none(videos["views"]),
        total_views=int(videos["views"].sum()),
        avg_engagement=mean_or_none(videos["engagement"]),
    )


def _buckets(timed: pd.DataFrame) -> list[DurationBucketStats]:
    game_avg = mean_or_none(timed["views"])
    buckets = []
    for bucket in DURATION_BUCKETS:
        members = timed[timed["bucket"] == bucket.label]
        avg_views = mean_or_none(members["views"])
        buckets.append(
            DurationBucketStats(
                bucket_label=bucket.label,
                bucket_min_seconds=bucket.min_seconds,
                bucket_max_seconds=bucket.max_seconds,
                video_count=len(members),
                avg_views=avg_views,
                avg_engagement=mean_or_none(members["engagement"]),
                total_views=int(members["views"].sum()),
                performance_index=ratio(avg_views, game_avg),
            )
        )
    return buckets


def _optimal(buckets: list[DurationBucketStats], min_videos: int) -> str | None:
    # Highest index first; ties go to the bucket with more videos, then the shorter one.
    eligible = [
        (b.performance_index, b.video_count, -i, b.bucket_label)
        for i, b in enumerate(buckets)
        if b.video_count >= min_videos and b.performance_index is not None
    ]
    return max(eligible)[3] if eligible else None


def analyze(inputs: AnalyzerInputs, params: FormatParams | None = None) -> FormatIntel:
    """Duration buckets, Shorts against long-form, HD and captions of one game's videos."""
    params = params or FormatParams()
    latest = latest_videos(inputs)
    unfinished = latest["live_state"].isin(UNFINISHED_LIVE_STATES)
    finished = latest[~unfinished].copy()
    finished["engagement"] = engagement_rate(finished)
    finished["duration"] = numeric(finished["duration_seconds"])
    finished["bucket"] = duration_bucket_labels(finished["duration"])

    viewed = finished[finished["views"].notna()].copy()
    timed = viewed[viewed["bucket"].notna()]
    buckets = _buckets(timed)
    short = flags(viewed["is_short"]).fillna(False).astype(bool)
    shorts, longform = _format_stats(viewed[short]), _format_stats(viewed[~short])

    views = viewed["views"]
    performance = relative_performance(views)
    definition = viewed["definition"].astype(object).str.lower()
    return FormatIntel(
        sample_size=len(viewed),
        videos_without_views=len(finished) - len(viewed),
        videos_without_duration=len(viewed) - len(timed),
        broadcasts_excluded=int(unfinished.sum()),
        avg_duration_seconds=mean_or_none(finished["duration"]),
        buckets=buckets,
        optimal_duration_range=_optimal(buckets, params.min_bucket_videos),
        shorts=shorts,
        longform=longform,
        shorts_performance_ratio=ratio(shorts.avg_views, longform.avg_views),
        definition=DefinitionSplit(
            hd=group_stats(views, performance, definition == "hd"),
            sd=group_stats(views, performance, definition == "sd"),
            unknown_count=int((~definition.isin(["hd", "sd"])).sum()),
        ),
        captions=feature_split(views, performance, viewed["caption"]),
        params=params,
    )
