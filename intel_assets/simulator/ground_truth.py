"""Ground truth of a simulated world, for tests and benchmarks.

`World` answers what the APIs cannot tell directly: which videos exist at a time, what each is
really about, its true language, whether it is a Short, whether it goes viral, each region's
chart and each game's live streams. Times are datetimes (naive ones are UTC).
"""

from collections import Counter
from datetime import datetime, timedelta

from intel_assets.catalog import Catalog
from intel_assets.simulator.text import VideoText
from intel_assets.simulator.twitch_world import Category, Session, TwitchWorld
from intel_assets.simulator.world import Channel, Video, YouTubeWorld, to_epoch


class World:
    """Both simulated platforms of one seed.

    Attributes:
        catalog: The game catalog the world was built from.
        youtube: The YouTube side (channels, videos, charts).
        twitch: The Twitch side (categories, streamers, sessions).
    """

    def __init__(self, catalog: Catalog, youtube: YouTubeWorld, twitch: TwitchWorld) -> None:
        self.catalog = catalog
        self.youtube = youtube
        self.twitch = twitch

    def video(self, video_id: str) -> Video | None:
        """Everything true about a video (also before it is published), or None."""
        return self.youtube.video(video_id)

    def text(self, video_id: str) -> VideoText:
        """The video's title, description, tags and localizations."""
        return self.youtube.text_of(video_id)

    def channel_of(self, video: Video) -> Channel:
        """The channel that uploaded the video."""
        return self.youtube.channels[video.channel]

    def videos_published(
        self, start: datetime, end: datetime, game: str | None = None
    ) -> list[Video]:
        """Videos published in `[start, end)`, of every game or of one catalog game.

        A game's videos are those generated about it, including ones that never name it.
        """
        pools = None if game is None else [self.youtube.pool_of(game)]
        return self.youtube.videos_between(to_epoch(start), to_epoch(end), pools)

    def videos_at(
        self, at: datetime, within: timedelta = timedelta(days=1), game: str | None = None
    ) -> list[Video]:
        """Videos that exist at `at` and were published in the `within` before it."""
        end = to_epoch(at)
        pools = None if game is None else [self.youtube.pool_of(game)]
        return self.youtube.videos_between(end - within.total_seconds(), end + 1e-6, pools)

    def viral_video_ids(
        self, game: str, at: datetime, within: timedelta = timedelta(days=1)
    ) -> list[str]:
        """Ids of the game's viral videos published in the `within` before `at`."""
        return [v.video_id for v in self.videos_at(at, within, game) if v.viral]

    def language_shares(
        self, game: str, at: datetime, within: timedelta = timedelta(days=1)
    ) -> dict[str, float]:
        """Share of each true language among the game's videos of the `within` before `at`.

        Shares sum to 1; empty when the game has no videos in that time.
        """
        counts = Counter(v.language for v in self.videos_at(at, within, game))
        total = sum(counts.values())
        return {lang: n / total for lang, n in counts.most_common()} if total else {}

    def chart_ids(self, region: str, at: datetime) -> list[str]:
        """The region's mostPopular gaming chart at `at`, in rank order.

        It is what paging `videos.list?chart=mostPopular` to its end returns.
        """
        return [v.video_id for v in self.youtube.chart(region, to_epoch(at))]

    def top_categories(self, at: datetime, first: int) -> list[Category]:
        """The `first` Twitch categories by live viewers at `at`, as /games/top lists them."""
        ranked = self.twitch.ranked_categories(to_epoch(at))[:first]
        return [self.twitch.categories[i] for i in ranked]

    def live_streams(self, game: str, at: datetime) -> list[Session]:
        """Streams of a game live at `at`, most viewers first.

        `game` is a catalog key or a Helix game id.
        """
        twitch_id = game
        if game in self.catalog.games:
            twitch_id = self.catalog.get(game).twitch_game_id or ""
        index = self.twitch.category_index(twitch_id)
        return [] if index is None else self.twitch.live_sessions(index, to_epoch(at))
