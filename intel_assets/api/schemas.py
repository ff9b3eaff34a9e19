"""What the read API answers: pydantic models, which are also its OpenAPI document.

Every answer that can come from either tier says which one it came from (`source`), how old the
data is and, for analyses, the confidence decayed to the moment of serving, so a client can
tell a fresh result from the last good one read back from Postgres while Redis is down.
Times are ISO 8601 in UTC; hours and days are UTC hours and days.
"""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AnalyzerName = Literal[
    "viral", "title", "format", "description", "semantic", "regional", "live", "competition"
]
"""The eight analyzers (`intel_assets.analyzers.registry.ANALYZERS`, in the same order)."""

Source = Literal["hot_tier", "warehouse"]
"""Where an answer was read: Redis (the latest, as the pipeline wrote it) or Postgres (the last
result kept there, served when Redis has no value or does not answer)."""


class ApiModel(BaseModel):
    """Answers are read-only records."""

    model_config = ConfigDict(frozen=True)


class ErrorBody(ApiModel):
    """A refused or failed request."""

    detail: str = Field(description="What was wrong, in words a client developer can act on.")


class Game(ApiModel):
    """A tracked game."""

    key: str = Field(description="The game's key in every other route, e.g. `fortnite`.")
    display_name: str
    priority: int = Field(description="1 is collected most often.")
    discovered: bool = Field(description="Added from Twitch's top games, not the catalog file.")


class GameList(ApiModel):
    """Every tracked game: the catalog file's and those discovered from Twitch."""

    games: list[Game] = Field(description="Highest priority first, then by key.")


class Analysis(ApiModel):
    """One analyzer's latest result for one game, with what is needed to judge it."""

    analyzer: AnalyzerName
    game_key: str
    source: Source
    as_of: datetime = Field(description="`collected_at` of the newest snapshot analysed.")
    age_seconds: float = Field(description="Seconds from `as_of` to `served_at` (at least 0).")
    data_age_seconds: float = Field(
        description="Age at `as_of` of the stalest input the analyzer read."
    )
    sample_size: int = Field(description="Observations the result rests on.")
    stale: bool = Field(
        description="The game's latest collection had failed when the analysis ran."
    )
    confidence_at_as_of: float = Field(ge=0, le=1, description="Trust in the result at `as_of`.")
    confidence: float = Field(
        ge=0,
        le=1,
        description="Trust now: `confidence_at_as_of` halved for every `half_life_seconds` "
        "since `as_of`.",
    )
    half_life_seconds: float
    key_figures: dict[str, Any] | None = Field(
        description="The analyzer's headline numbers; null when read from Postgres, which "
        "keeps the full `result` only."
    )
    result: dict[str, Any] = Field(description="The analyzer's whole result.")


class GameIntel(ApiModel):
    """Every analyzer's latest result for one game."""

    game_key: str
    served_at: datetime
    analyses: dict[str, Analysis] = Field(
        description="By analyzer name, in the registry's order; analyzers without any result "
        "yet are absent (see `missing`)."
    )
    missing: list[AnalyzerName] = Field(description="Analyzers with no result in either tier.")


class TopVideo(ApiModel):
    """A video of the latest YouTube snapshot."""

    video_id: str
    title: str
    channel_id: str
    channel_title: str | None
    published_at: datetime
    duration_seconds: int | None
    is_short: bool
    live_state: str
    view_count: int | None
    like_count: int | None = Field(description="Null when the channel hides likes.")
    comment_count: int | None


class YouTubeSummary(ApiModel):
    """A game's latest YouTube snapshot in figures."""

    source: Source
    collected_at: datetime
    age_seconds: float = Field(description="Seconds from `collected_at` to `served_at`.")
    video_count: int
    shorts_count: int
    live_count: int = Field(description="Videos live at collection time.")
    upcoming_count: int = Field(description="Scheduled premieres and streams not started yet.")
    total_views: int = Field(description="Sum of the views of videos that report them.")
    avg_views: float = Field(description="Mean views of videos that report them (0 if none).")
    top_videos: list[TopVideo] = Field(description="The most viewed videos, at most 10.")


class TopStream(ApiModel):
    """A live stream of the latest Twitch snapshot."""

    stream_id: str
    user_login: str | None
    user_name: str | None
    title: str
    viewer_count: int
    language: str | None
    started_at: datetime


class TwitchSummary(ApiModel):
    """A game's latest Twitch snapshot in figures."""

    source: Source
    collected_at: datetime
    age_seconds: float = Field(description="Seconds from `collected_at` to `served_at`.")
    stream_count: int
    total_viewers: int
    avg_viewers: float = Field(description="Mean viewers per stream (0 without streams).")
    viewers_by_language: dict[str, int] = Field(
        description="Viewers per stream language, most first; `unknown` where Twitch gives none."
    )
    top_streams: list[TopStream] = Field(description="The most watched streams, at most 10.")


class GameSummary(ApiModel):
    """The latest raw data of one game, summarised."""

    game_key: str
    served_at: datetime
    youtube: YouTubeSummary | None = Field(description="Null before the first YouTube snapshot.")
    twitch: TwitchSummary | None = Field(description="Null before the first Twitch snapshot.")


class HourlyMetrics(ApiModel):
    """One UTC hour of a game (`intel_hourly_metrics`), from the snapshots of that hour."""

    hour_start: datetime
    video_count: int = Field(description="Distinct videos seen in the hour.")
    avg_views: float
    avg_engagement: float = Field(description="(likes + comments) / views, in [0, 1].")
    total_views: int
    viral_count: int = Field(description="Viral videos per the viral analysis valid then.")
    rising_count: int
    avg_velocity: float = Field(description="Views per hour, mean over videos.")
    max_velocity: float
    shorts_count: int
    shorts_avg_views: float
    longform_count: int
    longform_avg_views: float
    avg_duration_seconds: float
    optimal_duration_bucket: str | None
    language_distribution: dict[str, int] = Field(
        description="Videos per language whose language could be told."
    )
    dominant_language: str | None
    snapshot_count: int = Field(description="Snapshot rows the hour was computed from.")
    last_collected_at: datetime | None
    twitch_stream_count: int
    twitch_total_viewers: int
    twitch_avg_viewers: float


class HourlyHistory(ApiModel):
    """A game's hours in `[start, end)`."""

    game_key: str
    start: datetime
    end: datetime
    hours: list[HourlyMetrics] = Field(description="Hours with data, oldest first.")


class DailyMetrics(ApiModel):
    """One UTC day of a game (`intel_daily_metrics`), rolled up from its hours."""

    date: date
    total_videos_seen: int
    peak_viral_count: int
    avg_viral_count: float
    views_trend: float = Field(description="Percent change of average views from the day before.")
    viral_trend: float
    engagement_trend: float
    best_hour_utc: int | None
    worst_hour_utc: int | None
    peak_views_hour_utc: int | None
    shorts_performance_ratio: float
    optimal_duration_range: str | None
    dominant_language: str | None
    language_diversity_score: float
    avg_views: float
    avg_engagement: float
    total_views: int
    hours_covered: int = Field(description="Hours of the day with data (0-24).")


class DailyHistory(ApiModel):
    """A game's days from `start` to `end`, both included."""

    game_key: str
    start: date
    end: date
    days: list[DailyMetrics] = Field(description="Days with data, oldest first.")


TwitchGrain = Literal["hour", "day", "month"]
"""The periods of the Twitch statistics: UTC hours, days or months."""


class TwitchStatsPeriod(ApiModel):
    """A game's Twitch statistics over one UTC hour, day or month, from its stream snapshots.

    A snapshot stands for the time to the same stream's next snapshot that day, at most the
    collection interval I (30 min), and I / 2 when it is the stream's last that day.
    """

    period_start: datetime
    hours_watched: float = Field(description="Sum of viewers x the time each snapshot stands for.")
    hours_streamed: float = Field(description="Sum of the time each snapshot stands for.")
    avg_viewers: float = Field(
        description="hours_watched / the period's hours (1, 24, or the month's)."
    )
    avg_channels: float = Field(description="hours_streamed / the period's hours.")
    viewer_ratio: float | None = Field(
        description="hours_watched / hours_streamed; null when nothing streamed."
    )
    peak_viewers: int = Field(description="Most viewers of the game in one collection.")
    peak_channels: int = Field(description="Most live streams of the game in one collection.")
    unique_streamers: int = Field(description="Distinct broadcasters in the period.")


class TwitchStatsHistory(ApiModel):
    """A game's Twitch statistics of the periods starting in `[start, end)`."""

    game_key: str
    grain: TwitchGrain
    start: datetime
    end: datetime
    periods: list[TwitchStatsPeriod] = Field(
        description="Periods with a computed row, oldest first (zeros where nothing streamed)."
    )


class ChannelGrowth(ApiModel):
    """A YouTube channel behind the game's videos, and how fast it grows (`channel_growth`).

    Counts are those of the channel's last fetch by the day's end; each change is measured
    against the last fetch of the UTC day 1, 7 or 30 days before, and is null when that day had
    no fetch or the channel hides the count.
    """

    channel_id: str
    title: str | None
    fetched_at: datetime = Field(description="When YouTube gave the counts.")
    subscriber_count: int | None = Field(description="Null when the channel hides it.")
    view_count: int | None
    video_count: int | None
    subscribers_change_1d: int | None
    subscribers_change_7d: int | None
    subscribers_change_30d: int | None
    views_change_1d: int | None
    views_change_7d: int | None
    views_change_30d: int | None
    videos_change_1d: int | None
    videos_change_7d: int | None
    videos_change_30d: int | None
    fetched_at_7d: datetime | None = Field(description="The fetch the 7-day change is from.")
    subscribers_growth_7d: float | None = Field(
        description="subscribers_change_7d / the subscribers 7 days before."
    )
    rank_7d_absolute: int | None = Field(description="1 gained the most subscribers in 7 days.")
    rank_7d_relative: int | None = Field(description="1 grew the most relative to its size.")


class ChannelGrowthList(ApiModel):
    """The game's channels on one UTC day, by 7-day subscriber growth."""

    game_key: str
    day: date | None = Field(description="The day (null when no day has been computed).")
    channels: list[ChannelGrowth] = Field(
        description="Fastest-growing first (absolute); channels without a 7-day change last."
    )


class TopStreamer(ApiModel):
    """One of the game's ten streamers with the most hours watched that UTC day."""

    rank: int = Field(description="1 had the most hours watched.")
    user_id: str
    user_login: str | None = Field(description="As the streamer's last snapshot of the day.")
    user_name: str | None
    hours_watched: float
    hours_streamed: float
    avg_viewers: float = Field(description="hours_watched / hours_streamed: viewers while live.")
    peak_viewers: int = Field(description="Most viewers in one snapshot.")


class TopStreamerList(ApiModel):
    """The game's top streamers of one UTC day (`twitch_game_top_streamers`)."""

    game_key: str
    day: date | None = Field(description="The day (null when no day has been computed).")
    streamers: list[TopStreamer]


BroadcasterOrder = Literal["hours_watched", "growth_7d"]


class BroadcasterGrowth(ApiModel):
    """A Twitch broadcaster of the game on one UTC day, and its change (broadcaster growth).

    Hours are time-weighted like the game's statistics. Each change is against the same
    broadcaster in the same game 1, 7 or 30 days before (0 hours if they did not stream then),
    and null when the game was not collected that day. Follower counts are not available: Twitch
    serves them only with a user token.
    """

    user_id: str
    user_login: str | None
    user_name: str | None
    hours_streamed: float
    hours_watched: float
    avg_viewers: float = Field(description="hours_watched / hours_streamed: viewers while live.")
    peak_viewers: int
    snapshot_count: int
    hours_streamed_change_1d: float | None
    hours_streamed_change_7d: float | None
    hours_streamed_change_30d: float | None
    hours_watched_change_1d: float | None
    hours_watched_change_7d: float | None
    hours_watched_change_30d: float | None
    avg_viewers_change_1d: float | None = Field(description="Null when they did not stream then.")
    avg_viewers_change_7d: float | None
    avg_viewers_change_30d: float | None
    rank_hours_watched: int = Field(description="1 had the most hours watched that day.")
    rank_7d_hours_watched: int | None = Field(
        description="1 gained the most hours watched over 7 days; null without a 7-day change."
    )


class BroadcasterGrowthList(ApiModel):
    """The game's Twitch broadcasters of one UTC day."""

    game_key: str
    day: date | None = Field(description="The day (null when no day has been computed).")
    order: BroadcasterOrder
    broadcasters: list[BroadcasterGrowth]


class TrendingCategory(ApiModel):
    """A game's rank material over the window (`get_trending_categories`)."""

    game_key: str
    avg_viral_count: float
    views_trend: float
    opportunity_score: float = Field(
        description="Mean over the days of avg_viral_count * 10 + max(views_trend, 0)."
    )


class TrendingCategories(ApiModel):
    """Games by opportunity over the last `days` complete UTC days, best first."""

    days: int
    categories: list[TrendingCategory]


class DurationBucket(ApiModel):
    """A duration bucket's performance over the window (`get_optimal_duration`)."""

    bucket_label: str
    avg_performance_index: float = Field(
        description="1.0 is the game's average video; days weighted by their videos."
    )
    total_videos: int


class OptimalDurations(ApiModel):
    """A game's duration buckets over the last `days` complete UTC days, best first.

    Buckets with fewer than 5 videos in the window are left out.
    """

    game_key: str
    days: int
    buckets: list[DurationBucket]


class QuotaBucket(ApiModel):
    """A quota bucket's state now (the ledger in Redis)."""

    platform: str
    bucket: str
    used: int
    remaining: int
    limit: int
    reset_at: datetime
    share_used: float
    closed: bool = Field(description="The API answered quotaExceeded in this window.")


class Breaker(ApiModel):
    """An API's circuit breaker as every process sees it."""

    api: str
    state: Literal["closed", "open", "half_open"]
    failures: int
    open_until: datetime | None


class QuotaStatus(ApiModel):
    """API budgets and breakers now."""

    served_at: datetime
    buckets: list[QuotaBucket]
    breakers: list[Breaker]


HealthStatus = Literal["ok", "warn", "fail"]


class HealthFinding(ApiModel):
    """One finding of the health check (`intel-assets health`)."""

    component: str = Field(description="postgres, redis, archive, quota, breaker or freshness.")
    name: str = Field(description="What within the component, e.g. `youtube/search`.")
    status: HealthStatus
    detail: str


ComponentStatus = Literal["ok", "degraded"]


class HealthSummary(ApiModel):
    """Whether each component works, and nothing more (the public `/health`)."""

    status: ComponentStatus = Field(description="`degraded` when any component is.")
    checked_at: datetime = Field(description="When the components were looked at.")
    components: dict[str, ComponentStatus] = Field(
        description="postgres, redis, archive, quota, breaker and freshness: `degraded` when "
        "a finding of the component warns or fails (the detail is at `/health/detail`)."
    )


class Health(ApiModel):
    """`intel-assets health --json`: healthy when no finding fails (warnings allowed)."""

    status: HealthStatus = Field(description="The worst finding's status.")
    healthy: bool
    checked_at: datetime
    checks: list[HealthFinding]
