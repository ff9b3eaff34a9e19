"""Competition analysis: how crowded a game is, and how open it is to new creators.

YouTube concentration is measured over the game's videos (newest snapshot each) grouped by
channel: the share of views (and of videos) going to the `top_channels` largest channels,
and the Herfindahl-Hirschman index, the sum of squared percentage shares (0-10,000; above
2,500 a market is called highly concentrated).

A channel is new when it was created less than `new_channel_days` before `as_of`
(`channel_snapshots.published_at`), established otherwise, unknown without a channel row.
Size tiers by subscribers: small < 10,000 <= mid < 1,000,000 <= large; hidden counts apart.

Twitch: in each collection, the viewers per live channel (distinct `user_id`) and the top
channels' share of viewers, averaged over the window's collections.

    saturation_score = 100 * mean of the available components, each in [0, 1]:
        dominance  = YouTube views share of the top channels
        closedness = 1 - share of views (of channels of known age) going to new channels
        crowding   = R / (R + Twitch viewers per live channel), R = crowding_reference_viewers

A game is saturated when a few channels take the views, newcomers get little of them and live
audiences are spread thin over many streamers. A component without data (no channel ages, no
Twitch streams) is left out of the mean; with none, the score is None.
"""

from dataclasses import dataclass, field

import pandas as pd

from intel_assets.analyzers.base import (
    AnalyzerInputs,
    Intel,
    KeyFigures,
    latest_videos,
    mean_or_none,
    ratio,
)
from intel_assets.analyzers.common import numeric

SIZE_TIERS: tuple[tuple[str, float, float], ...] = (
    ("small", 0, 10_000),
    ("mid", 10_000, 1_000_000),
    ("large", 1_000_000, float("inf")),
)
"""Channel sizes by subscriber count, `[min, max)`."""


@dataclass(frozen=True)
class CompetitionParams:
    """Thresholds of competition analysis.

    Attributes:
        top_channels: How many of the largest channels the top share counts (10).
        new_channel_days: Channels younger than this at `as_of` are new (a year).
        crowding_reference_viewers: Viewers per live channel at which Twitch crowding is 0.5.
    """

    top_channels: int = 10
    new_channel_days: float = 365.0
    crowding_reference_viewers: float = 50.0


@dataclass(frozen=True)
class ChannelGroup:
    """Channels of one kind (new, established, a size tier) and their videos.

    Attributes:
        channel_count: Channels in the group with videos of the game.
        video_count: Their videos of the game.
        total_views: Summed known views of those videos.
        avg_views_per_video: Mean known views per video.
        view_share: total_views / the game's total views.
    """

    channel_count: int
    video_count: int
    total_views: int
    avg_views_per_video: float | None
    view_share: float | None


@dataclass(frozen=True)
class CompetitionIntel(Intel):
    """Concentration and openness of a game on YouTube and Twitch.

    Attributes:
        channel_count: Distinct channels with videos of the game.
        videos_per_channel: Videos per channel.
        top_channels_view_share: Views share of the `top_channels` channels with most views.
        top_channels_video_share: Videos share of the channels with most videos.
        hhi_views: Herfindahl-Hirschman index of channel view shares (0-10,000).
        hhi_videos: The same over video counts.
        new_channels: Channels younger than `new_channel_days`.
        established_channels: Older channels.
        unknown_age_channels: Channels without a channel snapshot or creation date.
        new_vs_established_ratio: Avg views per video of new over established channels.
        size_tiers: `small`, `mid`, `large` and `hidden` (subscriber count hidden or unknown).
        twitch_channel_count: Distinct Twitch channels seen live.
        twitch_avg_live_channels: Mean live channels per collection.
        twitch_viewers_per_channel: Mean over collections of viewers per live channel.
        twitch_top_channels_viewer_share: Mean over collections of the top channels' share.
        saturation_components: `dominance`, `closedness`, `crowding` (None where no data).
        saturation_score: 0-100, see the module docstring.
        params: The thresholds used.
    """

    channel_count: int
    videos_per_channel: float | None
    top_channels_view_share: float | None
    top_channels_video_share: float | None
    hhi_views: float | None
    hhi_videos: float | None
    new_channels: ChannelGroup
    established_channels: ChannelGroup
    unknown_age_channels: ChannelGroup
    new_vs_established_ratio: float | None
    size_tiers: dict[str, ChannelGroup]
    twitch_channel_count: int
    twitch_avg_live_channels: float | None
    twitch_viewers_per_channel: float | None
    twitch_top_channels_viewer_share: float | None
    saturation_components: dict[str, float | None]
    saturation_score: float | None
    params: CompetitionParams = field(default_factory=CompetitionParams)

    def key_figures(self) -> KeyFigures:
        """Concentration, openness and saturation."""
        return {
            "sample_size": self.sample_size,
            "channel_count": self.channel_count,
            "top_channels_view_share": self.top_channels_view_share,
            "hhi_views": self.hhi_views,
            "new_channel_view_share": self.new_channels.view_share,
            "twitch_viewers_per_channel": self.twitch_viewers_per_channel,
            "saturation_score": self.saturation_score,
        }


def _top_share(amounts: pd.Series, top: int) -> float | None:
    return ratio(float(amounts.nlargest(top).sum()), float(amounts.sum()))


def _hhi(amounts: pd.Series) -> float | None:
    total = float(amounts.sum())
    return float(((100 * amounts / total) ** 2).sum()) if total > 0 else None


def _group(per_channel: pd.DataFrame, mask: pd.Series, game_views: float) -> ChannelGroup:
    members = per_channel[mask]
    videos = int(members["videos"].sum())
    views = float(members["views"].sum())
    return ChannelGroup(
        channel_count=len(members),
        video_count=videos,
        total_views=int(views),
        avg_views_per_video=ratio(views, float(members["viewed_videos"].sum())),
        view_share=ratio(views, game_views),
    )


def _channels(inputs: AnalyzerInputs) -> pd.DataFrame:
    """Per channel with videos: videos, viewed_videos, views, age_days, subscribers."""
    latest = latest_videos(inputs)
    per_channel = latest.assign(
        channel_id=latest["channel_id"].astype(str), viewed=latest["views"].notna()
    ).groupby("channel_id")
    table = pd.DataFrame(
        {
            "videos": per_channel.size(),
            "viewed_videos": per_channel["viewed"].sum(),
            "views": per_channel["views"].sum(),
        }
    )
    channels = inputs.channels
    if channels.empty:
        table["age_days"] = float("nan")
        table["subscribers"] = float("nan")
        return table
    newest = channels.sort_values(["channel_id", "collected_at"], kind="stable").drop_duplicates(
        "channel_id", keep="last"
    )
    created = pd.to_datetime(newest["published_at"], utc=True)
    info = pd.DataFrame(
        {
            "age_days": (pd.Timestamp(inputs.as_of) - created).dt.total_seconds() / 86_400,
            "subscribers": numeric(newest["subscriber_count"]),
        }
    ).set_index(newest["channel_id"].astype(str))
    return table.join(info, how="left")


def _twitch(
    streams: pd.DataFrame, top: int
) -> tuple[int, float | None, float | None, float | None]:
    """Distinct channels, live channels, viewers per channel, top share (collection means)."""
    if streams.empty:
        return 0, None, None, None
    snaps = pd.DataFrame(
        {
            "collection": streams["collection_id"].astype(str),
            "user_id": streams["user_id"].astype(str),
            "viewers": numeric(streams["viewer_count"]).fillna(0.0),
        }
    )
    per_user = snaps.groupby(["collection", "user_id"])["viewers"].sum()
    by_collection = per_user.groupby(level="collection")
    live_channels = by_collection.size()
    viewers = by_collection.sum()
    top_share = by_collection.apply(lambda v: _top_share(v, top))
    return (
        int(snaps["user_id"].nunique()),
        mean_or_none(live_channels.astype(float)),
        mean_or_none(viewers / live_channels),
        mean_or_none(pd.to_numeric(top_share, errors="coerce")),
    )


def analyze(inputs: AnalyzerInputs, params: CompetitionParams | None = None) -> CompetitionIntel:
    """Channel concentration, new against established channels, Twitch crowding, saturation."""
    params = params or CompetitionParams()
    channels = _channels(inputs)
    game_views = float(channels["views"].sum())
    age = channels["age_days"]
    new, established = age < params.new_channel_days, age >= params.new_channel_days
    subscribers = channels["subscribers"]
    new_group = _group(channels, new, game_views)
    established_group = _group(channels, established, game_views)
    twitch_channels, live_channels, per_channel, twitch_top = _twitch(
        inputs.streams, params.top_channels
    )

    dominance = _top_share(channels["views"], params.top_channels)
    known_age_views = float(channels.loc[age.notna(), "views"].sum())
    new_share = ratio(new_group.total_views, known_age_views)
    crowding = (
        params.crowding_reference_viewers / (params.crowding_reference_viewers + per_channel)
        if per_channel is not None
        else None
    )
    components = {
        "dominance": dominance,
        "closedness": None if new_share is None else 1.0 - new_share,
        "crowding": crowding,
    }
    available = [value for value in components.values() if value is not None]
    video_count = int(channels["videos"].sum())
    streams = int(inputs.streams["stream_id"].nunique()) if not inputs.streams.empty else 0
    return CompetitionIntel(
        sample_size=int(channels["viewed_videos"].sum()) + streams,
        channel_count=len(channels),
        videos_per_channel=ratio(video_count, len(channels)),
        top_channels_view_share=dominance,
        top_channels_video_share=_top_share(channels["videos"], params.top_channels),
        hhi_views=_hhi(channels["views"]),
        hhi_videos=_hhi(channels["videos"]),
        new_channels=new_group,
        established_channels=established_group,
        unknown_age_channels=_group(channels, age.isna(), game_views),
        new_vs_established_ratio=ratio(
            new_group.avg_views_per_video, established_group.avg_views_per_video
        ),
        size_tiers={
            **{
                name: _group(channels, (subscribers >= low) & (subscribers < high), game_views)
                for name, low, high in SIZE_TIERS
            },
            "hidden": _group(channels, subscribers.isna(), game_views),
        },
        twitch_channel_count=twitch_channels,
        twitch_avg_live_channels=live_channels,
        twitch_viewers_per_channel=per_channel,
        twitch_top_channels_viewer_share=twitch_top,
        saturation_components=components,
        saturation_score=100 * sum(available) / len(available) if available else None,
        params=params,
    )
