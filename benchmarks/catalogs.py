"""Game catalogs of benchmark size, as TOML files that `INTEL_CATALOG_PATH` points the project at.

Every reader of the catalog (the sensor, the collection assets, the simulator) then sees the
same games, exactly as a deployment with its own `games.toml` would.
"""

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from intel_assets.catalog import CATALOG_PATH_VARIABLE, Catalog, GameConfig, load_catalog

PACKAGED = load_catalog(Path(__file__).parents[1] / "intel_assets" / "games.toml")
"""The packaged catalog's eight games (their real match phrases and Twitch ids)."""


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(str(value), ensure_ascii=False)


def catalog_toml(games: Sequence[GameConfig]) -> str:
    """The TOML text of a catalog of `games` (what `load_catalog` reads back)."""
    lines: list[str] = []
    for game in games:
        lines.append(f"[games.{game.key}]")
        for name, value in game.model_dump(exclude={"key"}).items():
            if value is not None:
                lines.append(f"{name} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def resized(catalog: Catalog, **changes: Any) -> list[GameConfig]:
    """The catalog's games with the same fields changed in each (e.g. a larger video budget)."""
    return [catalog.games[key].model_copy(update=changes) for key in catalog.keys]


def synthetic_games(count: int, *, first_twitch_id: int = 900_000) -> list[GameConfig]:
    """`count` made-up games with distinct phrases and Twitch ids, priorities 1 to 3."""
    return [
        GameConfig(
            key=f"bench_game_{n:04d}",
            display_name=f"Bench Game {n}",
            priority=1 + n % 3,
            refresh_hours=float(2 + n % 3),
            video_budget=30,
            phrases=(f"bench game {n}",),
            search_query=f"bench game {n}",
            twitch_game_id=str(first_twitch_id + n),
            twitch_name=f"Bench Game {n}",
        )
        for n in range(count)
    ]


@contextmanager
def catalog_in_use(games: Sequence[GameConfig], folder: Path) -> Iterator[Catalog]:
    """Write `games` to a catalog file and point `INTEL_CATALOG_PATH` at it for the block."""
    path = folder / "games.toml"
    path.write_text(catalog_toml(games), encoding="utf-8")
    previous = os.environ.get(CATALOG_PATH_VARIABLE)
    os.environ[CATALOG_PATH_VARIABLE] = str(path)
    try:
        catalog = load_catalog()
        check_same(catalog, {g.key: g for g in games})
        yield catalog
    finally:
        if previous is None:
            os.environ.pop(CATALOG_PATH_VARIABLE, None)
        else:
            os.environ[CATALOG_PATH_VARIABLE] = previous
        path.unlink(missing_ok=True)


def check_same(catalog: Catalog, games: Mapping[str, GameConfig]) -> None:
    """Raise unless the loaded catalog holds exactly `games` (the TOML round trip is exact)."""
    loaded = {key: game.model_dump() for key, game in catalog.games.items()}
    if loaded != {key: game.model_dump() for key, game in games.items()}:
        raise ValueError("the benchmark catalog did not read back as written")
