"""Typed records of what the YouTube Data API v3 answers, parsed from its JSON.

`Video`'s fields map one to one onto the columns of `video_snapshots` (migrations/0001), so a
collection writes `video.model_dump()` plus its own game, time and run columns. Conventions:

- counts arrive as strings and become integers; a count YouTube leaves out (likes hidden,
  comments disabled, subscribers hidden) is None, never 0;
- durations arrive as ISO 8601 (`PT23M47S`) and become whole seconds; `P0D`, which YouTube sends
  for a broadcast that has no recording yet, becomes None;
- times are timezone-aware datetimes (UTC);
- every value is made storable at this boundary (`intel_assets.resources.cleaning`): text keeps
  its characters but loses NULs and lone surrogates; an impossible count, duration, time or flag
  (not a number, negative, beyond its column) becomes None; each such field is a repair, logged
  with the item's id and counted per page;
- an item that cannot be understood at all (no id, title, channel or publish time) is rejected:
  skipped, counted in the page's `skipped` and logged with the reason; it never fails the page.
"""

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal, NamedTuple, TypeVar

import isodate
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from intel_assets.resources.cleaning import (
    INTEGER_MAX,
    BigCount,
    Count,
    note_repair,
    noting_repairs,
    or_null,
    storable,
    storable_text,
    text_or_empty,
)

log = logging.getLogger(__name__)

LiveState = Literal["none", "upcoming", "live", "ended"]

# Shorts are at most 3 minutes long (since October 2024); a video of at most 60 s is a Short
# whatever its title says, one of up to 180 s only when it says so with #shorts.
SHORT_MAX_SECONDS = 60
TAGGED_SHORT_MAX_SECONDS = 180

T = TypeVar("T")


class Record(BaseModel):
    """Base of the API records: immutable, strict about unknown field names in code, storable.

    Every field is made storable as it is set: text is cleaned (`storable`), and a value that
    fails its field's type or bounds becomes None where the field allows None. Either is noted
    as a repair of that field; a required field that fails still fails the record.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="wrap")
    @classmethod
    def _storable(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        cleaned = storable(value)
        if cleaned is not value:
            note_repair(info.field_name or "?")
        try:
            return handler(cleaned)
        except ValidationError as error:
            try:
                nothing = handler(None)
            except ValidationError:
                raise error from None
            note_repair(info.field_name or "?")
            return nothing


def count(value: Any) -> int | None:
    """A YouTube count (`"1600374"`) as an integer; None when YouTube sent none.

    Raises:
        ValueError: The value is not a non-negative whole number.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"count {value!r} is not a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"count {value!r} is not a whole number")
    if number < 0:
        raise ValueError(f"count {value!r} is negative")
    return number


def duration_seconds(value: Any) -> int | None:
    """An ISO 8601 duration (`PT1H2M3S`) or a protobuf one (`"3723s"`) in whole seconds.

    Returns:
        The seconds, or None for a missing duration and for `P0D` (a broadcast not yet recorded).

    Raises:
        ValueError: The text is not a duration, it counts months or years, or it is longer than
            an INTEGER column holds (68 years: no video is).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"duration {value!r} is not text")
    text = value.strip()
    if text.endswith("s") and not text.startswith("P"):
        seconds = float(text[:-1])  # google.protobuf.Duration, as videos.batchGetStats sends
    else:
        try:
            parsed = isodate.parse_duration(text)
        except OverflowError:
            raise ValueError(f"duration {value!r} is longer than any video") from None
        if not isinstance(parsed, timedelta):
            raise ValueError(f"duration {value!r} counts months or years")
        seconds = parsed.total_seconds()
    if seconds < 0:
        raise ValueError(f"duration {value!r} is negative")
    if seconds > INTEGER_MAX:
        raise ValueError(f"duration {value!r} is longer than any video")
    whole = round(seconds)
    return whole or None


def flag(value: Any) -> bool | None:
    """A YouTube boolean, which some fields send as the strings "true"/"false"."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{value!r} is not a boolean")


def texts(value: Any) -> list[str]:
    """A list of strings (tags, topics), empty when absent."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    return list(value)


def _object(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} is not an object")
    return value


def _required_text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing {name}")
    return value


def is_short(duration: int | None, title: str, tags: list[str], live_state: LiveState) -> bool:
    """Whether a video is a YouTube Short by its length and its own #shorts label.

    A Short is at most 60 s long, or at most 180 s with `#shorts` in its title or a tag
    `shorts`/`#shorts` (any case); a broadcast that is upcoming or live is never one, and a
    video with no known duration is not counted as one.
    """
    if duration is None or live_state in ("upcoming", "live"):
        return False
    if duration <= SHORT_MAX_SECONDS:
        return True
    labelled = "#shorts" in title.casefold() or any(
        tag.casefold().lstrip("#") == "shorts" for tag in tags
    )
    return duration <= TAGGED_SHORT_MAX_SECONDS and labelled


class Video(Record):
    """One video as `videos.list` described it; the columns of `video_snapshots`.

    Attributes:
        video_id: YouTube's id of the video.
        title: Title in the video's default language.
        description: Description ('' when empty).
        channel_id: The uploading channel.
        channel_title: The channel's name when the answer carried it.
        published_at: When the video was published (for a premiere: when it was scheduled).
        duration_seconds: Length in seconds; None while a broadcast has none (`P0D`) or when
            contentDetails was not asked for.
        is_short: Whether it is a Short (see `is_short`).
        view_count: Views; None only when YouTube sent none.
        like_count: Likes; None when the owner hides them.
        comment_count: Comments; None when hidden or disabled.
        default_audio_language: Language of the audio track (BCP-47, e.g. "en-US").
        default_language: Language of the title and description.
        live_state: "none" (an upload), "upcoming", "live" or "ended" (a finished broadcast).
        is_premiere: True for a premiere (a recorded video broadcast at a scheduled time: it has
            a duration while upcoming or live); False for an ordinary upload and for a real
            live stream; None where the API cannot tell (a finished premiere or stream).
        scheduled_start: When the broadcast or premiere was scheduled to start.
        actual_start: When it actually started.
        actual_end: When it ended.
        concurrent_viewers: Viewers watching now, for a broadcast that is live.
        tags: The uploader's tags.
        topic_categories: Wikipedia URLs of the video's topics.
        category_id: YouTube category id (20 is Gaming).
        definition: "hd" or "sd".
        caption: Whether captions are available.
        licensed_content: Whether the video is licensed content.
        made_for_kids: Whether it is made for kids.
        has_paid_product_placement: Whether the creator declared paid product placement.
        localization_languages: Languages the title and description are translated into.
    """

    video_id: str
    title: str
    description: str
    channel_id: str
    channel_title: str | None
    published_at: AwareDatetime
    duration_seconds: Count | None
    is_short: bool
    view_count: BigCount | None
    like_count: BigCount | None
    comment_count: BigCount | None
    default_audio_language: str | None
    default_language: str | None
    live_state: LiveState
    is_premiere: bool | None
    scheduled_start: AwareDatetime | None
    actual_start: AwareDatetime | None
    actual_end: AwareDatetime | None
    concurrent_viewers: BigCount | None
    tags: list[str]
    topic_categories: list[str]
    category_id: str | None
    definition: str | None
    caption: bool | None
    licensed_content: bool | None
    made_for_kids: bool | None
    has_paid_product_placement: bool | None
    localization_languages: list[str]

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "Video":
        """Parse one `youtube#video` item.

        Raises:
            ValueError: The item lacks its id, snippet, title, channel or publish time, or a
                value cannot be read (pydantic's ValidationError is a ValueError).
        """
        video_id = _required_text(item.get("id"), "id")
        snippet = _object(item.get("snippet"), "snippet")
        if not snippet:
            raise ValueError("missing snippet")
        details = _object(item.get("contentDetails"), "contentDetails")
        stats = _object(item.get("statistics"), "statistics")
        live = item.get("liveStreamingDetails")
        live_details = _object(live, "liveStreamingDetails")
        status = _object(item.get("status"), "status")
        topics = _object(item.get("topicDetails"), "topicDetails")
        placement = _object(item.get("paidProductPlacementDetails"), "paidProductPlacement")
        localizations = _object(item.get("localizations"), "localizations")

        title = snippet.get("title")
        if not isinstance(title, str):
            raise ValueError("missing snippet.title")
        tags = or_null(texts, snippet.get("tags"), "tags") or []
        duration = or_null(duration_seconds, details.get("duration"), "duration_seconds")
        broadcast = snippet.get("liveBroadcastContent")
        live_state: LiveState
        if broadcast in ("upcoming", "live"):
            live_state = broadcast
        elif live_details.get("actualEndTime"):
            live_state = "ended"
        else:
            live_state = "none"

        is_premiere: bool | None
        if live_state == "ended":
            is_premiere = None
        elif live_state in ("upcoming", "live"):
            is_premiere = (duration is not None) if details else None
        else:
            is_premiere = False if live is None else None

        return cls(
            video_id=video_id,
            title=title,
            description=text_or_empty(snippet.get("description"), "description"),
            channel_id=_required_text(snippet.get("channelId"), "snippet.channelId"),
            channel_title=snippet.get("channelTitle"),
            published_at=snippet.get("publishedAt"),  # type: ignore[arg-type]
            duration_seconds=duration,
            is_short=is_short(duration, title, tags, live_state),
            view_count=or_null(count, stats.get("viewCount"), "view_count"),
            like_count=or_null(count, stats.get("likeCount"), "like_count"),
            comment_count=or_null(count, stats.get("commentCount"), "comment_count"),
            default_audio_language=snippet.get("defaultAudioLanguage"),
            default_language=snippet.get("defaultLanguage"),
            live_state=live_state,
            is_premiere=is_premiere,
            scheduled_start=live_details.get("scheduledStartTime"),
            actual_start=live_details.get("actualStartTime"),
            actual_end=live_details.get("actualEndTime"),
            concurrent_viewers=or_null(
                count, live_details.get("concurrentViewers"), "concurrent_viewers"
            ),
            tags=tags,
            topic_categories=or_null(texts, topics.get("topicCategories"), "topic_categories")
            or [],
            category_id=snippet.get("categoryId"),
            definition=details.get("definition"),
            caption=or_null(flag, details.get("caption"), "caption"),
            licensed_content=or_null(flag, details.get("licensedContent"), "licensed_content"),
            made_for_kids=or_null(flag, status.get("madeForKids"), "made_for_kids"),
            has_paid_product_placement=or_null(
                flag, placement.get("hasPaidProductPlacement"), "has_paid_product_placement"
            ),
            localization_languages=sorted(map(str, localizations)),
        )


class VideoStats(Record):
    """A video's counters as `videos.batchGetStats` returned them (1 unit per 50 videos).

    Attributes:
        video_id: YouTube's id of the video.
        published_at: When the video was published, if the answer said.
        duration_seconds: Length in seconds (None when unknown or 0).
        view_count: Views; None when YouTube sent none.
        like_count: Likes; None when hidden.
        comment_count: Comments; None when hidden or disabled.
    """

    video_id: str
    published_at: AwareDatetime | None
    duration_seconds: Count | None
    view_count: BigCount | None
    like_count: BigCount | None
    comment_count: BigCount | None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "VideoStats":
        """Parse one `youtube#videoStats` item (statistics, snippet.publishTime, duration)."""
        stats = _object(item.get("statistics"), "statistics")
        return cls(
            video_id=_required_text(item.get("id"), "id"),
            published_at=_object(item.get("snippet"), "snippet").get("publishTime"),
            duration_seconds=or_null(
                duration_seconds,
                _object(item.get("contentDetails"), "contentDetails").get("duration"),
                "duration_seconds",
            ),
            view_count=or_null(count, stats.get("viewCount"), "view_count"),
            like_count=or_null(count, stats.get("likeCount"), "like_count"),
            comment_count=or_null(count, stats.get("commentCount"), "comment_count"),
        )


class Channel(Record):
    """A channel as `channels.list` described it (the columns of `channel_snapshots`).

    Attributes:
        channel_id: YouTube's id of the channel.
        title: The channel's name.
        description: Its description.
        custom_url: Its handle, e.g. "@name".
        published_at: When the channel was created.
        country: Country the channel states.
        subscriber_count: Subscribers (YouTube rounds them); None when the channel hides them.
        video_count: Public videos.
        view_count: Views of all its videos.
        uploads_playlist_id: The playlist of all its uploads (for playlistItems.list).
        fetched_at: When YouTube was asked for these counts (set by the collection that paid
            for them; a cached copy keeps it). None when unknown.
    """

    channel_id: str
    title: str | None
    description: str | None
    custom_url: str | None
    published_at: AwareDatetime | None
    country: str | None
    subscriber_count: BigCount | None
    video_count: BigCount | None
    view_count: BigCount | None
    uploads_playlist_id: str | None
    fetched_at: AwareDatetime | None = None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "Channel":
        """Parse one `youtube#channel` item."""
        snippet = _object(item.get("snippet"), "snippet")
        stats = _object(item.get("statistics"), "statistics")
        related = _object(
            _object(item.get("contentDetails"), "contentDetails").get("relatedPlaylists"),
            "relatedPlaylists",
        )
        hidden = or_null(flag, stats.get("hiddenSubscriberCount"), "subscriber_count")
        return cls(
            channel_id=_required_text(item.get("id"), "id"),
            title=snippet.get("title"),
            description=snippet.get("description"),
            custom_url=snippet.get("customUrl"),
            published_at=snippet.get("publishedAt"),
            country=snippet.get("country"),
            subscriber_count=None
            if hidden
            else or_null(count, stats.get("subscriberCount"), "subscriber_count"),
            video_count=or_null(count, stats.get("videoCount"), "video_count"),
            view_count=or_null(count, stats.get("viewCount"), "view_count"),
            uploads_playlist_id=related.get("uploads"),
        )


class SearchResult(Record):
    """One video found by `search.list` (type=video): its id and snippet, no counts.

    Attributes:
        video_id: YouTube's id of the video.
        channel_id: The uploading channel.
        channel_title: The channel's name.
        title: The video's title.
        description: The start of its description.
        published_at: When it was published.
        live_broadcast_content: "none", "upcoming" or "live".
    """

    video_id: str
    channel_id: str | None
    channel_title: str | None
    title: str
    description: str
    published_at: AwareDatetime | None
    live_broadcast_content: str | None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "SearchResult":
        """Parse one `youtube#searchResult` item; results that are not videos are refused."""
        ident = _object(item.get("id"), "id")
        if ident.get("kind", "youtube#video") != "youtube#video":
            raise ValueError(f"result is a {ident.get('kind')}, not a video")
        snippet = _object(item.get("snippet"), "snippet")
        return cls(
            video_id=_required_text(ident.get("videoId"), "id.videoId"),
            channel_id=snippet.get("channelId"),
            channel_title=snippet.get("channelTitle"),
            title=text_or_empty(snippet.get("title"), "title"),
            description=text_or_empty(snippet.get("description"), "description"),
            published_at=snippet.get("publishedAt"),
            live_broadcast_content=snippet.get("liveBroadcastContent"),
        )


class PlaylistItem(Record):
    """One entry of a playlist (e.g. a channel's uploads).

    Attributes:
        video_id: The video in the playlist.
        playlist_id: The playlist.
        channel_id: The playlist owner's channel.
        title: The video's title.
        position: Zero-based position in the playlist.
        added_at: When the video was added to the playlist.
        video_published_at: When the video itself was published.
    """

    video_id: str
    playlist_id: str | None
    channel_id: str | None
    title: str | None
    position: Count | None
    added_at: AwareDatetime | None
    video_published_at: AwareDatetime | None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "PlaylistItem":
        """Parse one `youtube#playlistItem` item."""
        snippet = _object(item.get("snippet"), "snippet")
        details = _object(item.get("contentDetails"), "contentDetails")
        resource = _object(snippet.get("resourceId"), "snippet.resourceId")
        return cls(
            video_id=_required_text(
                details.get("videoId") or resource.get("videoId"), "contentDetails.videoId"
            ),
            playlist_id=snippet.get("playlistId"),
            channel_id=snippet.get("channelId"),
            title=snippet.get("title"),
            position=or_null(count, snippet.get("position"), "position"),
            added_at=snippet.get("publishedAt"),
            video_published_at=details.get("videoPublishedAt"),
        )


class VideoCategory(Record):
    """A video category of a region.

    Attributes:
        category_id: The id videos carry in `snippet.categoryId`.
        title: Its name, e.g. "Gaming".
        assignable: Whether uploaders can choose it.
        channel_id: YouTube's channel that owns the category list.
    """

    category_id: str
    title: str
    assignable: bool | None
    channel_id: str | None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> "VideoCategory":
        """Parse one `youtube#videoCategory` item."""
        snippet = _object(item.get("snippet"), "snippet")
        return cls(
            category_id=_required_text(item.get("id"), "id"),
            title=_required_text(snippet.get("title"), "snippet.title"),
            assignable=or_null(flag, snippet.get("assignable"), "assignable"),
            channel_id=snippet.get("channelId"),
        )


class Page(Record):
    """Fields every paged answer shares.

    Attributes:
        next_page_token: Token of the next page; None on the last page.
        total_results: YouTube's estimate of all results, when it gave one.
        skipped: Items of this page that could not be read (logged with the reason).
    """

    next_page_token: str | None
    total_results: int | None
    skipped: int


class VideoPage(Page):
    """One page of videos (`videos.list` by chart)."""

    items: list[Video]


class SearchPage(Page):
    """One page of `search.list` results."""

    items: list[SearchResult]


class PlaylistPage(Page):
    """One page of `playlistItems.list`."""

    items: list[PlaylistItem]


class Repair(NamedTuple):
    """An item stored with some fields cleaned or nulled (see `Record`).

    Attributes:
        method: The API method that answered it.
        item_id: The item's id (a video id for YouTube videos).
        fields: The record fields repaired.
    """

    method: str
    item_id: str
    fields: tuple[str, ...]


def item_id(item: Any) -> str:
    """An answer item's id as text safe to log: `id`, or `id.videoId` of a search result."""
    ident = item.get("id") if isinstance(item, Mapping) else None
    if isinstance(ident, Mapping):
        ident = ident.get("videoId") or ident.get("channelId")
    return storable_text(ident) if isinstance(ident, str) and ident else "?"


def parse_items(
    body: Mapping[str, Any],
    parse: Callable[[Mapping[str, Any]], T],
    *,
    method: str,
    key: str = "items",
    repairs: list[Repair] | None = None,
    rejected: list[str] | None = None,
) -> tuple[list[T], int]:
    """Parse the list of an answer field by field, rejecting (and logging) unusable items.

    Args:
        body: The answer's JSON object.
        parse: The record's `from_api`.
        method: The API method, for the log.
        key: Where the list is: "items" (YouTube) or "data" (Twitch).
        repairs: Where to add the items stored with repaired fields (also logged).
        rejected: Where to add the ids of the rejected items (also logged).

    Returns:
        The records, and how many items were rejected.

    Raises:
        ValueError: `items` is there but is not a list (the whole answer is malformed).
    """
    items = body.get(key, [])
    if not isinstance(items, list):
        raise ValueError(f"{method} answered {key!r} that is not a list")
    records: list[T] = []
    skipped = 0
    for position, item in enumerate(items):
        try:
            if not isinstance(item, Mapping):
                raise ValueError("item is not an object")
            with noting_repairs() as fields:
                records.append(parse(item))
        except (ValueError, TypeError, ValidationError, isodate.ISO8601Error) as error:
            skipped += 1
            reason = (
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                if isinstance(error, ValidationError)
                else str(error)
            )
            log.warning(
                "%s: rejected item %d (id %r) that cannot be understood: %s",
                method,
                position,
                item_id(item),
                storable_text(reason),
            )
            if rejected is not None:
                rejected.append(item_id(item))
            continue
        if fields:
            repair = Repair(method, item_id(item), tuple(fields))
            log.warning(
                "%s: repaired item %s: %s stored cleaned or as NULL",
                method,
                repair.item_id,
                ", ".join(repair.fields),
            )
            if repairs is not None:
                repairs.append(repair)
    return records, skipped


def page_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """`next_page_token` and `total_results` of a paged answer."""
    info = body.get("pageInfo")
    total = info.get("totalResults") if isinstance(info, Mapping) else None
    token = body.get("nextPageToken")
    return {
        "next_page_token": token if isinstance(token, str) and token else None,
        "total_results": total if isinstance(total, int) else None,
    }
