"""Viral analysis: which videos gain views fastest right now, against the game's own baseline.

Velocity is measured between stored snapshots, never as a lifetime average: for each video,
consecutive snapshots (ordered by `collected_at`) give intervals, and

    velocity = (views_later - views_earlier) / hours between the two snapshots
    acceleration = (velocity of the latest interval - velocity of the one before)
                   / hours between the two intervals' midpoints

A video's velocity is that of its latest valid interval. Intervals whose views fall (YouTube
recounts and removes invalid views) are skipped and counted; two snapshots of a video with the
same `collected_at` keep the one with more views (counted), so no interval is zero hours long.

Shorts views count every play since March 2025, so Shorts and long-form videos are judged
against separate baselines (the median and upper quartile of the velocities of videos of that
format in the game):

    viral  = velocity >= max(viral_multiplier x format median, format's absolute floor)
    rising = not viral, acceleration > 0, and velocity > format upper quartile

Quartiles interpolate linearly between the sorted velocities (numpy's default).
"""

from dataclasses import dataclass, field

import pandas as pd

from intel_assets.analyzers.base import (
    AnalyzerInputs,
    Intel,
    KeyFigures,
    finite_or_none,
    flags,
    latest_videos,
    mean_or_none,
)
from intel_assets.analyzers.common import numeric


@dataclass(frozen=True)
class ViralParams:
    """The thresholds of the viral and rising rules.

    Attributes:
        viral_multiplier: How many times the format's median velocity makes a video viral.
        shorts_min_viral_velocity: Views per hour below which no Short is viral, however
            quiet the game (a median near 0 would otherwise make noise viral).
        longform_min_viral_velocity: The same floor for long-form videos.
        top_n: Most videos listed in `viral_videos` and `rising_videos`.
    """

    viral_multiplier: float = 3.0
    shorts_min_viral_velocity: float = 1000.0
    longform_min_viral_velocity: float = 100.0
    top_n: int = 20


@dataclass(frozen=True)
class FormatBaseline:
    """The velocities a game's videos of one format (Shorts or long-form) reach.

    Attributes:
        video_count: Videos of the format with a velocity.
        median_velocity: Their median views per hour.
        upper_quartile_velocity: Their 75th percentile (the rising threshold).
        viral_threshold: Velocity at and above which a video of the format is viral.
    """

    video_count: int
    median_velocity: float | None
    upper_quartile_velocity: float | None
    viral_threshold: float


@dataclass(frozen=True)
class ViralVideo:
    """A viral or rising video.

    Attributes:
        video_id: YouTube video id.
        title: Title at the latest snapshot.
        channel_id: The uploading channel.
        velocity: Views per hour over its latest interval between snapshots.
        acceleration: Change of velocity per hour (None with a single interval).
        is_short: Whether it is a Short.
        views: Views at the latest snapshot.
    """

    video_id: str
    title: str
    channel_id: str
    velocity: float
    acceleration: float | None
    is_short: bool
    views: int | None


@dataclass(frozen=True)
class ViralIntel(Intel):
    """What is going viral in a game now.

    Attributes:
        viral_video_count: Videos meeting the viral rule.
        rising_video_count: Videos meeting the rising rule (viral ones excluded).
        avg_velocity: Mean velocity of the videos with one (views per hour).
        max_velocity: Highest velocity.
        videos_seen: Distinct videos in the input.
        videos_with_velocity: Videos with at least one valid interval (the sample size).
        videos_without_history: Videos with fewer than two snapshots with views: no velocity.
        videos_only_recounts: Videos whose every interval lost views: no velocity.
        negative_deltas: Intervals skipped because views fell.
        duplicate_snapshots: Snapshots dropped for repeating a video's `collected_at`.
        snapshots_without_views: Snapshots without a view count (not used).
        baselines: `shorts` and `longform` baselines.
        viral_videos: Viral videos, fastest first (at most `top_n`).
        rising_videos: Rising videos, fastest first (at most `top_n`).
        params: The thresholds used.
    """

    viral_video_count: int
    rising_video_count: int
    avg_velocity: float | None
    max_velocity: float | None
    videos_seen: int
    videos_with_velocity: int
    videos_without_history: int
    videos_only_recounts: int
    negative_deltas: int
    duplicate_snapshots: int
    snapshots_without_views: int
    baselines: dict[str, FormatBaseline]
    viral_videos: list[ViralVideo]
    rising_videos: list[ViralVideo]
    params: ViralParams = field(default_factory=ViralParams)

    def key_figures(self) -> KeyFigures:
        """Counts and velocities, as the hourly table stores them."""
        return {
            "sample_size": self.sample_size,
            "viral_video_count": self.viral_video_count,
            "rising_video_count": self.rising_video_count,
            "avg_velocity": self.avg_velocity,
            "max_velocity": self.max_velocity,
            "videos_without_history": self.videos_without_history,
            "negative_deltas": self.negative_deltas,
        }


@dataclass(frozen=True)
class _Intervals:
    per_video: pd.DataFrame  # video_id, velocity, acceleration
    usable_snapshots: pd.Series  # per video_id
    negative_deltas: int
    duplicate_snapshots: int
    snapshots_without_views: int


def _intervals(videos: pd.DataFrame) -> _Intervals:
    snaps = pd.DataFrame(
        {
            "video_id": videos["video_id"].astype(str),
            "collected_at": pd.to_datetime(videos["collected_at"], utc=True),
            "views": numeric(videos["view_count"]),
        }
    )
    without_views = int(snaps["views"].isna().sum())
    snaps = snaps.dropna(subset=["views"]).sort_values(
        ["video_id", "collected_at", "views"], kind="stable"
    )
    repeated = snaps.duplicated(["video_id", "collected_at"], keep="last")
    snaps = snaps[~repeated].reset_index(drop=True)

    by_video = snaps.groupby("video_id", sort=False)
    snaps["hours"] = by_video["collected_at"].diff().dt.total_seconds() / 3600.0
    snaps["delta"] = by_video["views"].diff()
    intervals = snaps.dropna(subset=["hours"])
    negative = intervals["delta"] < 0
    valid = intervals[~negative].copy()
    valid["velocity"] = valid["delta"] / valid["hours"]
    valid["midpoint_hours"] = (
        valid["collected_at"] - valid["collected_at"].min()
    ).dt.total_seconds() / 3600.0 - valid["hours"] / 2.0

    by_valid = valid.groupby("video_id", sort=False)
    previous_velocity = by_valid["velocity"].shift(1)
    previous_midpoint = by_valid["midpoint_hours"].shift(1)
    valid["acceleration"] = (valid["velocity"] - previous_velocity) / (
        valid["midpoint_hours"] - previous_midpoint
    )
    latest = valid.drop_duplicates("video_id", keep="last")
    return _Intervals(
        per_video=latest[["video_id", "velocity", "acceleration"]].reset_index(drop=True),
        usable_snapshots=snaps.groupby("video_id").size(),
        negative_deltas=int(negative.sum()),
        duplicate_snapshots=int(repeated.sum()),
        snapshots_without_views=without_views,
    )


def _baseline(velocities: pd.Series, floor: float, multiplier: float) -> FormatBaseline:
    if velocities.empty:
        return FormatBaseline(0, None, None, floor)
    median = float(velocities.median())
    return FormatBaseline(
        video_count=len(velocities),
        median_velocity=median,
        upper_quartile_velocity=float(velocities.quantile(0.75)),
        viral_threshold=max(multiplier * median, floor),
    )


def _listed(rows: pd.DataFrame, top_n: int) -> list[ViralVideo]:
    ordered = rows.sort_values(["velocity", "video_id"], ascending=[False, True]).head(top_n)
    return [
        ViralVideo(
            video_id=str(row["video_id"]),
            title=str(row["title"]),
            channel_id=str(row["channel_id"]),
            velocity=float(row["velocity"]),
            acceleration=finite_or_none(row["acceleration"]),
            is_short=bool(row["short"]),
            views=None if pd.isna(row["views"]) else int(row["views"]),
        )
        for row in ordered.to_dict("records")
    ]


def analyze(inputs: AnalyzerInputs, params: ViralParams | None = None) -> ViralIntel:
    """Velocities, baselines and the viral and rising videos of one game's snapshots."""
    params = params or ViralParams()
    intervals = _intervals(inputs.videos)
    latest = latest_videos(inputs)[["video_id", "title", "channel_id", "is_short", "views"]]
    latest = latest.assign(
        video_id=latest["video_id"].astype(str),
        short=flags(latest["is_short"]).fillna(False).astype(bool),
    )
    measured = intervals.per_video.merge(latest, on="video_id", how="left", validate="1:1")

    baselines: dict[str, FormatBaseline] = {}
    viral = pd.Series(False, index=measured.index)
    rising = pd.Series(False, index=measured.index)
    for name, is_short, floor in (
        ("shorts", True, params.shorts_min_viral_velocity),
        ("longform", False, params.longform_min_viral_velocity),
    ):
        of_format = measured["short"] == is_short
        baseline = _baseline(measured.loc[of_format, "velocity"], floor, params.viral_multiplier)
        baselines[name] = baseline
        viral |= of_format & (measured["velocity"] >= baseline.viral_threshold)
        if baseline.upper_quartile_velocity is not None:
            rising |= (
                of_format
                & (measured["acceleration"] > 0)
                & (measured["velocity"] > baseline.upper_quartile_velocity)
            )
    rising &= ~viral

    with_velocity = len(measured)
    usable = intervals.usable_snapshots
    seen = int(inputs.videos["video_id"].nunique()) if not inputs.videos.empty else 0
    without_history = seen - int((usable >= 2).sum())
    return ViralIntel(
        sample_size=with_velocity,
        viral_video_count=int(viral.sum()),
        rising_video_count=int(rising.sum()),
        avg_velocity=mean_or_none(measured["velocity"]),
        max_velocity=finite_or_none(measured["velocity"].max()) if with_velocity else None,
        videos_seen=seen,
        videos_with_velocity=with_velocity,
        videos_without_history=without_history,
        videos_only_recounts=seen - without_history - with_velocity,
        negative_deltas=intervals.negative_deltas,
        duplicate_snapshots=intervals.duplicate_snapshots,
        snapshots_without_views=intervals.snapshots_without_views,
        baselines=baselines,
        viral_videos=_listed(measured[viral], params.top_n),
        rising_videos=_listed(measured[rising], params.top_n),
        params=params,
    )
