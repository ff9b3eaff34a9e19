"""Twitch Helix endpoints over the simulated world, in the real JSON shapes.

Each endpoint takes the parsed query and the simulator time and returns the body, or raises
`ApiError` with Helix's error body. Tokens and the rate-limit bucket are the server's business.
"""

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from intel_assets.simulator import errors
from intel_assets.simulator.errors import JsonBody
from intel_assets.simulator.ids import decode_twitch_cursor, encode_twitch_cursor, stable_hash
from intel_assets.simulator.twitch_world import Session, TwitchWorld
from intel_assets.simulator.world import DAY, rfc3339

T = TypeVar("T")
MAX_FILTER_VALUES = 100
VIDEO_RETENTION = timedelta(days=14)
MAX_GAME_VIDEOS = 500
_PERIODS = {
    "all": VIDEO_RETENTION,
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
}


class HelixQuery:
    """A Helix query string: list parameters are repeated (`game_id=1&game_id=2`)."""

    def __init__(self, raw: dict[str, list[str]]) -> None:
        self.raw = raw

    def get(self, name: str) -> str | None:
        """The first value, or None."""
        values = self.raw.get(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        """Every value of a repeated parameter, duplicates dropped, order kept."""
        return list(dict.fromkeys(v for v in self.raw.get(name, []) if v))

    def first(self) -> int:
        """`first`: page size, 1..100, default 20."""
        value = self.get("first")
        if value is None:
            return 20
        try:
            number = int(value)
        except ValueError:
            raise errors.helix_error(
                400, 'The parameter "first" was malformed: the value must be an integer'
            ) from None
        if number < 1:
            raise errors.helix_error(
                400,
                'The parameter "first" was malformed: the value must be greater than or equal to 1',
            )
        if number > 100:
            raise errors.helix_error(
                400,
                'The parameter "first" was malformed: the value must be less than or equal to 100',
            )
        return number

    def choice(self, name: str, allowed: Sequence[str], default: str) -> str:
        """An enumerated parameter (400 for another value)."""
        value = self.get(name) or default
        if value not in allowed:
            raise errors.helix_error(
                400,
                f'The parameter "{name}" was malformed: '
                f"the value must be one of {', '.join(allowed)}",
            )
        return value

    def limited(self, name: str) -> list[str]:
        """A repeated filter of at most 100 values."""
        values = self.values(name)
        if len(values) > MAX_FILTER_VALUES:
            raise errors.helix_error(
                400, f"The number of {name} query parameters exceeds the maximum allowed"
            )
        return values


def _paged(query: HelixQuery, items: list[T]) -> tuple[list[T], JsonBody]:
    """One page of `items` by the `after`/`before` cursors, and the `pagination` object."""
    size = query.first()
    after, before = query.get("after"), query.get("before")
    offset = 0
    if after or before:
        decoded = decode_twitch_cursor(after or before or "")
        if decoded is None:
            raise errors.helix_error(
                400, "The cursor in the after or before query parameter is not valid"
            )
        offset = decoded if after else max(0, decoded - size)
    page = items[offset : offset + size]
    pagination: JsonBody = {}
    if offset + size < len(items):
        pagination["cursor"] = encode_twitch_cursor(offset + size)
    return page, pagination


def twitch_duration(seconds: int) -> str:
    """A Helix video duration: `3m21s`, `2h5m0s`, `45s`."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


class TwitchApi:
    """The Helix endpoints over one world."""

    def __init__(self, world: TwitchWorld) -> None:
        self.world = world
        self.endpoints: dict[str, Callable[[HelixQuery, float], JsonBody]] = {
            "streams": self.streams,
            "games/top": self.games_top,
            "games": self.games,
            "videos": self.videos,
            "channels": self.channels,
            "search/categories": self.search_categories,
        }

    def stream_item(self, session: Session, at: float) -> JsonBody:
        """One live stream as /streams returns it."""
        streamer = session.streamer
        category = self.world.categories[session.category]
        return {
            "id": session.stream_id,
            "user_id": streamer.user_id,
            "user_login": streamer.login,
            "user_name": streamer.name,
            "game_id": category.game_id,
            "game_name": category.name,
            "type": "live",
            "title": session.title,
            "tags": list(streamer.tags),
            "viewer_count": session.viewers_at(at),
            "started_at": rfc3339(session.start),
            "language": streamer.language,
            "thumbnail_url": f"https://static-cdn.jtvnw.net/previews-ttv/live_user_{streamer.login}-{{width}}x{{height}}.jpg",
            "tag_ids": [],
            "is_mature": streamer.mature,
        }

    def _categories(self, game_ids: list[str]) -> list[int]:
        if not game_ids:
            return list(range(len(self.world.categories)))
        found = (self.world.category_index(g) for g in game_ids)
        return [index for index in found if index is not None]

    def streams(self, query: HelixQuery, at: float) -> JsonBody:
        """GET /streams: live streams, most viewers first."""
        query.choice("type", ("all", "live"), "all")
        languages = set(query.limited("language"))
        user_ids = set(query.limited("user_id"))
        logins = {login.lower() for login in query.limited("user_login")}
        live = [
            s
            for index in self._categories(query.limited("game_id"))
            for s in self.world.live_sessions(index, at)
            if (not languages or s.streamer.language in languages)
            and (not user_ids or s.streamer.user_id in user_ids)
            and (not logins or s.streamer.login in logins)
        ]
        live.sort(key=lambda s: (-s.viewers_at(at), s.stream_id))
        page, pagination = _paged(query, live)
        return {"data": [self.stream_item(s, at) for s in page], "pagination": pagination}

    def _game_item(self, index: int) -> JsonBody:
        category = self.world.categories[index]
        return {
            "id": category.game_id,
            "name": category.name,
            "box_art_url": category.box_art_url,
            "igdb_id": category.igdb_id,
        }

    def games_top(self, query: HelixQuery, at: float) -> JsonBody:
        """GET /games/top: categories by live viewers now (Helix sends no viewer counts)."""
        page, pagination = _paged(query, self.world.ranked_categories(at))
        return {"data": [self._game_item(i) for i in page], "pagination": pagination}

    def games(self, query: HelixQuery, at: float) -> JsonBody:
        """GET /games by id, name or igdb_id."""
        ids, names, igdb = query.values("id"), query.values("name"), query.values("igdb_id")
        if not ids and not names and not igdb:
            raise errors.helix_error(
                400, "The request must specify the id or name or igdb_id query parameter"
            )
        if len(ids) + len(names) + len(igdb) > MAX_FILTER_VALUES:
            raise errors.helix_error(
                400,
                "The combined number of game IDs and game names that you specify in the request "
                "must not exceed 100",
            )
        found = [
            i
            for i, c in enumerate(self.world.categories)
            if c.game_id in ids or c.name in names or (c.igdb_id and c.igdb_id in igdb)
        ]
        return {"data": [self._game_item(i) for i in found]}

    def _video_item(self, session: Session, at: float) -> JsonBody:
        streamer = session.streamer
        duration = int(session.end - session.start)
        muted = stable_hash(session.video_id, "muted", bits=8) < 40
        return {
            "id": session.video_id,
            "stream_id": session.stream_id,
            "user_id": streamer.user_id,
            "user_login": streamer.login,
            "user_name": streamer.name,
            "title": session.title,
            "description": "",
            "created_at": rfc3339(session.start),
            "published_at": rfc3339(session.start),
            "url": f"https://www.twitch.tv/videos/{session.video_id}",
            "thumbnail_url": f"https://static-cdn.jtvnw.net/cf_vods/d1m7jfoe9zdc1j/{streamer.login}_{session.stream_id}/thumb/thumb0-%{{width}}x%{{height}}.jpg",
            "viewable": "public",
            "view_count": session.archive_views_at(at),
            "language": streamer.language,
            "type": "archive",
            "duration": twitch_duration(duration),
            "muted_segments": [{"duration": 30, "offset": min(120, duration // 2)}]
            if muted
            else None,
        }

    def videos(self, query: HelixQuery, at: float) -> JsonBody:
        """GET /videos by id, user_id or game_id (archives of past broadcasts)."""
        ids, user_id, game_id = query.limited("id"), query.get("user_id"), query.get("game_id")
        chosen = [
            name
            for name, value in (("id", ids), ("user_id", user_id), ("game_id", game_id))
            if value
        ]
        if not chosen:
            raise errors.helix_error(
                400, "The request must specify either the id or user_id or game_id query parameter"
            )
        if len(chosen) > 1:
            raise errors.helix_error(
                400,
                "The id, user_id, and game_id query parameters are mutually exclusive; "
                "you must specify only one of them",
            )
        sort = query.choice("sort", ("time", "trending", "views"), "time")
        period = query.choice("period", ("all", "day", "week", "month"), "all")
        video_type = query.choice("type", ("all", "archive", "highlight", "upload"), "all")
        language = query.get("language")
        within = min(_PERIODS[period], VIDEO_RETENTION)
        if ids:
            wanted = set(ids)
            sessions = [
                s
                for index in range(len(self.world.categories))
                for s in self.world.ended_sessions(index, at, VIDEO_RETENTION)
                if s.video_id in wanted
            ]
            if not sessions:
                raise errors.helix_error(404, "The ID in the id query parameter was not found")
            return {"data": [self._video_item(s, at) for s in sessions], "pagination": {}}
        if user_id is not None:
            streamer = self.world.streamer(user_id)
            if streamer is None:
                return {"data": [], "pagination": {}}
            sessions = [
                s
                for s in self.world.ended_sessions(streamer.category, at, within)
                if s.streamer.user_id == user_id
            ]
        else:
            index = self.world.category_index(game_id or "")
            if index is None:
                raise errors.helix_error(404, "The ID in the game_id query parameter was not found")
            sessions = self.world.ended_sessions(index, at, within)
        if language is not None:
            sessions = [s for s in sessions if s.streamer.language == language.lower()]
        if video_type not in ("all", "archive"):
            sessions = []
        order: dict[str, Callable[[Session], float]] = {
            "time": lambda s: -s.start,
            "views": lambda s: -s.archive_views_at(at),
            "trending": lambda s: -(s.archive_views_at(at) - s.archive_views_at(at - DAY)),
        }
        key = order[sort]
        sessions.sort(key=lambda s: (key(s), s.video_id))
        page, pagination = _paged(query, sessions[:MAX_GAME_VIDEOS])
        return {"data": [self._video_item(s, at) for s in page], "pagination": pagination}

    def channels(self, query: HelixQuery, at: float) -> JsonBody:
        """GET /channels for up to 100 broadcaster ids (unknown ids are left out)."""
        ids = query.values("broadcaster_id")
        if not ids:
            raise errors.helix_error(400, 'Missing required parameter "broadcaster_id"')
        if len(ids) > MAX_FILTER_VALUES:
            raise errors.helix_error(
                400, "The number of broadcaster_id query parameters exceeds the maximum allowed"
            )
        data = []
        for user_id in ids:
            streamer = self.world.streamer(user_id)
            if streamer is None:
                continue
            category = self.world.categories[streamer.category]
            recent = [
                s
                for d in (int(at // DAY) - 1, int(at // DAY))
                for s in self.world.day_sessions(streamer.category, d)
                if s.streamer.user_id == user_id and s.start <= at
            ]
            title = recent[-1].title if recent else f"{category.name} with chat"
            data.append(
                {
                    "broadcaster_id": streamer.user_id,
                    "broadcaster_login": streamer.login,
                    "broadcaster_name": streamer.name,
                    "broadcaster_language": streamer.language,
                    "game_id": category.game_id,
                    "game_name": category.name,
                    "title": title,
                    "delay": 0,
                    "tags": list(streamer.tags),
                    "content_classification_labels": ["MatureGame"] if streamer.mature else [],
                    "is_branded_content": False,
                }
            )
        return {"data": data}

    def search_categories(self, query: HelixQuery, at: float) -> JsonBody:
        """GET /search/categories: categories whose name contains the query."""
        text = (query.get("query") or "").strip().casefold()
        if not text:
            raise errors.helix_error(400, 'Missing required parameter "query"')
        found = [
            c
            for c in self.world.categories
            if text in c.name.casefold()
            or c.name.casefold().replace(" ", "").startswith(text.replace(" ", ""))
        ]
        page, pagination = _paged(query, found)
        return {
            "data": [
                {
                    "id": c.game_id,
                    "name": c.name,
                    "box_art_url": f"https://static-cdn.jtvnw.net/ttv-boxart/{c.game_id}-52x72.jpg",
                }
                for c in page
            ],
            "pagination": pagination,
        }
