"""Typed records of what Twitch's Helix API and its OAuth token endpoint answer.

Field names follow our tables (`stream_id`, `game_id`) rather than Helix's bare `id`. Empty
strings Helix sends for unknown values (a stream's language, a video's stream id) become None.
Values are made storable and items that cannot be understood are rejected and counted like
YouTube's (`Record`, `parse_items`): a stream whose viewer count is impossible is rejected,
since `stream_snapshots` needs one.
"""

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, SecretStr

from intel_assets.resources.cleaning import BigCount, Count, or_null, text_or_empty
from intel_assets.resources.youtube_models import Record, count, texts

_TWITCH_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing {name}")
    return value


def _optional(value: Any) -> Any:
    return None if value == "" else value


def twitch_duration_seconds(value: Any) -> int:
    """A Twitch video duration such as `"1h3m21s"` or `"3m21s"` in seconds.

    Raises:
        ValueError: The text is not in Twitch's h/m/s form.
    """
    match = _TWITCH_DURATION.match(value) if isinstance(value, str) and value else None
    if match is None:
        raise ValueError(f"duration {value!r} is not like 1h2m3s")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class Stream(Record):
    """A live stream as `GET /streams` listed it (the columns of `stream_snapshots`).

    Attributes:
        stream_id: Twitch's id of this broadcast.
        user_id: The broadcaster's user id.
        user_login: The broadcaster's login name.
        user_name: The broadcaster's display name.
        game_id: The category (game) being streamed.
        game_name: The category's name.
        type: "live" (Helix sends "" after an error).
        title: The stream's title.
        tags: The broadcaster's tags.
        viewer_count: Viewers at the time of the answer.
        started_at: When the broadcast started.
        language: The broadcaster's language (ISO 639-1, or "other"); None when unset.
        is_mature: Whether the stream is for mature audiences.
        thumbnail_url: Preview image template.
    """

    stream_id: str
    user_id: str
    user_login: str | None
    user_name: str | None
    game_id: str | None
    game_name: str | None
    type: str | None
    title: str
    tags: list[str]
    viewer_count: Count
    started_at: AwareDatetime
    language: str | None
    is_mature: bool | None
    thumbnail_url: str | None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "Stream":
        """Parse one item of `GET /streams`."""
        viewers = count(item.get("viewer_count"))
        if viewers is None:
            raise ValueError("missing viewer_count")
        return cls(
            stream_id=_text(item.get("id"), "id"),
            user_id=_text(item.get("user_id"), "user_id"),
            user_login=item.get("user_login"),
            user_name=item.get("user_name"),
            game_id=_optional(item.get("game_id")),
            game_name=_optional(item.get("game_name")),
            type=_optional(item.get("type")),
            title=text_or_empty(item.get("title"), "title"),
            tags=or_null(texts, item.get("tags"), "tags") or [],
            viewer_count=viewers,
            started_at=item.get("started_at"),  # type: ignore[arg-type]
            language=_optional(item.get("language")),
            is_mature=item.get("is_mature"),
            thumbnail_url=item.get("thumbnail_url"),
        )


class Game(Record):
    """A Twitch category (game), from `/games`, `/games/top` or `/search/categories`.

    Attributes:
        game_id: Twitch's id of the category.
        name: Its name.
        box_art_url: Box art image template.
        igdb_id: The game's IGDB id, when Twitch knows it ('' becomes None).
    """

    game_id: str
    name: str
    box_art_url: str | None
    igdb_id: str | None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "Game":
        """Parse one game or category item."""
        return cls(
            game_id=_text(item.get("id"), "id"),
            name=_text(item.get("name"), "name"),
            box_art_url=item.get("box_art_url"),
            igdb_id=_optional(item.get("igdb_id")),
        )


class TwitchVideo(Record):
    """A video (past broadcast, highlight or upload) from `GET /videos`.

    Attributes:
        video_id: Twitch's id of the video.
        stream_id: The broadcast it was recorded from (None for uploads and highlights).
        user_id: The owner's user id.
        user_login: The owner's login.
        user_name: The owner's display name.
        title: The title.
        description: The description.
        created_at: When it was created.
        published_at: When it was published.
        url: Its page.
        thumbnail_url: Thumbnail template.
        viewable: "public" or "private".
        view_count: Views.
        language: Its language.
        type: "archive", "highlight" or "upload".
        duration_seconds: Its length in seconds.
    """

    video_id: str
    stream_id: str | None
    user_id: str
    user_login: str | None
    user_name: str | None
    title: str
    description: str
    created_at: AwareDatetime
    published_at: AwareDatetime | None
    url: str | None
    thumbnail_url: str | None
    viewable: str | None
    view_count: BigCount | None
    language: str | None
    type: str | None
    duration_seconds: int

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "TwitchVideo":
        """Parse one item of `GET /videos`."""
        return cls(
            video_id=_text(item.get("id"), "id"),
            stream_id=_optional(item.get("stream_id")),
            user_id=_text(item.get("user_id"), "user_id"),
            user_login=item.get("user_login"),
            user_name=item.get("user_name"),
            title=text_or_empty(item.get("title"), "title"),
            description=text_or_empty(item.get("description"), "description"),
            created_at=item.get("created_at"),  # type: ignore[arg-type]
            published_at=_optional(item.get("published_at")),
            url=item.get("url"),
            thumbnail_url=item.get("thumbnail_url"),
            viewable=item.get("viewable"),
            view_count=or_null(count, item.get("view_count"), "view_count"),
            language=_optional(item.get("language")),
            type=item.get("type"),
            duration_seconds=twitch_duration_seconds(item.get("duration")),
        )


class ChannelInfo(Record):
    """A broadcaster's channel settings from `GET /channels`.

    Attributes:
        broadcaster_id: The broadcaster's user id.
        broadcaster_login: Login name.
        broadcaster_name: Display name.
        broadcaster_language: The channel's language; None when unset.
        game_id: The category the channel is set to; None when unset.
        game_name: That category's name.
        title: The stream title.
        delay: Broadcast delay in seconds (only for the broadcaster's own token; else 0).
        tags: The channel's tags.
        content_classification_labels: Labels such as "MatureGame".
        is_branded_content: Whether the channel declares branded content.
    """

    broadcaster_id: str
    broadcaster_login: str | None
    broadcaster_name: str | None
    broadcaster_language: str | None
    game_id: str | None
    game_name: str | None
    title: str
    delay: Count | None
    tags: list[str]
    content_classification_labels: list[str]
    is_branded_content: bool | None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "ChannelInfo":
        """Parse one item of `GET /channels`."""
        return cls(
            broadcaster_id=_text(item.get("broadcaster_id"), "broadcaster_id"),
            broadcaster_login=item.get("broadcaster_login"),
            broadcaster_name=item.get("broadcaster_name"),
            broadcaster_language=_optional(item.get("broadcaster_language")),
            game_id=_optional(item.get("game_id")),
            game_name=_optional(item.get("game_name")),
            title=text_or_empty(item.get("title"), "title"),
            delay=or_null(count, item.get("delay"), "delay"),
            tags=or_null(texts, item.get("tags"), "tags") or [],
            content_classification_labels=or_null(
                texts, item.get("content_classification_labels"), "content_classification_labels"
            )
            or [],
            is_branded_content=item.get("is_branded_content"),
        )


class Token(Record):
    """An app access token from the client-credentials grant.

    Attributes:
        access_token: The bearer token (a secret: it never shows in repr or logs).
        token_type: "bearer".
        expires_in: Seconds it was valid for when issued.
        expires_at: When it expires.
    """

    access_token: SecretStr
    token_type: str
    expires_in: int
    expires_at: AwareDatetime

    @classmethod
    def from_api(cls, body: Mapping[str, Any], *, issued_at: datetime) -> "Token":
        """Parse the token endpoint's answer, received at `issued_at` (UTC-aware)."""
        lifetime = count(body.get("expires_in"))
        if lifetime is None:
            raise ValueError("missing expires_in")
        return cls(
            access_token=SecretStr(_text(body.get("access_token"), "access_token")),
            token_type=str(body.get("token_type") or "bearer"),
            expires_in=lifetime,
            expires_at=issued_at + timedelta(seconds=lifetime),
        )
