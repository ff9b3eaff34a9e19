"""What every analyzer takes and gives: the inputs bundle, JSON-safe results, group statistics.

An analyzer is a pure function `analyze(inputs: AnalyzerInputs) -> <Name>Intel` over the stored
snapshots of one game. Its result is a frozen dataclass deriving from `Intel`, so `to_dict()`
is JSON (no NaN, no infinity, floats rounded) and identical for identical input.

Performance in these modules is always relative: a video's *relative performance* is its views
divided by the mean views of the game's videos of the same format (Shorts or long-form, because
Shorts views count every play since March 2025), and a group's *performance index* is the mean
relative performance of its videos. 1.0 means "as good as the game's average video"; for a game
with only long-form videos it is exactly the seed's `group avg views / game avg views`.
"""

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from intel_assets.analyzers.common import latest_per_video, numeric
from intel_assets.contracts.tables import SNAPSHOT_FRAME_COLUMNS, SnapshotSource

Source = SnapshotSource
"""The snapshot frames an analyzer may read."""

FLOAT_DECIMALS = 4
"""Decimals kept in `to_dict()`: enough for ratios and shares, stable across platforms."""

KeyFigures = dict[str, float | int | str | None]
"""Flat numbers (and labels) an analyzer reports as Dagster metadata, plotted over time."""


def empty_frame(source: Source) -> pd.DataFrame:
    """A snapshot frame with the source's columns and no rows."""
    return pd.DataFrame(
        {column: pd.Series(dtype=object) for column in SNAPSHOT_FRAME_COLUMNS[source]}
    )


@dataclass(frozen=True, eq=False)
class AnalyzerInputs:
    """The stored snapshots of one game that an analysis runs over.

    Attributes:
        videos: Rows of `video_snapshots` (`SNAPSHOT_FRAME_COLUMNS["videos"]`), usually several
            collections over a lookback window, so one video appears once per snapshot.
        streams: Rows of `stream_snapshots` (`SNAPSHOT_FRAME_COLUMNS["streams"]`) of the same game.
        channels: Rows of `channel_snapshots` (`SNAPSHOT_FRAME_COLUMNS["channels"]`).
        game_key: The game every row belongs to.
        as_of: The analysis' reference time: `collected_at` of the newest snapshot (never the
            wall clock, so a re-run gives identical output). Every age is measured at it.

    Raises:
        ValueError: A frame lacks columns, holds rows of another game or snapshots newer than
            `as_of`, or `as_of` is naive.
    """

    videos: pd.DataFrame
    streams: pd.DataFrame
    channels: pd.DataFrame
    game_key: str
    as_of: datetime

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        for source in SNAPSHOT_FRAME_COLUMNS:
            frame = self.frame(source)
            missing = [c for c in SNAPSHOT_FRAME_COLUMNS[source] if c not in frame.columns]
            if missing:
                raise ValueError(f"{source} frame lacks columns: {', '.join(missing)}")
            if frame.empty:
                continue
            other_games = sorted(set(frame["game_key"].astype(str)) - {self.game_key})
            if other_games:
                raise ValueError(
                    f"{source} frame of game {self.game_key!r} holds rows of {other_games}"
                )
            newest = self.newest_collected_at(source)
            if newest is not None and newest > self.as_of:
                raise ValueError(f"{source} has snapshots newer than as_of {self.as_of}")

    @classmethod
    def from_frames(
        cls,
        game_key: str,
        *,
        videos: pd.DataFrame | None = None,
        streams: pd.DataFrame | None = None,
        channels: pd.DataFrame | None = None,
        as_of: datetime | None = None,
    ) -> "AnalyzerInputs":
        """Inputs from whichever frames exist, `as_of` defaulting to the newest snapshot.

        Raises:
            ValueError: Every frame is empty and no `as_of` was given (nothing to date the
                analysis by), or the frames are invalid (see the class).
        """
        frames: dict[Source, pd.DataFrame] = {
            "videos": empty_frame("videos") if videos is None else videos,
            "streams": empty_frame("streams") if streams is None else streams,
            "channels": empty_frame("channels") if channels is None else channels,
        }
        if as_of is None:
            newest = [
                _newest(frame) for frame in frames.values() if "collected_at" in frame.columns
            ]
            known = [t for t in newest if t is not None]
            if not known:
                raise ValueError("no snapshots to take as_of from: pass as_of explicitly")
            as_of = max(known)
        return cls(game_key=game_key, as_of=as_of, **frames)

    def frame(self, source: Source) -> pd.DataFrame:
        """The snapshot frame of one source."""
        return {"videos": self.videos, "streams": self.streams, "channels": self.channels}[source]

    def newest_collected_at(self, source: Source) -> datetime | None:
        """When the source was last collected (None when it has no rows)."""
        return _newest(self.frame(source))

    def data_age_seconds(self, sources: Iterable[Source]) -> float:
        """Age at `as_of` of the stalest source the analysis needed.

        Each source is as old as its newest snapshot; a source without rows has no age (its
        absence shows in the sample size instead). 0 when every needed source is as new as
        `as_of`, e.g. Twitch collected two hours before YouTube gives 7200 for an analysis that
        reads both.
        """
        ages = [
            (self.as_of - newest).total_seconds()
            for source in sources
            if (newest := self.newest_collected_at(source)) is not None
        ]
        return max(ages, default=0.0)


def _newest(frame: pd.DataFrame) -> datetime | None:
    if frame.empty:
        return None
    newest = pd.to_datetime(frame["collected_at"], utc=True).max()
    return None if pd.isna(newest) else newest.to_pydatetime()


class IntelResult(Protocol):
    """What the registry and the asset factory need of any analyzer's result."""

    @property
    def sample_size(self) -> int:
        """How many observations (videos, streams) the result rests on."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The whole result as JSON-able data."""
        ...

    def key_figures(self) -> KeyFigures:
        """The few numbers worth plotting over time."""
        ...


@dataclass(frozen=True)
class Intel:
    """Base of every analyzer result: a frozen dataclass whose fields are its `to_dict()` keys.

    Attributes:
        sample_size: How many observations the result rests on (0 for empty input).
    """

    sample_size: int

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON: NaN and infinity become None, floats keep 4 decimals."""
        return json_safe(dataclasses.asdict(self))

    def key_figures(self) -> KeyFigures:
        """The few numbers worth plotting over time (each analyzer says which)."""
        return {"sample_size": self.sample_size}


def json_safe(value: Any) -> Any:
    """The value as plain JSON data: None for NaN/inf/NA, rounded floats, ISO timestamps.

    Raises:
        TypeError: A value JSON cannot hold (a bug in the analyzer, not bad input).
    """
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        # + 0.0 turns -0.0 into 0.0, so equal results serialise equally.
        return round(number, FLOAT_DECIMALS) + 0.0 if math.isfinite(number) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def finite_or_none(value: float | None) -> float | None:
    """The number as a Python float, None where it is missing or not finite."""
    if value is None or pd.isna(value) or not math.isfinite(value):
        return None
    return float(value)


def mean_or_none(values: pd.Series) -> float | None:
    """The mean of the known values; None when none is known."""
    return finite_or_none(values.mean()) if values.notna().any() else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """The quotient; None where either is missing or the denominator is 0."""
    if numerator is None or denominator is None or pd.isna(numerator) or pd.isna(denominator):
        return None
    return None if denominator == 0 else float(numerator) / float(denominator)


def flags(values: pd.Series) -> pd.Series:
    """A column of booleans as nullable booleans (missing stays missing, never False)."""
    return values.astype("boolean")


def as_list(value: object) -> list[str]:
    """A list cell (tags, topics) as a list of strings; missing or scalar junk as []."""
    if isinstance(value, list | tuple | np.ndarray):
        return [str(item) for item in value if item is not None and not pd.isna(item)]
    return []


def per_row(frame: pd.DataFrame, values: Sequence[object]) -> pd.Series:
    """Values computed row by row (in the frame's order), as a Series aligned with the frame."""
    return pd.Series(list(values), index=frame.index, dtype=object)


def latest_videos(inputs: AnalyzerInputs) -> pd.DataFrame:
    """Each video's newest snapshot, with its views (float, NaN when unknown) in `views`."""
    latest = latest_per_video(inputs.videos)
    latest["views"] = numeric(latest["view_count"])
    return latest


def relative_performance(views: pd.Series, is_short: pd.Series | None = None) -> pd.Series:
    """Each video's views over the mean views of its format (NaN where undefined).

    Args:
        views: Views per video (NaN when unknown; such videos are left out of the means).
        is_short: Whether each video is a Short. None compares every video with the mean of
            all, which is what format analysis needs to compare the formats themselves.
    """
    if is_short is None:
        groups = pd.Series(0, index=views.index)
    else:
        groups = flags(is_short).fillna(False).astype(bool)
    mean = views.groupby(groups).transform("mean")
    return views / mean.where(mean > 0)


@dataclass(frozen=True)
class GroupStats:
    """How a group of videos performs.

    Attributes:
        video_count: Videos in the group.
        avg_views: Mean views of those whose views are known (None if none are).
        total_views: Sum of the known views.
        performance_index: Mean relative performance (1.0 = the game's average video).
    """

    video_count: int
    avg_views: float | None
    total_views: int
    performance_index: float | None


def group_stats(
    views: pd.Series, performance: pd.Series, mask: pd.Series | None = None
) -> GroupStats:
    """Statistics of the videos where `mask` is True (all videos when mask is None)."""
    if mask is not None:
        selected = mask.fillna(False).astype(bool)
        views, performance = views[selected], performance[selected]
    known = views.dropna()
    return GroupStats(
        video_count=len(views),
        avg_views=mean_or_none(known),
        total_views=int(known.sum()),
        performance_index=mean_or_none(performance),
    )


@dataclass(frozen=True)
class FeatureSplit:
    """Videos with a feature against videos without it.

    Attributes:
        with_feature: Videos that have it.
        without_feature: Videos that do not.
        unknown_count: Videos where it is unknown (e.g. a null flag), in neither group.
        lift: with_feature.performance_index / without_feature.performance_index.
    """

    with_feature: GroupStats
    without_feature: GroupStats
    unknown_count: int
    lift: float | None


def feature_split(views: pd.Series, performance: pd.Series, has: pd.Series) -> FeatureSplit:
    """Compare videos where `has` is True with those where it is False (NA is unknown)."""
    has = flags(has)
    with_feature = group_stats(views, performance, has.eq(True))
    without_feature = group_stats(views, performance, has.eq(False))
    return FeatureSplit(
        with_feature=with_feature,
        without_feature=without_feature,
        unknown_count=int(has.isna().sum()),
        lift=ratio(with_feature.performance_index, without_feature.performance_index),
    )


@dataclass(frozen=True)
class TermParams:
    """How lists of terms (words, phrases, tags, domains, hashtags, topics) are cut.

    Attributes:
        min_term_videos: Videos a term must appear in to be listed (fewer is anecdote).
        top_n: Most terms per list.
    """

    min_term_videos: int = 3
    top_n: int = 25


@dataclass(frozen=True)
class LabelledStats:
    """How a labelled group of videos performs (a bucket, a term, a tag, a domain, ...).

    Attributes:
        label: What the group is.
        video_count: Videos in the group.
        avg_views: Mean known views (None if none are known).
        total_views: Sum of the known views.
        performance_index: Mean relative performance (1.0 = the game's average video).
    """

    label: str
    video_count: int
    avg_views: float | None
    total_views: int
    performance_index: float | None


def labelled_stats(
    label: str, views: pd.Series, performance: pd.Series, mask: pd.Series
) -> LabelledStats:
    """Statistics of the videos where `mask` is True, under a label."""
    return LabelledStats(label, *dataclasses.astuple(group_stats(views, performance, mask)))


def term_stats(terms: pd.Series, views: pd.Series, performance: pd.Series) -> pd.DataFrame:
    """Per term, how the videos carrying it perform.

    Args:
        terms: Per video, the terms it carries (a list; repeats count once per video).
        views: Per video, its views (NaN when unknown).
        performance: Per video, its relative performance.

    Returns:
        One row per term: `label`, `video_count`, `avg_views`, `total_views`,
        `performance_index`, sorted by label.
    """
    pairs = pd.DataFrame({"label": terms}).explode("label").dropna()
    pairs = pairs.reset_index(names="video").drop_duplicates()
    if pairs.empty:
        return pd.DataFrame(
            columns=["label", "video_count", "avg_views", "total_views", "performance_index"]
        )
    pairs["views"] = views.reindex(pairs["video"]).to_numpy()
    pairs["performance"] = performance.reindex(pairs["video"]).to_numpy()
    grouped = pairs.groupby("label", sort=True)
    table = pd.DataFrame(
        {
            "video_count": grouped.size(),
            "avg_views": grouped["views"].mean(),
            "total_views": grouped["views"].sum(),
            "performance_index": grouped["performance"].mean(),
        }
    )
    return table.reset_index()


def ranked(
    table: pd.DataFrame, *, by: Literal["performance", "frequency"], params: TermParams
) -> list[LabelledStats]:
    """The first `top_n` rows of a `term_stats` table with at least `min_term_videos` videos.

    `performance` ranks by performance index, then video count; `frequency` by video count,
    then performance index; ties by label, so the order is deterministic.
    """
    table = table[table["video_count"] >= params.min_term_videos]
    keys = ["performance_index", "video_count"]
    if by == "frequency":
        keys.reverse()
    ordered = table.sort_values(
        [*keys, "label"], ascending=[False, False, True], na_position="last"
    )
    return [
        LabelledStats(
            label=str(row["label"]),
            video_count=int(row["video_count"]),
            avg_views=finite_or_none(row["avg_views"]),
            total_views=int(row["total_views"]),
            performance_index=finite_or_none(row["performance_index"]),
        )
        for row in ordered.head(params.top_n).to_dict("records")
    ]
