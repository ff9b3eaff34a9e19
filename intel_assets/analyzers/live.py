"""Live analysis: premieres against instant uploads, schedule adherence, publish times, live now.

- A premiere is a video any snapshot of which had `is_premiere` true (YouTube stops telling an
  ended premiere from an ended stream, so the flag of an earlier snapshot counts). Premieres
  still upcoming have no views yet: they are counted apart and left out of the comparison.
- An instant upload has no liveStreamingDetails: no scheduled or actual start and live state
  `none`. Other broadcasts (live streams, ended broadcasts YouTube cannot label) are neither.
- Delay is `actual_start - scheduled_start` of every broadcast with both (premieres and
  scheduled streams); a broadcast is on time when it started at most `on_time_tolerance_seconds`
  after its scheduled start (starting early is on time).
- Publish times: each finished video with known views falls in a cell (UTC weekday, UTC hour
  of `published_at`; weekday 0 is Monday). A cell's performance index is the mean relative
  performance (views against the mean of the video's own format) of its videos. Cells with at
  least `min_cell_videos` videos are ranked; the better half (at most `top_n`) are the best
  times and the worse half (at most `top_n`) the worst, so no cell is both.
- Twitch: each stream's mean viewers over its snapshots, grouped by the UTC hour it started.

The daily premiere table is computed by calling `analyze` on one day's snapshots: the result
carries its columns (`premiere_count`, `instant_count`, `premiere_avg_views`,
`instant_avg_views`, `performance_ratio`, `best_times`, `worst_times`, `avg_delay_seconds`,
`on_time_percent`).
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
    ratio,
    relative_performance,
)
from intel_assets.analyzers.common import numeric


@dataclass(frozen=True)
class LiveParams:
    """Thresholds of live analysis.

    Attributes:
        on_time_tolerance_seconds: Lateness still counted as on time (5 minutes).
        min_cell_videos: Videos (or streams) an hour/weekday cell needs to be ranked.
        top_n: Most cells in `best_times` and in `worst_times`.
    """

    on_time_tolerance_seconds: float = 300.0
    min_cell_videos: int = 2
    top_n: int = 3


@dataclass(frozen=True)
class TimeSlot:
    """A publish time and how videos published then perform.

    Attributes:
        hour_utc: Hour of day (UTC), 0-23.
        day_of_week: Weekday (UTC), 0 = Monday ... 6 = Sunday; None in per-hour lists.
        performance_index: Mean relative performance of the videos published then.
        video_count: Those videos.
    """

    hour_utc: int | None
    day_of_week: int | None
    performance_index: float | None
    video_count: int


@dataclass(frozen=True)
class StreamStartHour:
    """Twitch streams that started in one UTC hour of day.

    Attributes:
        hour_utc: Hour of day (UTC), 0-23.
        stream_count: Distinct streams that started then.
        avg_viewers: Mean over those streams of their mean viewers.
    """

    hour_utc: int
    stream_count: int
    avg_viewers: float | None


@dataclass(frozen=True)
class LiveIntel(Intel):
    """Premieres, schedules, publish times and live streams of a game.

    Attributes:
        premiere_count: Premieres that have started (live or ended).
        upcoming_premiere_count: Premieres not started yet (no views to compare).
        instant_count: Instant uploads.
        other_broadcast_count: Live streams and broadcasts YouTube does not label.
        premiere_avg_views: Mean known views of the started premieres.
        instant_avg_views: Mean known views of the instant uploads.
        performance_ratio: premiere_avg_views / instant_avg_views.
        scheduled_count: Broadcasts with a scheduled and an actual start.
        avg_delay_seconds: Their mean delay (negative: early).
        on_time_percent: Share of them on time, in percent.
        best_times: Best publish cells (weekday and hour), best first.
        worst_times: Worst publish cells, worst first.
        by_hour: Every publish hour with videos (day_of_week None).
        by_weekday: Every publish weekday with videos (hour_utc None).
        youtube_live_now: Videos live at the newest snapshot.
        youtube_upcoming: Videos scheduled to go live.
        youtube_concurrent_viewers: Summed concurrent viewers of the live ones.
        youtube_max_concurrent_viewers: The largest live audience.
        twitch_start_hours: Twitch streams by the hour they started.
        twitch_best_start_hour: Start hour with the most viewers per stream among hours with at
            least `min_cell_videos` streams (None if none has).
        params: The thresholds used.
    """

    premiere_count: int
    upcoming_premiere_count: int
    instant_count: int
    other_broadcast_count: int
    premiere_avg_views: float | None
    instant_avg_views: float | None
    performance_ratio: float | None
    scheduled_count: int
    avg_delay_seconds: float | None
    on_time_percent: float | None
    best_times: list[TimeSlot]
    worst_times: list[TimeSlot]
    by_hour: list[TimeSlot]
    by_weekday: list[TimeSlot]
    youtube_live_now: int
    youtube_upcoming: int
    youtube_concurrent_viewers: int
    youtube_max_concurrent_viewers: int | None
    twitch_start_hours: list[StreamStartHour]
    twitch_best_start_hour: int | None
    params: LiveParams = field(default_factory=LiveParams)

    def key_figures(self) -> KeyFigures:
        """Premieres against uploads, punctuality, the best slot and live audiences."""
        best = self.best_times[0] if self.best_times else None
        return {
            "sample_size": self.sample_size,
            "premiere_count": self.premiere_count,
            "instant_count": self.instant_count,
            "performance_ratio": self.performance_ratio,
            "on_time_percent": self.on_time_percent,
            "best_hour_utc": best.hour_utc if best else None,
            "best_day_of_week": best.day_of_week if best else None,
            "youtube_live_now": self.youtube_live_now,
            "twitch_best_start_hour": self.twitch_best_start_hour,
        }


def _slots(cells: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = cells.groupby(keys)["performance"]
    table = pd.DataFrame({"performance_index": grouped.mean(), "video_count": grouped.size()})
    return table.reset_index()


def _as_slots(table: pd.DataFrame) -> list[TimeSlot]:
    return [
        TimeSlot(
            hour_utc=int(row["hour_utc"]) if "hour_utc" in row else None,
            day_of_week=int(row["day_of_week"]) if "day_of_week" in row else None,
            performance_index=finite_or_none(row["performance_index"]),
            video_count=int(row["video_count"]),
        )
        for row in table.to_dict("records")
    ]


def _best_and_worst(
    cells: pd.DataFrame, params: LiveParams
) -> tuple[list[TimeSlot], list[TimeSlot]]:
    table = _slots(cells, ["day_of_week", "hour_utc"])
    table = table[
        (table["video_count"] >= params.min_cell_videos) & table["performance_index"].notna()
    ]
    ordered = table.sort_values(
        ["performance_index", "video_count", "day_of_week", "hour_utc"],
        ascending=[False, False, True, True],
    )
    best_n = min(params.top_n, (len(ordered) + 1) // 2)
    worst_n = min(params.top_n, len(ordered) // 2)
    worst = ordered.iloc[len(ordered) - worst_n :].iloc[::-1]
    return _as_slots(ordered.head(best_n)), _as_slots(worst)


def _twitch_start_hours(streams: pd.DataFrame) -> list[StreamStartHour]:
    if streams.empty:
        return []
    snaps = pd.DataFrame(
        {
            "stream_id": streams["stream_id"].astype(str),
            "hour_utc": pd.to_datetime(streams["started_at"], utc=True).dt.hour,
            "viewers": numeric(streams["viewer_count"]),
        }
    )
    per_stream = snaps.groupby(["stream_id", "hour_utc"], as_index=False)["viewers"].mean()
    grouped = per_stream.groupby("hour_utc")
    table = pd.DataFrame(
        {"stream_count": grouped.size(), "avg_viewers": grouped["viewers"].mean()}
    ).reset_index()
    return [
        StreamStartHour(
            int(row["hour_utc"]), int(row["stream_count"]), finite_or_none(row["avg_viewers"])
        )
        for row in table.to_dict("records")
    ]


def _ever_premiere(videos: pd.DataFrame, latest: pd.DataFrame) -> pd.Series:
    """Per latest row: whether any snapshot of the video saw it as a premiere."""
    if videos.empty:
        return pd.Series(False, index=latest.index)
    by_video = flags(videos["is_premiere"]).fillna(False).groupby(videos["video_id"]).any()
    return latest["video_id"].map(by_video).fillna(False).astype(bool)


def _finished(latest: pd.DataFrame, state: pd.Series, views: pd.Series) -> pd.DataFrame:
    """Videos neither upcoming nor live with views: their performance and publish hour and day."""
    finished = latest[~state.isin(["upcoming", "live"]) & views.notna()].copy()
    finished["performance"] = relative_performance(finished["views"], finished["is_short"])
    published = pd.to_datetime(finished["published_at"], utc=True)
    finished["hour_utc"] = published.dt.hour
    finished["day_of_week"] = published.dt.day_of_week
    return finished.dropna(subset=["hour_utc"])


def analyze(inputs: AnalyzerInputs, params: LiveParams | None = None) -> LiveIntel:
    """Premieres, schedule adherence, publish times and live audiences of one game."""
    params = params or LiveParams()
    videos = inputs.videos
    latest = latest_videos(inputs)
    ever_premiere = _ever_premiere(videos, latest)
    state = latest["live_state"].astype(object)
    scheduled = pd.to_datetime(latest["scheduled_start"], utc=True)
    started = pd.to_datetime(latest["actual_start"], utc=True)
    views = latest["views"]

    premiere = ever_premiere & (state != "upcoming")
    upcoming_premiere = ever_premiere & (state == "upcoming")
    instant = ~ever_premiere & scheduled.isna() & started.isna() & (state == "none")

    delay = (started - scheduled).dt.total_seconds().dropna()
    on_time = delay <= params.on_time_tolerance_seconds

    finished = _finished(latest, state, views)
    best, worst = _best_and_worst(finished, params)

    live = state == "live"
    concurrent = numeric(latest["concurrent_viewers"])[live]
    start_hours = _twitch_start_hours(inputs.streams)
    ranked_hours = [h for h in start_hours if h.stream_count >= params.min_cell_videos]
    best_start = max(ranked_hours, key=lambda h: (h.avg_viewers or 0.0, -h.hour_utc), default=None)
    premiere_avg, instant_avg = mean_or_none(views[premiere]), mean_or_none(views[instant])
    streams = int(inputs.streams["stream_id"].nunique()) if not inputs.streams.empty else 0
    return LiveIntel(
        sample_size=int(views.notna().sum()) + streams,
        premiere_count=int(premiere.sum()),
        upcoming_premiere_count=int(upcoming_premiere.sum()),
        instant_count=int(instant.sum()),
        other_broadcast_count=int((~ever_premiere & ~instant).sum()),
        premiere_avg_views=premiere_avg,
        instant_avg_views=instant_avg,
        performance_ratio=ratio(premiere_avg, instant_avg),
        scheduled_count=len(delay),
        avg_delay_seconds=mean_or_none(delay),
        on_time_percent=100.0 * float(on_time.mean()) if len(delay) else None,
        best_times=best,
        worst_times=worst,
        by_hour=_as_slots(_slots(finished, ["hour_utc"])),
        by_weekday=_as_slots(_slots(finished, ["day_of_week"])),
        youtube_live_now=int(live.sum()),
        youtube_upcoming=int((state == "upcoming").sum()),
        youtube_concurrent_viewers=int(concurrent.sum()),
        youtube_max_concurrent_viewers=int(concurrent.max()) if concurrent.notna().any() else None,
        twitch_start_hours=start_hours,
        twitch_best_start_hour=best_start.hour_utc if best_start else None,
        params=params,
    )
