"""The simulated YouTube world: channels and videos that a seed determines, generated lazily.

Nothing is stored up front. A day's uploads of one game are a pure function of (seed, game,
day), generated on first use and cached; a video's counts at a time are a pure function of the
video and the time, non-decreasing in time. So the clock can jump anywhere (history seeding,
tests) and every process with the same seed sees the same world.

Times inside the world are epoch seconds (UTC); the public methods also take datetimes.
"""

import bisect
import functools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from intel_assets.catalog import Catalog
from intel_assets.simulator import text
from intel_assets.simulator.ids import (
    BlockCodec,
    block_to_channel_id,
    block_to_video_id,
    channel_id_to_block,
    stable_hash,
    video_id_to_block,
)

DAY = 86_400
HOUR = 3_600
SUBSCRIBER_GROWTH_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
"""When a channel has exactly `Channel.subscribers`; it gains its daily rate from there."""
GAMING_CATEGORY_ID = "20"
_DAY_BITS, _POOL_BITS, _SEQ_BITS = 17, 6, 17

LiveKind = str
"""`none` (an upload), `live` (a live stream) or `premiere` (a premiered upload)."""


@dataclass(frozen=True)
class GameProfile:
    """How a game looks on YouTube (not in the catalog: it is the simulator's ground truth).

    Attributes:
        popularity: Multiplier of view counts against other games.
        languages: Language code to relative share of the game's uploads.
        topics: Wikipedia article names YouTube uses as topic categories for the game.
    """

    popularity: float
    languages: Mapping[str, float]
    topics: tuple[str, ...]


_DEFAULT_LANGUAGES = {
    "en": 42, "es": 12, "pt": 9, "de": 4, "fr": 4, "ja": 5, "ko": 3, "ru": 7, "ar": 4, "hi": 5,
    "id": 5,
}  # fmt: skip

GAME_PROFILES: dict[str, GameProfile] = {
    "fortnite": GameProfile(
        1.0, {**_DEFAULT_LANGUAGES, "en": 46, "es": 13}, ("Action_game", "Video_game_culture")
    ),
    "valorant": GameProfile(
        0.7,
        {**_DEFAULT_LANGUAGES, "en": 34, "ja": 14, "ko": 8, "hi": 3},
        ("Action_game", "Video_game_culture"),
    ),
    "minecraft": GameProfile(
        1.1,
        {**_DEFAULT_LANGUAGES, "en": 38, "es": 14, "pt": 10, "ru": 10, "hi": 4},
        ("Action-adventure_game", "Video_game_culture"),
    ),
    "apex_legends": GameProfile(
        0.5, {**_DEFAULT_LANGUAGES, "en": 40, "ja": 18, "ko": 4}, ("Action_game",)
    ),
    "warzone": GameProfile(
        0.5, {**_DEFAULT_LANGUAGES, "en": 52, "es": 10, "ja": 2, "hi": 2}, ("Action_game",)
    ),
    "gta": GameProfile(
        0.9,
        {**_DEFAULT_LANGUAGES, "en": 38, "hi": 12, "pt": 11, "ar": 8, "ru": 8},
        ("Action-adventure_game", "Video_game_culture"),
    ),
    "roblox": GameProfile(
        1.0,
        {**_DEFAULT_LANGUAGES, "en": 50, "pt": 12, "es": 12, "id": 7, "ja": 2},
        ("Video_game_culture",),
    ),
    "league_of_legends": GameProfile(
        0.6,
        {**_DEFAULT_LANGUAGES, "en": 28, "ko": 20, "fr": 8, "de": 6, "es": 10, "hi": 1},
        ("Strategy_video_game", "Role-playing_video_game"),
    ),
}
OTHER_PROFILE = GameProfile(
    0.8, _DEFAULT_LANGUAGES, ("Video_game_culture", "Role-playing_video_game")
)

REGION_LANGUAGES: dict[str, dict[str, float]] = {
    "US": {"en": 1.0, "es": 0.15},
    "GB": {"en": 1.0},
    "CA": {"en": 1.0, "fr": 0.3},
    "AU": {"en": 1.0},
    "IN": {"hi": 1.0, "en": 0.3},
    "DE": {"de": 1.0, "en": 0.04},
    "FR": {"fr": 1.0, "en": 0.03},
    "ES": {"es": 1.0, "en": 0.03},
    "MX": {"es": 1.0, "en": 0.04},
    "AR": {"es": 1.0, "en": 0.03},
    "BR": {"pt": 1.0, "en": 0.03},
    "PT": {"pt": 1.0, "en": 0.04},
    "JP": {"ja": 1.0, "en": 0.01},
    "KR": {"ko": 1.0, "en": 0.01},
    "RU": {"ru": 1.0, "en": 0.02},
    "SA": {"ar": 1.0, "en": 0.04},
    "EG": {"ar": 1.0, "en": 0.03},
    "ID": {"id": 1.0, "en": 0.05},
}
"""Share of a video's views that come from each region, by the video's language (others weigh
0.002): a region's chart ranks videos by the views they gain there, so local videos lead and
only global hits from other languages make it."""

_REGION_COUNTRY = {
    "en": ("US", "US", "GB", "CA", "AU"), "es": ("ES", "MX", "AR"), "pt": ("BR", "BR", "PT"),
    "de": ("DE",), "fr": ("FR", "CA"), "ja": ("JP",), "ko": ("KR",), "ru": ("RU",),
    "ar": ("SA", "EG"), "hi": ("IN",), "id": ("ID",),
}  # fmt: skip

_NAME_HEADS = (
    "Nova", "Pixel", "Shadow", "Frost", "Kai", "Luna", "Rex", "Vortex", "Blaze", "Echo", "Atlas",
    "Mango", "Ruby", "Zed", "Orbit", "Toxic", "Maple", "Nimbus", "Jinx", "Koda",
)  # fmt: skip
_NAME_TAILS = ("Gaming", "Plays", "TV", "YT", "Official", "HD", "Clips", "Live", "Bros", "")


def to_epoch(value: datetime | float) -> float:
    """Epoch seconds of a datetime (naive datetimes are taken as UTC) or of a number."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)


def from_epoch(seconds: float) -> datetime:
    """The UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(seconds, UTC)


def rfc3339(seconds: float) -> str:
    """An API timestamp as YouTube and Twitch write it: `2026-11-20T14:03:11Z`."""
    return from_epoch(int(seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _weighted(rng: random.Random, cumulative: Sequence[float], total: float) -> int:
    return bisect.bisect_right(cumulative, rng.random() * total)


def _cumulative(weights: Sequence[float]) -> tuple[list[float], float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out, acc


@dataclass(frozen=True, slots=True)
class Channel:
    """A simulated YouTube channel.

    Attributes:
        index: Position in the world's channel list.
        channel_id: `UC...` id.
        title: Display name.
        handle: `@handle` (the channel's customUrl).
        language: Language its videos are in.
        country: ISO 3166 country code.
        subscribers: True subscriber count (the API rounds it to three significant figures).
        hidden_subscribers: Whether the channel hides its subscriber count.
        created_at: Epoch seconds of the channel's creation.
        subscriber_gain_per_day: Subscribers the channel gains each UTC day (see
            `subscribers_at`).
    """

    index: int
    channel_id: str
    title: str
    handle: str
    language: str
    country: str
    subscribers: int
    hidden_subscribers: bool
    created_at: float
    subscriber_gain_per_day: int = 0

    def subscribers_at(self, at: float) -> int:
        """The true subscriber count at `at` (epoch seconds), a known linear growth.

        `subscribers` on 2026-01-01 UTC, `subscriber_gain_per_day` more at each later UTC
        midnight (fewer before it), never below 0.
        """
        days = math.floor((at - SUBSCRIBER_GROWTH_EPOCH) / DAY)
        return max(0, self.subscribers + self.subscriber_gain_per_day * days)

    @property
    def uploads_playlist_id(self) -> str:
        """The `UU...` playlist holding every upload of the channel."""
        return "UU" + self.channel_id[2:]


@dataclass(frozen=True, slots=True)
class Video:
    """One simulated video and everything true about it.

    Attributes:
        video_id: The 11-character id.
        pool: Index of the generating pool (a catalog game, or the last pool: other games).
        day: UTC day number (days since 1970-01-01) of `published_at`.
        seq: Upload number within the pool's day.
        game: Catalog key of the game the video is about; None for a game outside the catalog.
        games: Every catalog game the video is really about (two for a crossover).
        mentioned_games: Catalog games whose phrases its title, tags or description contain, in
            catalog order: what a perfect catalog matcher finds.
        mention: Where the game is named: title, tags, description, none or crossover.
        channel: Index of the uploading channel.
        language: True language of the title and audio (ISO 639-1).
        audio_language: `snippet.defaultAudioLanguage` as sent (None: absent).
        default_language: `snippet.defaultLanguage` as sent (None: absent).
        published_at: Epoch seconds; the video exists from then on.
        duration_seconds: Length of the upload or recording.
        is_short: A Short by the project's rule (<= 60 s, or <= 180 s with `#shorts`).
        shorts_hashtag: Whether the title carries `#shorts`.
        live_kind: none, live (a stream) or premiere.
        scheduled_start: Epoch seconds a stream or premiere was scheduled for.
        actual_start: Epoch seconds it started (after `scheduled_start` when late).
        actual_end: Epoch seconds it ended.
        viral: Whether the video goes viral (steep growth, far above its game's baseline).
        final_views: Views the saturating curve approaches.
        half_time: Seconds after which half of `final_views` is reached.
        steepness: Exponent of the growth curve (larger is a steeper takeoff).
        like_ratio: Likes per view.
        comment_ratio: Comments per view.
        likes_hidden: Whether the like count is hidden (absent from the API).
        comments_disabled: Whether comments are off (comment count absent).
        hd: Definition hd (else sd).
        caption: Whether captions exist.
        licensed: contentDetails.licensedContent.
        made_for_kids: status.madeForKids.
        paid_placement: paidProductPlacementDetails.hasPaidProductPlacement.
        localized: Whether the video carries localizations.
    """

    video_id: str
    pool: int
    day: int
    seq: int
    game: str | None
    games: tuple[str, ...]
    mentioned_games: tuple[str, ...]
    mention: str
    channel: int
    language: str
    audio_language: str | None
    default_language: str | None
    published_at: float
    duration_seconds: int
    is_short: bool
    shorts_hashtag: bool
    live_kind: LiveKind
    scheduled_start: float | None
    actual_start: float | None
    actual_end: float | None
    viral: bool
    final_views: float
    half_time: float
    steepness: float
    like_ratio: float
    comment_ratio: float
    likes_hidden: bool
    comments_disabled: bool
    hd: bool
    caption: bool
    licensed: bool
    made_for_kids: bool
    paid_placement: bool
    localized: bool

    def exists_at(self, at: float) -> bool:
        """Whether the video is public at epoch second `at`."""
        return at >= self.published_at

    def state_at(self, at: float) -> str:
        """`snippet.liveBroadcastContent` at `at`: none, upcoming or live."""
        if self.live_kind == "none" or self.actual_start is None or self.actual_end is None:
            return "none"
        if at < self.actual_start:
            return "upcoming"
        return "live" if at < self.actual_end else "none"

    def views_at(self, at: float) -> int:
        """View count at `at`: a saturating curve plus a slow tail, non-decreasing in `at`."""
        origin = self.actual_start if self.actual_start is not None else self.published_at
        age = at - origin
        if age <= 0:
            return 0
        ratio = (age / self.half_time) ** self.steepness
        return int(self.final_views * (ratio / (1.0 + ratio) + 0.03 * age / (30 * DAY)))

    def likes_at(self, at: float) -> int | None:
        """Like count at `at`, or None when hidden."""
        return None if self.likes_hidden else int(self.views_at(at) * self.like_ratio)

    def comments_at(self, at: float) -> int | None:
        """Comment count at `at`, or None when comments are disabled."""
        return None if self.comments_disabled else int(self.views_at(at) * self.comment_ratio)

    def concurrent_viewers_at(self, at: float) -> int | None:
        """Live viewers while streaming or premiering; None otherwise."""
        if self.state_at(at) != "live" or self.actual_start is None:
            return None
        ramp = min(1.0, (at - self.actual_start) / 600.0)
        wave = 0.85 + 0.15 * math.sin(at / 900.0 + self.seq)
        return int(self.final_views / 12.0 * ramp * wave)

    def published(self) -> datetime:
        """`published_at` as a UTC datetime."""
        return from_epoch(self.published_at)


@dataclass
class WorldConfig:
    """Size and shape of a simulated world.

    Attributes:
        seed: Everything follows from it.
        videos_per_game_per_day: Uploads per catalog game per UTC day.
        other_videos_per_day: Uploads per day about games outside the catalog (None: as many
            as a catalog game).
        viral_per_game_per_day: Uploads per game and day that go viral.
        channels: Number of channels.
        short_share: Share of uploads that are Shorts.
        live_share: Share of long-form uploads that are live streams.
        premiere_share: Share of long-form uploads that premiere.
        chart_size: Length of each region's mostPopular gaming chart.
        chart_window_days: Age limit of chart videos.
        chart_refresh_seconds: The chart is recomputed on this grid, so pages agree.
        uploads_window_days: How far back a channel's uploads playlist reaches.
        search_window_days: How far back search.list looks without publishedAfter.
    """

    seed: int = 7
    videos_per_game_per_day: int = 120
    other_videos_per_day: int | None = None
    viral_per_game_per_day: int = 2
    channels: int = 3000
    short_share: float = 0.35
    live_share: float = 0.05
    premiere_share: float = 0.04
    chart_size: int = 200
    chart_window_days: int = 3
    chart_refresh_seconds: int = 900
    uploads_window_days: int = 14
    search_window_days: int = 7
    profiles: dict[str, GameProfile] = field(default_factory=lambda: dict(GAME_PROFILES))


def subscriber_gain(seed: int, index: int, subscribers: int) -> int:
    """A channel's subscribers gained per day: 1 plus up to 0.4% of its size, from a hash.

    From a hash rather than the channel generator's random stream, so the rest of the world
    stays what it was before channels grew.
    """
    return 1 + stable_hash(seed, "subscriber-gain", index, bits=30) % (1 + subscribers // 250)


class YouTubeWorld:
    """Channels and videos of one seed; answers what exists and what is true at any time."""

    def __init__(self, catalog: Catalog, config: WorldConfig) -> None:
        if config.videos_per_game_per_day >= 1 << _SEQ_BITS:
            raise ValueError(f"videos_per_game_per_day must be below {1 << _SEQ_BITS}")
        if len(catalog.keys) + 1 >= 1 << _POOL_BITS:
            raise ValueError(f"the simulator supports at most {(1 << _POOL_BITS) - 2} games")
        self.catalog = catalog
        self.config = config
        self.game_keys: list[str] = catalog.keys
        self._pool_of = {key: i for i, key in enumerate(self.game_keys)}
        self.other_pool = len(self.game_keys)
        self._video_codec = BlockCodec(f"{config.seed}/video")
        self._channel_codec = BlockCodec(f"{config.seed}/channel")
        self.channels: list[Channel] = []
        self._channels_by_language: dict[str, tuple[list[int], list[float], float]] = {}
        self._build_channels()

    # ----- channels -------------------------------------------------------------------------

    def _build_channels(self) -> None:
        rng = random.Random(stable_hash(self.config.seed, "channels"))
        languages = list(_DEFAULT_LANGUAGES)
        cumulative, total = _cumulative([_DEFAULT_LANGUAGES[lang] for lang in languages])
        created_base = to_epoch(datetime(2012, 1, 1, tzinfo=UTC))
        for index in range(self.config.channels):
            # The first channels cover every language, so each language has uploaders.
            if index < len(languages) * 10:
                language = languages[index % len(languages)]
            else:
                language = languages[_weighted(rng, cumulative, total)]
            # Pareto (alpha 0.9) from 200 subscribers: most channels are small, a few are huge.
            subscribers = min(int(200 * rng.paretovariate(0.9)), 80_000_000)
            head, tail = rng.choice(_NAME_HEADS), rng.choice(_NAME_TAILS)
            number = rng.randint(1, 999) if rng.random() < 0.4 else None
            title = f"{head}{tail}" + (str(number) if number else "")
            if language in ("ja", "ko") and rng.random() < 0.5:
                title = f"{head} {'ゲーム実況' if language == 'ja' else '게임'}"
            self.channels.append(
                Channel(
                    index=index,
                    channel_id=block_to_channel_id(self._channel_codec.encode(index)),
                    title=title,
                    handle=f"@{head.lower()}{tail.lower()}{index}",
                    language=language,
                    country=rng.choice(_REGION_COUNTRY[language]),
                    subscribers=subscribers,
                    hidden_subscribers=rng.random() < 0.05,
                    created_at=created_base + rng.random() * 13 * 365 * DAY,
                    subscriber_gain_per_day=subscriber_gain(self.config.seed, index, subscribers),
                )
            )
        for language in languages:
            members = [c.index for c in self.channels if c.language == language]
            cumulative_w, total_w = _cumulative(
                [self.channels[i].subscribers ** 0.4 for i in members]
            )
            self._channels_by_language[language] = (members, cumulative_w, total_w)

    def channel(self, channel_id: str) -> Channel | None:
        """The channel with this id, or None."""
        block = channel_id_to_block(channel_id)
        index = None if block is None else self._channel_codec.decode(block)
        return self.channels[index] if index is not None and index < len(self.channels) else None

    # ----- videos ---------------------------------------------------------------------------

    def pool_of(self, game: str | None) -> int:
        """Pool index of a catalog game (None: the other-games pool)."""
        if game is None:
            return self.other_pool
        self.catalog.get(game)
        return self._pool_of[game]

    def pool_size(self, pool: int) -> int:
        """Uploads per day of a pool."""
        if pool == self.other_pool and self.config.other_videos_per_day is not None:
            return self.config.other_videos_per_day
        return self.config.videos_per_game_per_day

    def profile(self, pool: int) -> GameProfile:
        """The profile of a pool's game."""
        if pool == self.other_pool:
            return OTHER_PROFILE
        key = self.game_keys[pool]
        return self.config.profiles.get(key, OTHER_PROFILE)

    def video(self, video_id: str) -> Video | None:
        """The video with this id (whether or not it is published yet), or None."""
        block = video_id_to_block(video_id)
        payload = None if block is None else self._video_codec.decode(block)
        if payload is None:
            return None
        day = payload >> (_POOL_BITS + _SEQ_BITS)
        pool = (payload >> _SEQ_BITS) & ((1 << _POOL_BITS) - 1)
        seq = payload & ((1 << _SEQ_BITS) - 1)
        if pool > self.other_pool or seq >= self.pool_size(pool):
            return None
        return self.day_videos(pool, day)[seq]

    # 512 pool-days: eight weeks of nine pools, ~40 MB at 120 uploads a day (~630 B a video).
    @functools.lru_cache(maxsize=512)  # noqa: B019 - the world lives as long as its caches
    def day_videos(self, pool: int, day: int) -> tuple[Video, ...]:
        """Every upload of a pool on a UTC day, in upload order (generated once, then cached)."""
        seed = self.config.seed
        rng = random.Random(stable_hash(seed, "videos", pool, day))
        size = self.pool_size(pool)
        profile = self.profile(pool)
        languages = list(profile.languages)
        lang_cum, lang_total = _cumulative([profile.languages[lang] for lang in languages])
        viral = set(rng.sample(range(size), min(self.config.viral_per_game_per_day, size)))
        game = None if pool == self.other_pool else self.game_keys[pool]
        return tuple(
            self._make_video(
                rng, pool, day, seq, game, profile, languages, lang_cum, lang_total, seq in viral
            )
            for seq in range(size)
        )

    def _make_video(
        self,
        rng: random.Random,
        pool: int,
        day: int,
        seq: int,
        game: str | None,
        profile: GameProfile,
        languages: list[str],
        lang_cum: list[float],
        lang_total: float,
        viral: bool,
    ) -> Video:
        cfg = self.config
        language = languages[_weighted(rng, lang_cum, lang_total)]
        members, cum, total = self._channels_by_language[language]
        channel = self.channels[members[_weighted(rng, cum, total)]]
        # Uploads cluster in the afternoon and evening UTC (Americas and Europe both awake).
        hour = (rng.triangular(8, 30, 19)) % 24
        published = day * DAY + int(hour * HOUR)  # hour < 24: always on its own day

        is_short = rng.random() < cfg.short_share
        shorts_hashtag = False
        live_kind, scheduled, actual_start, actual_end = "none", None, None, None
        if is_short:
            if rng.random() < 0.7:
                duration = rng.randint(8, 60)
            else:
                duration, shorts_hashtag = rng.randint(61, 180), True
        else:
            bucket = rng.choices(
                ((61, 179), (180, 479), (480, 899), (900, 1799), (1800, 3599), (3600, 10_800)),
                weights=(8, 22, 28, 20, 13, 9),
            )[0]
            duration = rng.randint(*bucket)
            roll = rng.random()
            if not viral and roll < cfg.live_share + cfg.premiere_share:
                live_kind = "live" if roll < cfg.live_share else "premiere"
                lead = (
                    rng.uniform(0.25, 24) * HOUR
                    if live_kind == "live"
                    else rng.uniform(0.5, 12) * HOUR
                )
                scheduled = float(int(published + lead))
                late = rng.random()
                if live_kind == "premiere":
                    delay = rng.uniform(0, 120)
                elif late < 0.55:
                    delay = rng.uniform(0, 60)
                elif late < 0.85:
                    delay = rng.uniform(120, 900)
                else:
                    delay = rng.uniform(900, 2700)
                actual_start = float(int(scheduled + delay))
                if live_kind == "live":
                    duration = rng.randint(1800, 4 * 3600)
                actual_end = actual_start + duration

        mention, games, mentioned = "none", (), ()
        if game is not None:
            games = (game,)
            roll = rng.random()
            if roll < 0.70:
                mention = "title"
            elif roll < 0.80:
                mention = "tags"
            elif roll < 0.86:
                mention = "description"
            elif roll < 0.94:
                mention = "none"
            else:
                mention = "crossover"
                other = rng.choice([k for k in self.game_keys if k != game] or [game])
                games = (game, other) if other != game else (game,)
            if mention != "none":
                mentioned = tuple(k for k in self.game_keys if k in games)

        # Channel size sets the expected reach; Shorts views count every play (higher baseline).
        base = (6000.0 if is_short else 1200.0) * profile.popularity
        final = base * (channel.subscribers / 10_000) ** 0.75 * rng.lognormvariate(0, 0.9)
        half_time = (10 if is_short else 20) * HOUR * rng.lognormvariate(0, 0.3)
        steepness = 1.0
        if viral:
            final = max(final, base) * rng.uniform(150, 400)
            half_time = rng.uniform(20, 40) * HOUR
            steepness = 1.8
        final = min(final, 3e8)

        audio = rng.choice(text.LANGUAGE_TAGS[language]) if rng.random() < 0.8 else None
        default = rng.choice(text.LANGUAGE_TAGS[language]) if rng.random() < 0.45 else None
        made_for_kids = rng.random() < 0.02
        payload = (day << (_POOL_BITS + _SEQ_BITS)) | (pool << _SEQ_BITS) | seq
        return Video(
            video_id=block_to_video_id(self._video_codec.encode(payload)),
            pool=pool,
            day=day,
            seq=seq,
            game=game,
            games=games,
            mentioned_games=mentioned,
            mention=mention,
            channel=channel.index,
            language=language,
            audio_language=audio,
            default_language=default,
            published_at=float(int(published)),
            duration_seconds=duration,
            is_short=is_short,
            shorts_hashtag=shorts_hashtag,
            live_kind=live_kind,
            scheduled_start=scheduled,
            actual_start=actual_start,
            actual_end=actual_end,
            viral=viral,
            final_views=final,
            half_time=half_time,
            steepness=steepness,
            like_ratio=rng.lognormvariate(math.log(0.04 if is_short else 0.035), 0.35),
            comment_ratio=rng.lognormvariate(math.log(0.001 if is_short else 0.002), 0.5),
            likes_hidden=rng.random() < 0.04,
            comments_disabled=made_for_kids or rng.random() < 0.05,
            hd=rng.random() < (0.95 if is_short else 0.85),
            caption=rng.random() < 0.25,
            licensed=rng.random() < 0.6,
            made_for_kids=made_for_kids,
            paid_placement=rng.random() < 0.06,
            localized=default is not None and rng.random() < 0.2,
        )

    def videos_between(
        self, start: float, end: float, pools: Sequence[int] | None = None
    ) -> list[Video]:
        """Videos published in `[start, end)` (epoch seconds), of the given pools (None: all)."""
        chosen = range(self.other_pool + 1) if pools is None else pools
        out: list[Video] = []
        for day in range(int(start // DAY), math.ceil(end / DAY) + 1):
            if day * DAY >= end:
                break
            for pool in chosen:
                out.extend(v for v in self.day_videos(pool, day) if start <= v.published_at < end)
        return out

    @functools.lru_cache(maxsize=512)  # noqa: B019 - the world lives as long as its caches
    def _day_videos_by_channel(self, pool: int, day: int) -> dict[int, list[Video]]:
        by_channel: dict[int, list[Video]] = {}
        for video in self.day_videos(pool, day):
            by_channel.setdefault(video.channel, []).append(video)
        return by_channel

    def channel_uploads(self, channel: int, at: float) -> list[Video]:
        """A channel's public uploads of the last `uploads_window_days` at `at`, newest first."""
        start = at - self.config.uploads_window_days * DAY
        out = [
            video
            for day in range(int(start // DAY), int(at // DAY) + 1)
            for pool in range(self.other_pool + 1)
            for video in self._day_videos_by_channel(pool, day).get(channel, ())
            if start <= video.published_at <= at
        ]
        out.sort(key=lambda v: (-v.published_at, v.video_id))
        return out

    # ----- text -----------------------------------------------------------------------------

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 - the world lives as long as its caches
    def text_of(self, video_id: str) -> text.VideoText:
        """Title, description, tags and localizations of a video (generated on demand)."""
        video = self.video(video_id)
        if video is None:
            raise KeyError(video_id)
        return self._make_text(video)

    def _make_text(self, video: Video) -> text.VideoText:
        rng = random.Random(stable_hash(self.config.seed, "text", video.video_id))
        lang = video.language
        game = self.catalog.get(video.game) if video.game is not None else None
        tags: list[str] = []
        # What the title and the description call the game (None: they do not name it).
        title_name: str | None = None
        description_name: str | None = None
        if game is None:
            title_name = description_name = rng.choice(text.OTHER_GAMES)
            tags.append(title_name.lower())
        elif video.mention == "title":
            title_name = description_name = text.game_name_in_text(game, rng)
            tags.append(rng.choice(game.phrases))
        elif video.mention == "crossover":
            tags.extend(self.catalog.get(key).phrases[0] for key in video.games)
            description_name = game.display_name
        elif video.mention == "tags":
            tags.append(rng.choice(game.phrases))
        elif video.mention == "description":
            description_name = text.description_name(game)
        title = self._make_title(video, rng, title_name)
        if rng.random() < 0.12 and video.mention != "tags":
            tags = []  # some uploaders set no tags at all
        else:
            tags.extend(rng.sample(text.GENERIC_TAGS, rng.randint(1, 5)))
            tags.append(text.LANGUAGE_TAG[lang])
            if video.is_short and rng.random() < 0.5:
                tags.append("#shorts" if video.shorts_hashtag else "shorts")
            tags = list(dict.fromkeys(tags))
        description = self._make_description(video, rng, description_name)
        localizations: dict[str, tuple[str, str]] = {}
        if video.localized and video.default_language is not None:
            localizations[video.default_language] = (title, description)
            for other in rng.sample([x for x in text.YOUTUBE_LANGUAGES if x != lang], 2):
                localized_title = rng.choice(text.UNNAMED_TITLES[other])
                localizations[other] = (localized_title, text.UNNAMED_INTROS[other])
        return text.VideoText(
            title=title, description=description, tags=tuple(tags), localizations=localizations
        )

    def _make_title(self, video: Video, rng: random.Random, name: str | None) -> str:
        lang = video.language
        if video.mention == "crossover" and len(video.games) == 2:
            first, second = (self.catalog.get(key).display_name for key in video.games)
            title = rng.choice(text.CROSSOVER_TITLES[lang]).format(game=first, other=second)
        else:
            name = name or text.unnamed_reference(video.game, lang, rng)
            if name is None:
                title = rng.choice(text.UNNAMED_TITLES[lang])
            elif video.is_short and lang == "en" and rng.random() < 0.5:
                title = rng.choice(text.SHORT_TITLES).format(game=name)
            else:
                title = rng.choice(text.TITLES[lang]).format(game=name)
        return f"{title} #shorts" if video.shorts_hashtag else title

    def _make_description(self, video: Video, rng: random.Random, game_name: str | None) -> str:
        lang = video.language
        channel = self.channels[video.channel]
        lines = [
            text.INTROS[lang].format(game=game_name)
            if game_name is not None
            else text.UNNAMED_INTROS[lang]
        ]
        if video.paid_placement:
            sponsor = rng.choice(text.SPONSORS)
            slug = sponsor.lower().replace(" ", "")
            lines.append(f"This video is sponsored by {sponsor}: https://{slug}.gg/{channel.index}")
        if rng.random() < 0.3:
            domain = rng.choice(text.AFFILIATE_DOMAINS)
            code = f"{stable_hash(video.video_id, 'aff', bits=24):06x}"
            lines.append(f"🎮 My setup (affiliate): https://{domain}/{code}")
        if rng.random() < 0.5:
            handle = channel.handle.lstrip("@")
            lines.append(
                f"Discord: https://discord.gg/{handle[:8]} | Twitch: https://twitch.tv/{handle}"
            )
        if not video.is_short and video.duration_seconds >= 480 and rng.random() < 0.4:
            lines.append("")
            lines.extend(text.chapters(video.duration_seconds, rng))
        hashtags = ["#gaming"]
        if game_name is not None and video.mention in ("title", "crossover"):
            hashtags.insert(0, "#" + game_name.replace(" ", "").replace(":", "").lower())
        if video.is_short:
            hashtags.append("#shorts")
        if rng.random() < 0.7:
            lines.extend(["", " ".join(hashtags)])
        return "\n".join(lines)

    # ----- charts and ground truth ----------------------------------------------------------

    def velocity(self, video: Video, at: float, window: float = 6 * HOUR) -> int:
        """Views gained in the `window` seconds before `at`."""
        return video.views_at(at) - video.views_at(at - window)

    def chart(self, region: str, at: float) -> list[Video]:
        """The region's mostPopular gaming chart at `at`, best first.

        Videos of the last `chart_window_days` ranked by view velocity, weighted by the
        region's language preference; recomputed on a `chart_refresh_seconds` grid.
        """
        grid = self.config.chart_refresh_seconds
        return list(self._chart(region.upper(), int(at // grid) * grid))

    @functools.lru_cache(maxsize=256)  # noqa: B019 - the world lives as long as its caches
    def _chart(self, region: str, at: int) -> tuple[Video, ...]:
        preference = REGION_LANGUAGES.get(region, {"en": 1.0})
        start = at - self.config.chart_window_days * DAY
        scored = []
        for video in self.videos_between(start, at + 1):
            if video.state_at(at) == "upcoming":
                continue
            score = self.velocity(video, at) * preference.get(video.language, 0.002)
            if score > 0:
                scored.append((score, video.video_id, video))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return tuple(v for _, _, v in scored[: self.config.chart_size])
