"""The game catalog: which games are tracked, how often, and how a video is tied to a game.

The catalog is `games.toml` beside this module, or the file `INTEL_CATALOG_PATH` names (or a
path given to `load_catalog`). Each game is one partition of the dynamic `games` partitions. A
video belongs to a game when one of the game's phrases occurs as whole words in its title or
tags, or one of its description phrases in its description, and none of its exclusions occurs in
title or tags. A video may belong to several games or to none.
"""

import functools
import os
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_CATALOG_PATH = Path(__file__).with_name("games.toml")
CATALOG_PATH_VARIABLE = "INTEL_CATALOG_PATH"
_GAME_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

GAMING_CATEGORY = "20"
"""YouTube's video category "Gaming": the category of the charts every game is matched in."""


class CatalogError(ValueError):
    """The catalog file is missing, malformed or inconsistent; the message says where."""


def normalize_text(text: str) -> str:
    """Text folded for matching: NFKC, case-folded, non-word runs as one space, symbols dropped.

    Full-width letters, ligatures, trade marks and odd spacing compare the way a reader would:
    full-width FORTNITE, `Fortnite™` and `fortnite` are the same word; `fort-nite` is two.
    """
    if not text.isascii():
        # Symbols first, or NFKC turns "Fortnite™" into "fortnitetm". ASCII text has no
        # compatibility characters, so most titles skip this per-character pass.
        text = "".join(" " if unicodedata.category(ch).startswith("S") else ch for ch in text)
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", folded))


class GameConfig(BaseModel):
    """One tracked game.

    Attributes:
        key: Partition key (lower snake case), e.g. `apex_legends`.
        display_name: The name people know the game by.
        priority: 1 is collected first when quota is scarce; larger numbers later.
        refresh_hours: Shortest interval between two YouTube collections of the game.
        video_budget: Most videos of the game one collection keeps.
        phrases: Whole-word phrases tying a video to the game through its title or tags.
        description_phrases: Stricter phrases that suffice in the description alone.
        exclude_phrases: Phrases in title or tags that rule a video out.
        search_query: The `search.list` query for game-specific discovery.
        twitch_game_id: The Helix game id.
        twitch_name: The Helix game name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    display_name: str
    priority: int = Field(ge=1, le=9)
    refresh_hours: float = Field(gt=0, le=168)
    video_budget: int = Field(ge=1, le=5000)
    phrases: tuple[str, ...] = Field(min_length=1)
    description_phrases: tuple[str, ...] = ()
    exclude_phrases: tuple[str, ...] = ()
    search_query: str
    twitch_game_id: str | None = None
    twitch_name: str | None = None

    @field_validator("key")
    @classmethod
    def _key_is_a_partition_key(cls, value: str) -> str:
        if not _GAME_KEY.match(value):
            raise ValueError(f"game key {value!r} must be lower snake case (a-z, 0-9, _)")
        return value

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], re.Pattern[str] | None, re.Pattern[str] | None]:
        def pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
            normalized = sorted({normalize_text(p) for p in phrases if normalize_text(p)})
            if not normalized:
                return None
            return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, normalized)) + r")(?!\w)")

        main = pattern(self.phrases)
        if main is None:
            raise CatalogError(f"game {self.key}: phrases are empty after normalisation")
        return main, pattern(self.description_phrases), pattern(self.exclude_phrases)

    def matches(self, title: str, tags: Iterable[str] = (), description: str = "") -> bool:
        """Whether a video with this title, tags and description belongs to the game."""
        main, in_description, excluded = self._patterns
        head = normalize_text(" | ".join([title, *tags]))
        if excluded is not None and excluded.search(head):
            return False
        if main.search(head):
            return True
        return in_description is not None and bool(
            in_description.search(normalize_text(description))
        )


class Catalog(BaseModel):
    """Every tracked game, keyed by partition key."""

    model_config = ConfigDict(frozen=True)

    games: Mapping[str, GameConfig]

    @property
    def keys(self) -> list[str]:
        """Partition keys, highest priority first, then alphabetical."""
        return [g.key for g in sorted(self.games.values(), key=lambda g: (g.priority, g.key))]

    def get(self, key: str) -> GameConfig:
        """The game with this key; a clear error for an unknown one."""
        try:
            return self.games[key]
        except KeyError:
            raise CatalogError(
                f"unknown game {key!r}; the catalog has {', '.join(self.keys)}"
            ) from None

    def games_of(self, title: str, tags: Iterable[str] = (), description: str = "") -> list[str]:
        """Keys of every game a video belongs to (possibly none), in catalog order."""
        tag_list = list(tags)
        return [k for k in self.keys if self.games[k].matches(title, tag_list, description)]

    def by_twitch_id(self) -> dict[str, str]:
        """Helix game id to game key, for the games that have one."""
        return {g.twitch_game_id: g.key for g in self.games.values() if g.twitch_game_id}


def parse_catalog(data: Mapping[str, object], source: str = "catalog") -> Catalog:
    """Build a catalog from the parsed TOML document; `source` names it in errors."""
    tables = data.get("games")
    if not isinstance(tables, Mapping) or not tables:
        raise CatalogError(f"{source}: no [games.<key>] tables")
    games: dict[str, GameConfig] = {}
    for key, table in tables.items():
        if not isinstance(table, Mapping):
            raise CatalogError(f"{source}: games.{key} is not a table")
        try:
            games[str(key)] = GameConfig(key=str(key), **dict(table))
        except ValidationError as error:
            raise CatalogError(f"{source}: games.{key}: {error}") from error
    return Catalog(games=games)


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate the catalog file.

    Args:
        path: The file; by default the one `INTEL_CATALOG_PATH` names (read now, so every
            process of a deployment reads the same file), else the packaged `games.toml`.
    """
    if path is None:
        path = Path(os.environ.get(CATALOG_PATH_VARIABLE) or DEFAULT_CATALOG_PATH)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(f"catalog file {path} does not exist") from None
    parsed = _parsed_catalog(text, str(path))
    return Catalog(games=dict(parsed.games))


@functools.lru_cache(maxsize=4)
def _parsed_catalog(text: str, source: str) -> Catalog:
    """The catalog a file's text holds, parsed once per text.

    The sensor reads the file every tick, and parsing 5,000 games took most of a second.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{source}: {error}") from error
    return parse_catalog(data, source=source)


class RowReader(Protocol):
    """What reads the discovered games: the warehouse resource, or anything with its query."""

    def fetch_dicts(self, query: Any, params: Any = ()) -> list[dict[str, Any]]:
        """Run a query and return its rows as dictionaries."""
        ...


def discovered_game_config(game_key: str, name: str, twitch_game_id: str) -> GameConfig:
    """Catalog entry of a game discovered from Twitch: its name is its only match phrase."""
    return GameConfig(
        key=game_key,
        display_name=name,
        priority=3,
        refresh_hours=4.0,
        video_budget=30,
        phrases=(name,),
        description_phrases=(name,),
        search_query=name,
        twitch_game_id=twitch_game_id,
        twitch_name=name,
    )


def effective_catalog(warehouse: RowReader, base: Catalog | None = None) -> Catalog:
    """The catalog file's games plus the games discovered from Twitch (the file wins a clash).

    Args:
        warehouse: The warehouse (`intel_discovered_games` holds the discovered games).
        base: The catalog file's games (default: `load_catalog()`).
    """
    catalog = base or load_catalog()
    rows = warehouse.fetch_dicts(
        b"SELECT game_key, display_name, twitch_game_id FROM intel_discovered_games"
    )
    games = dict(catalog.games)
    for row in rows:
        key = row["game_key"]
        if key not in games:
            games[key] = discovered_game_config(key, row["display_name"], row["twitch_game_id"])
    return Catalog(games=games)
