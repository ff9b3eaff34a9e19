"""The simulated Twitch world: categories, streamers, their live sessions and past broadcasts.

Each category has a roster of streamers (power-law popularity within each language). A
streamer's sessions on a day are a pure function of (seed, category, streamer, day): whether
they stream, when (their evening in their language's time zone) and for how long. A stream is
live while its session runs, with a stable id; its viewers at a time are a pure function of
the session and the time. The number of live streams therefore follows the time of day.
"""

import functools
import math
import random
from dataclasses import dataclass
from datetime import timedelta

from intel_assets.catalog import Catalog
from intel_assets.simulator import text
from intel_assets.simulator.ids import stable_hash
from intel_assets.simulator.world import DAY, HOUR


@dataclass(frozen=True)
class Category:
    """A Twitch category (game or not).

    Attributes:
        game_id: Helix id.
        name: Helix name.
        igdb_id: IGDB id as Helix sends it ("" for categories that are not games).
        popularity: Relative audience, which sets the roster size and viewer counts.
        game_key: Catalog key when the category is a catalog game.
    """

    game_id: str
    name: str
    igdb_id: str
    popularity: float
    game_key: str | None = None

    @property
    def box_art_url(self) -> str:
        """Box art URL template as Helix returns it."""
        return f"https://static-cdn.jtvnw.net/ttv-boxart/{self.game_id}-{{width}}x{{height}}.jpg"


# Categories outside the catalog (real Helix ids and names), so top games are not only ours.
EXTRA_CATEGORIES: tuple[Category, ...] = (
    Category("509658", "Just Chatting", "", 1.6),
    Category("32399", "Counter-Strike", "242408", 0.5),
    Category("29595", "Dota 2", "2963", 0.3),
    Category("18122", "World of Warcraft", "123", 0.25),
    Category("138585", "Hearthstone", "1279", 0.08),
    Category("515025", "Overwatch 2", "125174", 0.15),
    Category("30921", "Rocket League", "11198", 0.08),
    Category("491487", "Dead by Daylight", "18866", 0.12),
    Category("263490", "Rust", "3277", 0.15),
    Category("513143", "Teamfight Tactics", "120176", 0.1),
    Category("26936", "Music", "", 0.1),
    Category("509660", "Art", "", 0.05),
    Category("743", "Chess", "", 0.06),
)

_CATALOG_POPULARITY = {
    "league_of_legends": 0.9, "gta": 0.9, "fortnite": 0.6, "valorant": 0.6, "minecraft": 0.4,
    "warzone": 0.35, "apex_legends": 0.3, "roblox": 0.25,
}  # fmt: skip
_KNOWN_IGDB = {"33214": "1905", "21779": "115", "32982": "1020", "516575": "126459"}

TWITCH_LANGUAGES: dict[str, float] = {
    "en": 44, "es": 12, "pt": 7, "de": 6, "fr": 5, "ru": 6, "ja": 5, "ko": 4, "it": 3, "tr": 3,
    "pl": 3, "ar": 2,
}  # fmt: skip
"""Share of streams per language (Helix `language`)."""

# Hour (UTC) around which each language's streamers go live: their evening.
_PRIME_TIME_UTC = {
    "en": 0.5, "es": 22.0, "pt": 23.0, "de": 17.5, "fr": 18.0, "ru": 16.0, "ja": 11.0,
    "ko": 11.0, "it": 18.0, "tr": 17.0, "pl": 17.5, "ar": 18.0,
}  # fmt: skip
_LOGIN_HEADS = ("shadow", "pixel", "frost", "tiny", "mega", "lil", "dark", "neo", "sir", "captain")
_LOGIN_TAILS = ("wolf", "gamer", "fox", "ninja", "bear", "kid", "raven", "storm", "tv", "plays")


@dataclass(frozen=True, slots=True)
class Streamer:
    """One broadcaster.

    Attributes:
        user_id: Helix user id (digits).
        login: Lowercase login.
        name: Display name.
        language: Broadcast language.
        category: Index of the category they stream.
        popularity: Typical viewers at their peak.
        stream_chance: Probability of streaming on a given day.
        mature: Whether the channel is marked mature.
        tags: Their stream tags.
    """

    user_id: str
    login: str
    name: str
    language: str
    category: int
    popularity: float
    stream_chance: float
    mature: bool
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Session:
    """One broadcast (a stream while live, an archive afterwards).

    Attributes:
        stream_id: Helix stream id, stable while live.
        video_id: Id of its archive video.
        streamer: The broadcaster.
        category: Index of the category.
        start: Epoch seconds it went live.
        end: Epoch seconds it ended.
        title: Stream title.
        archived: Whether the broadcaster keeps an archive (VOD) of it.
    """

    stream_id: str
    video_id: str
    streamer: Streamer
    category: int
    start: float
    end: float
    title: str
    archived: bool

    def live_at(self, at: float) -> bool:
        """Whether the stream is live at `at`."""
        return self.start <= at < self.end

    def viewers_at(self, at: float) -> int:
        """Concurrent viewers at `at` (0 when not live)."""
        if not self.live_at(at):
            return 0
        ramp = min(1.0, (at - self.start) / 1200.0)
        phase = int(self.stream_id[-4:])
        wave = 0.85 + 0.1 * math.sin(at / 2220.0 + phase) + 0.05 * math.sin(at / 6780.0 + phase)
        return int(self.streamer.popularity * ramp * wave)

    def archive_views_at(self, at: float) -> int:
        """Views of the archive at `at`: grows after the stream, then saturates."""
        if at < self.end:
            return 0
        age_hours = (at - self.end) / HOUR
        return int(self.streamer.popularity * 2.5 * (age_hours / (age_hours + 24.0)) + 1)


class TwitchWorld:
    """Categories, streamers and sessions of one seed."""

    def __init__(self, catalog: Catalog, seed: int, streamers_per_category: int = 400) -> None:
        self.seed = seed
        categories: list[Category] = []
        for key in catalog.keys:
            game = catalog.get(key)
            if game.twitch_game_id and game.twitch_name:
                categories.append(
                    Category(
                        game.twitch_game_id,
                        game.twitch_name,
                        _KNOWN_IGDB.get(game.twitch_game_id, str(stable_hash(key, bits=16))),
                        _CATALOG_POPULARITY.get(key, 0.2),
                        key,
                    )
                )
        known = {c.game_id for c in categories}
        categories.extend(c for c in EXTRA_CATEGORIES if c.game_id not in known)
        self.categories = categories
        self._category_of = {c.game_id: i for i, c in enumerate(categories)}
        self.streamers: list[list[Streamer]] = []
        self._streamer_by_id: dict[str, Streamer] = {}
        for index, category in enumerate(categories):
            roster = self._roster(index, category, streamers_per_category)
            self.streamers.append(roster)
            self._streamer_by_id.update((s.user_id, s) for s in roster)

    def _roster(self, index: int, category: Category, per_category: int) -> list[Streamer]:
        rng = random.Random(stable_hash(self.seed, "roster", category.game_id))
        size = max(20, int(per_category * min(category.popularity, 1.0)))
        languages = list(TWITCH_LANGUAGES)
        weights = [TWITCH_LANGUAGES[lang] for lang in languages]
        roster = []
        for n in range(size):
            language = rng.choices(languages, weights)[0]
            # Pareto with alpha 1.05: a handful of streams hold most viewers of a category.
            popularity = min(8.0 * rng.paretovariate(1.05) * category.popularity, 250_000.0)
            if language != "en":
                popularity *= 0.6
            login = f"{rng.choice(_LOGIN_HEADS)}{rng.choice(_LOGIN_TAILS)}{n}{index}"
            tags = (
                text.STREAM_LANGUAGE_TAGS[language],
                *rng.sample(text.STREAM_TAGS, rng.randint(0, 3)),
            )
            roster.append(
                Streamer(
                    user_id=str(
                        100_000_000 + stable_hash(self.seed, "user", category.game_id, n, bits=30)
                    ),
                    login=login,
                    name=login.capitalize() if rng.random() < 0.5 else login,
                    language=language,
                    category=index,
                    popularity=popularity,
                    stream_chance=rng.uniform(0.25, 0.9),
                    mature=rng.random() < 0.15,
                    tags=tags,
                )
            )
        return roster

    def category(self, game_id: str) -> Category | None:
        """The category with this Helix id, or None."""
        index = self._category_of.get(game_id)
        return None if index is None else self.categories[index]

    def category_index(self, game_id: str) -> int | None:
        """Index of the category with this Helix id, or None."""
        return self._category_of.get(game_id)

    def streamer(self, user_id: str) -> Streamer | None:
        """The broadcaster with this user id, or None."""
        return self._streamer_by_id.get(user_id)

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - the world lives as long as its caches
    def day_sessions(self, category: int, day: int) -> tuple[Session, ...]:
        """Sessions of a category's roster that start on a UTC day."""
        name = self.categories[category].name
        sessions = []
        for streamer in self.streamers[category]:
            rng = random.Random(stable_hash(self.seed, "session", streamer.user_id, day))
            if rng.random() >= streamer.stream_chance:
                continue
            start_hour = (_PRIME_TIME_UTC[streamer.language] + rng.gauss(-1.5, 2.5)) % 24
            start = float(int(day * DAY + start_hour * HOUR))
            length = rng.uniform(1.5, 8.0) * HOUR
            sessions.append(
                Session(
                    stream_id=str(
                        40_000_000_000
                        + stable_hash(self.seed, "stream", streamer.user_id, day, bits=33)
                    ),
                    video_id=str(
                        2_000_000_000
                        + stable_hash(self.seed, "vod", streamer.user_id, day, bits=30)
                    ),
                    streamer=streamer,
                    category=category,
                    start=start,
                    end=float(int(start + length)),
                    title=rng.choice(text.STREAM_TITLES[streamer.language]).format(game=name),
                    archived=rng.random() < 0.7,
                )
            )
        return tuple(sessions)

    def live_sessions(self, category: int, at: float) -> list[Session]:
        """Sessions of a category live at `at`, most viewers first (ties by stream id)."""
        day = int(at // DAY)
        live = [s for d in (day - 1, day) for s in self.day_sessions(category, d) if s.live_at(at)]
        live.sort(key=lambda s: (-s.viewers_at(at), s.stream_id))
        return live

    def ranked_categories(self, at: float) -> list[int]:
        """Category indexes by live viewers at `at`, most first (the order of /games/top)."""
        return sorted(
            range(len(self.categories)),
            key=lambda i: (-self.category_viewers(i, at), self.categories[i].game_id),
        )

    def category_viewers(self, category: int, at: float) -> int:
        """Total live viewers of a category at `at`."""
        return sum(s.viewers_at(at) for s in self.live_sessions(category, at))

    def ended_sessions(self, category: int, at: float, within: timedelta) -> list[Session]:
        """Archived sessions of a category that started in the `within` before `at` and ended.

        Helix filters videos by when they were published: the start of the broadcast.
        """
        start = at - within.total_seconds()
        return [
            s
            for day in range(int(start // DAY), int(at // DAY) + 1)
            for s in self.day_sessions(category, day)
            if s.archived and start <= s.start and s.end <= at
        ]
