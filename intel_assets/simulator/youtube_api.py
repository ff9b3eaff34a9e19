"""YouTube Data API v3 methods over the simulated world, in the real JSON shapes.

Each method takes the parsed query and the simulator time and returns the response body, or
raises `ApiError` with the body YouTube would send. Keys, quota and faults are the server's
business (`server.py`); these functions only answer.
"""

import base64
import hashlib
import math
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import isodate

from intel_assets.catalog import normalize_text
from intel_assets.simulator import errors
from intel_assets.simulator.errors import ApiError, JsonBody
from intel_assets.simulator.ids import decode_page_token, encode_page_token
from intel_assets.simulator.world import (
    DAY,
    GAMING_CATEGORY_ID,
    REGION_LANGUAGES,
    Channel,
    Video,
    YouTubeWorld,
    rfc3339,
)

MAX_IDS = 50
YOUTUBE_CHANNEL_ID = "UCBR8-60-B28hp2BmDPdntcQ"
VIDEO_PARTS = frozenset(
    {
        "id", "snippet", "contentDetails", "statistics", "liveStreamingDetails", "topicDetails",
        "status", "localizations", "paidProductPlacementDetails", "player", "recordingDetails",
    }
)  # fmt: skip
STATS_PARTS = frozenset({"id", "snippet", "statistics", "contentDetails"})
CHANNEL_PARTS = frozenset(
    {"id", "snippet", "contentDetails", "statistics", "topicDetails", "status", "localizations"}
)
PLAYLIST_ITEM_PARTS = frozenset({"id", "snippet", "contentDetails", "status"})
SEARCH_PARTS = frozenset({"id", "snippet"})
CATEGORY_PARTS = frozenset({"id", "snippet"})
SEARCH_RESULT_LIMIT = 500

# videoCategories.list for the US, as the real API lists them (fixture
# videoCategories_list_US_category_id.json): id, title, assignable.
VIDEO_CATEGORIES: tuple[tuple[str, str, bool], ...] = (
    ("1", "Film & Animation", True), ("2", "Autos & Vehicles", True), ("10", "Music", True),
    ("15", "Pets & Animals", True), ("17", "Sports", True), ("18", "Short Movies", False),
    ("19", "Travel & Events", True), ("20", "Gaming", True), ("21", "Videoblogging", False),
    ("22", "People & Blogs", True), ("23", "Comedy", True), ("24", "Entertainment", True),
    ("25", "News & Politics", True), ("26", "Howto & Style", True), ("27", "Education", True),
    ("28", "Science & Technology", True), ("29", "Nonprofits & Activism", True),
    ("30", "Movies", False), ("31", "Anime/Animation", False), ("32", "Action/Adventure", False),
    ("33", "Classics", False), ("34", "Comedy", False), ("35", "Documentary", False),
    ("36", "Drama", False), ("37", "Family", False), ("38", "Foreign", False),
    ("39", "Horror", False), ("40", "Sci-Fi/Fantasy", False), ("41", "Thriller", False),
    ("42", "Shorts", False), ("43", "Shows", False), ("44", "Trailers", False),
)  # fmt: skip


class Query:
    """The query string of one request, read the way Google's front end reads it."""

    def __init__(self, raw: dict[str, list[str]]) -> None:
        self.raw = raw

    def get(self, name: str) -> str | None:
        """The parameter's value (the first, when repeated); None when absent."""
        values = self.raw.get(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        """A list parameter: repeated and comma-separated values alike, blanks dropped."""
        return [v.strip() for raw in self.raw.get(name, []) for v in raw.split(",") if v.strip()]

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """An integer parameter within `[low, high]` (400 invalidParameter otherwise)."""
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise errors.youtube_out_of_range(name, value, low, high) from None
        if not low <= number <= high:
            raise errors.youtube_out_of_range(name, value, low, high)
        return number

    def parts(self, allowed: frozenset[str]) -> list[str]:
        """The requested parts (400 when missing or unknown)."""
        parts = self.values("part")
        if not parts:
            raise errors.youtube_required("part")
        for part in parts:
            if part not in allowed:
                raise errors.google_error(
                    400, part, "unknownPart", domain="youtube.part", location="part"
                )
        return parts

    def timestamp(self, name: str) -> float | None:
        """An RFC 3339 parameter as epoch seconds (400 when malformed)."""
        value = self.get(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise errors.youtube_bad_parameter(
                f"Invalid value for {name}: {value}", "invalidParameter", name
            ) from None
        if parsed.tzinfo is None:
            raise errors.youtube_bad_parameter(
                f"{name} must be an RFC 3339 date-time with a time zone", "invalidParameter", name
            )
        return parsed.timestamp()


def etag(*parts: object) -> str:
    """A 27-character etag as the API sends them today (unquoted)."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=20).digest()
    return base64.urlsafe_b64encode(digest).decode()[:27]


def iso_duration(seconds: int) -> str:
    """`contentDetails.duration`: ISO 8601 as YouTube writes it (`PT4M13S`, `P0D`)."""
    return isodate.duration_isoformat(timedelta(seconds=seconds))


def _thumbnails(video_id: str, hd: bool, search: bool = False) -> JsonBody:
    base = f"https://i.ytimg.com/vi/{video_id}"
    sizes = [("default", 120, 90), ("medium", 320, 180), ("high", 480, 360)]
    file = {"default": "default", "medium": "mqdefault", "high": "hqdefault"}
    if not search:
        sizes.append(("standard", 640, 480))
        file["standard"] = "sddefault"
        if hd:
            sizes.append(("maxres", 1280, 720))
            file["maxres"] = "maxresdefault"
    return {
        name: {"url": f"{base}/{file[name]}.jpg", "width": w, "height": h} for name, w, h in sizes
    }


def _page(query: Query, total: int, default_size: int, low: int) -> tuple[int, int, dict[str, str]]:
    """Offset and size of the requested page, and the page tokens of the answer."""
    size = query.integer("maxResults", default_size, low, 50)
    offset = 0
    token = query.get("pageToken")
    if token:
        decoded = decode_page_token(token)
        if decoded is None:
            raise errors.youtube_bad_parameter(
                "The request specifies an invalid page token.", "invalidPageToken", "pageToken"
            )
        offset, backwards = decoded
        if backwards:
            offset = max(0, offset - size)
    tokens: dict[str, str] = {}
    if offset + size < total:
        tokens["nextPageToken"] = encode_page_token(offset + size)
    if offset > 0:
        tokens["prevPageToken"] = encode_page_token(offset, backwards=True)
    return offset, size, tokens


class YouTubeApi:
    """The YouTube methods over one world."""

    def __init__(self, world: YouTubeWorld) -> None:
        self.world = world
        self.methods: dict[str, Callable[[Query, float], JsonBody]] = {
            "videos.list": self.videos_list,
            "videos.batchGetStats": self.videos_batch_get_stats,
            "search.list": self.search_list,
            "channels.list": self.channels_list,
            "playlistItems.list": self.playlist_items_list,
            "videoCategories.list": self.video_categories_list,
        }

    # ----- resources ------------------------------------------------------------------------

    def video_resource(
        self, video: Video, parts: Iterable[str], at: float, hl: str | None = None
    ) -> JsonBody:
        """A `youtube#video` with the requested parts as they are at `at`."""
        world = self.world
        item: JsonBody = {
            "kind": "youtube#video",
            "etag": etag(video.video_id, int(at)),
            "id": video.video_id,
        }
        state = video.state_at(at)
        for part in parts:
            if part == "snippet":
                words = world.text_of(video.video_id)
                snippet = self._snippet_head(video)
                if words.tags:
                    snippet["tags"] = list(words.tags)
                snippet["categoryId"] = GAMING_CATEGORY_ID
                snippet["liveBroadcastContent"] = state
                if video.default_language is not None:
                    snippet["defaultLanguage"] = video.default_language
                title, description = words.localizations.get(
                    hl or "", (words.title, words.description)
                )
                snippet["localized"] = {"title": title, "description": description}
                if video.audio_language is not None:
                    snippet["defaultAudioLanguage"] = video.audio_language
                item["snippet"] = snippet
            elif part == "contentDetails":
                streaming = video.live_kind == "live" and state != "none"
                item["contentDetails"] = {
                    "duration": "P0D" if streaming else iso_duration(video.duration_seconds),
                    "dimension": "2d",
                    "definition": "hd" if video.hd else "sd",
                    "caption": "true" if video.caption else "false",
                    "licensedContent": video.licensed,
                    "projection": "rectangular",
                }
            elif part == "statistics":
                item["statistics"] = self._statistics(video, at, favorites=True)
            elif part == "liveStreamingDetails" and video.live_kind != "none":
                item["liveStreamingDetails"] = self._live_details(video, at, state)
            elif part == "topicDetails" and video.seq % 13 != 0:
                topics = world.profile(video.pool).topics
                item["topicDetails"] = {
                    "topicCategories": [f"https://en.wikipedia.org/wiki/{t}" for t in topics]
                }
            elif part == "status":
                item["status"] = {
                    "uploadStatus": "processed" if state != "upcoming" else "uploaded",
                    "privacyStatus": "public",
                    "license": "youtube",
                    "embeddable": True,
                    "publicStatsViewable": True,
                    "madeForKids": video.made_for_kids,
                }
            elif part == "localizations":
                localizations = world.text_of(video.video_id).localizations
                if localizations:
                    item["localizations"] = {
                        lang: {"title": t, "description": d}
                        for lang, (t, d) in localizations.items()
                    }
            elif part == "paidProductPlacementDetails":
                item["paidProductPlacementDetails"] = {
                    "hasPaidProductPlacement": video.paid_placement
                }
            elif part == "player":
                item["player"] = {
                    "embedHtml": f'<iframe width="480" height="270" '
                    f'src="//www.youtube.com/embed/{video.video_id}" frameborder="0" '
                    'allow="accelerometer; autoplay; clipboard-write; encrypted-media; '
                    'gyroscope; picture-in-picture; web-share" '
                    'referrerpolicy="strict-origin-when-cross-origin" allowfullscreen></iframe>'
                }
            elif part == "recordingDetails":
                item["recordingDetails"] = {}
        return item

    def _snippet_head(self, video: Video) -> JsonBody:
        """The snippet fields a video and its playlist item share."""
        words = self.world.text_of(video.video_id)
        channel = self.world.channels[video.channel]
        return {
            "publishedAt": rfc3339(video.published_at),
            "channelId": channel.channel_id,
            "title": words.title,
            "description": words.description,
            "thumbnails": _thumbnails(video.video_id, video.hd),
            "channelTitle": channel.title,
        }

    @staticmethod
    def _statistics(video: Video, at: float, favorites: bool) -> JsonBody:
        stats: JsonBody = {"viewCount": str(video.views_at(at))}
        likes = video.likes_at(at)
        if likes is not None:
            stats["likeCount"] = str(likes)
        if favorites:
            stats["favoriteCount"] = "0"
        comments = video.comments_at(at)
        if comments is not None:
            stats["commentCount"] = str(comments)
        return stats

    @staticmethod
    def _live_details(video: Video, at: float, state: str) -> JsonBody:
        details: JsonBody = {}
        if state != "upcoming" and video.actual_start is not None:
            details["actualStartTime"] = rfc3339(video.actual_start)
        if state == "none" and video.actual_end is not None:
            details["actualEndTime"] = rfc3339(video.actual_end)
        if video.scheduled_start is not None:
            details["scheduledStartTime"] = rfc3339(video.scheduled_start)
        viewers = video.concurrent_viewers_at(at)
        if viewers is not None:
            details["concurrentViewers"] = str(viewers)
            details["activeLiveChatId"] = "Cg0KC" + video.video_id
        return details

    def _published(self, ids: Iterable[str], at: float) -> list[Video]:
        seen: set[str] = set()
        out = []
        for video_id in ids:
            if video_id in seen:
                continue
            seen.add(video_id)
            video = self.world.video(video_id)
            if video is not None and video.exists_at(at):
                out.append(video)
        return out

    # ----- methods --------------------------------------------------------------------------

    def videos_list(self, query: Query, at: float) -> JsonBody:
        """videos.list by `id` (<= 50, no maxResults) or `chart=mostPopular` (paged)."""
        parts = query.parts(VIDEO_PARTS)
        filters = [name for name in ("chart", "id", "myRating") if query.get(name) is not None]
        if not filters:
            raise errors.youtube_bad_parameter(
                "No filter selected. Expected one of: chart, id, myRating",
                "missingRequiredParameter",
                "parameters.",
            )
        if len(filters) > 1:
            raise errors.youtube_bad_parameter(
                f"Incompatible parameters specified in the request: {', '.join(filters)}",
                "incompatibleParameters",
                "parameters.",
            )
        hl = query.get("hl")
        body: JsonBody = {"kind": "youtube#videoListResponse", "etag": ""}
        if filters[0] == "myRating":
            raise errors.google_error(
                401,
                "Login Required.",
                "required",
                location="Authorization",
                location_type="header",
                status="UNAUTHENTICATED",
            )
        if filters[0] == "id":
            ids = query.values("id")
            if len(ids) > MAX_IDS or query.get("maxResults") is not None:
                raise errors.youtube_invalid_filters()
            videos = self._published(ids, at)
            body["items"] = [self.video_resource(v, parts, at, hl) for v in videos]
            body["pageInfo"] = {"totalResults": len(videos), "resultsPerPage": len(videos)}
            body["etag"] = etag("videos", ",".join(ids), int(at))
            return body
        if query.get("chart") != "mostPopular":
            raise errors.youtube_bad_parameter(
                f"Invalid value '{query.get('chart')}'. Allowed values: [mostPopular]",
                "invalidChart",
                "chart",
            )
        category = query.get("videoCategoryId") or "0"
        if category not in ("0", GAMING_CATEGORY_ID):
            raise errors.google_error(
                400,
                "The requested video chart is not supported or is not available.",
                "videoChartNotFound",
                domain="youtube.video",
                location="chart",
                location_type="parameter",
            )
        region = (query.get("regionCode") or "US").upper()
        chart = self.world.chart(region, at)
        offset, size, tokens = _page(query, len(chart), default_size=5, low=1)
        body["etag"] = etag("chart", region, offset, size, int(at))
        body.update(tokens)
        body["items"] = [
            self.video_resource(v, parts, at, hl) for v in chart[offset : offset + size]
        ]
        body["pageInfo"] = {"totalResults": len(chart), "resultsPerPage": size}
        return body

    def videos_batch_get_stats(self, query: Query, at: float) -> JsonBody:
        """videos.batchGetStats: statistics, publish time and duration of up to 50 ids."""
        parts = query.parts(STATS_PARTS)
        ids = query.values("id")
        if not ids:
            raise errors.youtube_required("id")
        if len(ids) > MAX_IDS:
            raise errors.google_error(
                400,
                "The number of IDs specified cannot exceed 50.",
                "badRequest",
                status="INVALID_ARGUMENT",
            )
        items = []
        for video in self._published(ids, at):
            item: JsonBody = {
                "kind": "youtube#videoStats",
                "etag": etag("stats", video.video_id, int(at)),
                "id": video.video_id,
            }
            for part in parts:
                if part == "snippet":
                    item["snippet"] = {"publishTime": rfc3339(video.published_at)}
                elif part == "statistics":
                    item["statistics"] = self._statistics(video, at, favorites=False)
                elif part == "contentDetails":
                    streaming = video.live_kind == "live" and video.state_at(at) != "none"
                    # google.protobuf.Duration in JSON: seconds with an `s` suffix.
                    item["contentDetails"] = {
                        "duration": "0s" if streaming else f"{video.duration_seconds}s"
                    }
            items.append(item)
        return {
            "kind": "youtube#batchGetStatsResponse",
            "etag": etag("batch", ",".join(ids), int(at)),
            "items": items,
        }

    def search_list(self, query: Query, at: float) -> JsonBody:
        """search.list over videos (the only resource type the world has)."""
        parts = query.parts(SEARCH_PARTS)
        types = query.values("type") or ["video", "channel", "playlist"]
        video_filters = [
            name
            for name in ("videoDuration", "eventType", "videoCategoryId", "videoDefinition")
            if query.get(name) is not None
        ]
        if video_filters and types != ["video"]:
            raise errors.youtube_bad_parameter(
                "The request contains an invalid combination of search filters and/or "
                "restrictions. Note that you must set the type parameter to video if you set a "
                "value for the eventType, videoCaption, videoCategoryId, videoDefinition, "
                "videoDimension, videoDuration, videoEmbeddable, videoLicense, videoSyndicated, "
                "or videoType parameters.",
                "invalidSearchFilter",
                "parameters.",
            )
        order = query.get("order") or "relevance"
        if order not in ("date", "rating", "relevance", "title", "videoCount", "viewCount"):
            raise errors.youtube_bad_parameter(
                f"Invalid value '{order}' for order", "invalidParameter", "order"
            )
        after = query.timestamp("publishedAfter")
        before = query.timestamp("publishedBefore")
        region = (query.get("regionCode") or "US").upper()
        results = self._search(query, at, order, after, before, region) if "video" in types else []
        offset, size, tokens = _page(query, len(results), default_size=5, low=0)
        items = []
        for video in results[offset : offset + size]:
            item: JsonBody = {
                "kind": "youtube#searchResult",
                "etag": etag("search", video.video_id, int(at)),
                "id": {"kind": "youtube#video", "videoId": video.video_id},
            }
            if "snippet" in parts:
                words = self.world.text_of(video.video_id)
                channel = self.world.channels[video.channel]
                item["snippet"] = {
                    "publishedAt": rfc3339(video.published_at),
                    "channelId": channel.channel_id,
                    "title": _html_escape(words.title),
                    "description": _html_escape(words.description.replace("\n", " ")[:160]),
                    "thumbnails": _thumbnails(video.video_id, video.hd, search=True),
                    "channelTitle": _html_escape(channel.title),
                    "liveBroadcastContent": video.state_at(at),
                    "publishTime": rfc3339(video.published_at),
                }
            items.append(item)
        body: JsonBody = {
            "kind": "youtube#searchListResponse",
            "etag": etag("search", query.get("q"), order, offset, size, int(at)),
        }
        body.update(tokens)
        body["regionCode"] = region
        body["pageInfo"] = {"totalResults": len(results), "resultsPerPage": size}
        body["items"] = items
        return body

    def _search(
        self,
        query: Query,
        at: float,
        order: str,
        after: float | None,
        before: float | None,
        region: str,
    ) -> list[Video]:
        world = self.world
        start = max(
            after if after is not None else at - world.config.search_window_days * DAY,
            at - 30 * DAY,
        )
        end = min(before if before is not None else at + 1, at + 1)
        candidates = world.videos_between(start, end)
        q = normalize_text(query.get("q") or "")
        games = set(world.catalog.games_of(q)) if q else set()
        if games:
            candidates = [v for v in candidates if games.intersection(v.mentioned_games)]
        elif q:
            words = q.split()
            candidates = [v for v in candidates if _text_has_words(world, v, words)]
        duration = query.get("videoDuration") or "any"
        if duration != "any":
            bounds = {"short": (0, 240), "medium": (240, 1200), "long": (1200, 10**9)}
            if duration not in bounds:
                raise errors.youtube_bad_parameter(
                    f"Invalid value '{duration}' for videoDuration",
                    "invalidParameter",
                    "videoDuration",
                )
            low, high = bounds[duration]
            candidates = [v for v in candidates if low <= v.duration_seconds < high]
        event = query.get("eventType")
        if event is not None:
            wanted = {"live": "live", "upcoming": "upcoming", "completed": "none"}.get(event)
            candidates = [
                v for v in candidates if v.live_kind != "none" and v.state_at(at) == wanted
            ]
        category = query.get("videoCategoryId")
        if category is not None and category != GAMING_CATEGORY_ID:
            candidates = []
        channel_id = query.get("channelId")
        if channel_id is not None:
            channel = world.channel(channel_id)
            candidates = [
                v for v in candidates if channel is not None and v.channel == channel.index
            ]
        language = query.get("relevanceLanguage")
        preference = REGION_LANGUAGES.get(region, {"en": 1.0})

        def relevance(video: Video) -> float:
            score = math.log1p(video.views_at(at)) + 4.0 * preference.get(video.language, 0.0)
            if language is not None and video.language == language.split("-")[0]:
                score += 6.0
            return score - (at - video.published_at) / DAY

        ranking: dict[str, Callable[[Video], Any]] = {
            "date": lambda v: -v.published_at,
            "viewCount": lambda v: -v.views_at(at),
            "rating": lambda v: -(v.likes_at(at) or 0),
            "title": lambda v: world.text_of(v.video_id).title.casefold(),
            "relevance": lambda v: -relevance(v),
            "videoCount": lambda v: -relevance(v),
        }
        key = ranking[order]
        candidates.sort(key=lambda v: (key(v), v.video_id))
        return candidates[:SEARCH_RESULT_LIMIT]

    def channels_list(self, query: Query, at: float) -> JsonBody:
        """channels.list by `id` (<= 50) or `forHandle`."""
        parts = query.parts(CHANNEL_PARTS)
        ids = query.values("id")
        handle = query.get("forHandle")
        if not ids and handle is None:
            raise errors.youtube_bad_parameter(
                "No filter selected. Expected one of: mySubscribers, forHandle, managedByMe, "
                "categoryId, forUsername, mine, id",
                "missingRequiredParameter",
                "parameters.",
            )
        if len(ids) > MAX_IDS:
            raise errors.youtube_invalid_filters()
        channels: list[Channel] = []
        if ids:
            for channel_id in dict.fromkeys(ids):
                channel = self.world.channel(channel_id)
                if channel is not None and channel.created_at <= at:
                    channels.append(channel)
        elif handle is not None:
            wanted = handle if handle.startswith("@") else "@" + handle
            channels = [c for c in self.world.channels if c.handle.casefold() == wanted.casefold()]
        size = query.integer("maxResults", 5, 0, 50)
        body: JsonBody = {
            "kind": "youtube#channelListResponse",
            "etag": etag("channels", ",".join(ids), handle, int(at)),
            "pageInfo": {"totalResults": len(channels), "resultsPerPage": size},
        }
        # The real API leaves `items` out altogether when nothing matched.
        if channels:
            body["items"] = [self._channel_resource(c, parts, at) for c in channels]
        return body

    def _channel_resource(self, channel: Channel, parts: Iterable[str], at: float) -> JsonBody:
        item: JsonBody = {
            "kind": "youtube#channel",
            "etag": etag(channel.channel_id, int(at)),
            "id": channel.channel_id,
        }
        age_days = max(1.0, (at - channel.created_at) / DAY)
        for part in parts:
            if part == "snippet":
                description = f"{channel.title}: gaming videos every week."
                item["snippet"] = {
                    "title": channel.title,
                    "description": description,
                    "customUrl": channel.handle.lower(),
                    "publishedAt": rfc3339(channel.created_at),
                    "thumbnails": {
                        name: {
                            "url": f"https://yt3.ggpht.com/{channel.channel_id}=s{size}",
                            "width": size,
                            "height": size,
                        }
                        for name, size in (("default", 88), ("medium", 240), ("high", 800))
                    },
                    "localized": {"title": channel.title, "description": description},
                    "country": channel.country,
                }
            elif part == "contentDetails":
                item["contentDetails"] = {
                    "relatedPlaylists": {"likes": "", "uploads": channel.uploads_playlist_id}
                }
            elif part == "statistics":
                stats: JsonBody = {
                    "viewCount": str(
                        int(channel.subscribers * 150 * min(age_days, 3650) / 365 + 100)
                    )
                }
                if not channel.hidden_subscribers:
                    shown = _three_significant(channel.subscribers_at(at))
                    stats["subscriberCount"] = str(shown)
                stats["hiddenSubscriberCount"] = channel.hidden_subscribers
                stats["videoCount"] = str(
                    int(10 + age_days * (0.2 + channel.subscribers**0.15 / 20))
                )
                item["statistics"] = stats
            elif part == "topicDetails":
                item["topicDetails"] = {
                    "topicIds": ["/m/0bzvm2", "/m/025zzc"],
                    "topicCategories": ["https://en.wikipedia.org/wiki/Video_game_culture"],
                }
            elif part == "status":
                item["status"] = {
                    "privacyStatus": "public",
                    "isLinked": True,
                    "longUploadsStatus": "longUploadsUnspecified",
                    "madeForKids": False,
                }
        return item

    def playlist_items_list(self, query: Query, at: float) -> JsonBody:
        """playlistItems.list of a channel's uploads playlist, newest first."""
        parts = query.parts(PLAYLIST_ITEM_PARTS)
        playlist_id = query.get("playlistId")
        if playlist_id is None and query.get("id") is None:
            raise errors.youtube_bad_parameter(
                "No filter selected. Expected one of: playlistId, id",
                "missingRequiredParameter",
                "parameters.",
            )
        channel = (
            self.world.channel("UC" + playlist_id[2:])
            if playlist_id is not None and playlist_id.startswith("UU")
            else None
        )
        if channel is None or playlist_id is None:
            raise errors.google_error(
                404,
                "The playlist identified with the request's <code>playlistId</code> parameter "
                "cannot be found.",
                "playlistNotFound",
                domain="youtube.playlistItem",
                location="playlistId",
                location_type="parameter",
            )
        uploads = self.world.channel_uploads(channel.index, at)
        offset, size, tokens = _page(query, len(uploads), default_size=5, low=0)
        items = []
        for position, video in enumerate(uploads[offset : offset + size], start=offset):
            item: JsonBody = {
                "kind": "youtube#playlistItem",
                "etag": etag("pli", video.video_id, int(at)),
                "id": base64.b64encode(f"{playlist_id}.{video.video_id}".encode())
                .decode()
                .rstrip("="),
            }
            for part in parts:
                if part == "snippet":
                    item["snippet"] = {
                        **self._snippet_head(video),
                        "playlistId": playlist_id,
                        "position": position,
                        "resourceId": {"kind": "youtube#video", "videoId": video.video_id},
                        "videoOwnerChannelTitle": channel.title,
                        "videoOwnerChannelId": channel.channel_id,
                    }
                elif part == "contentDetails":
                    item["contentDetails"] = {
                        "videoId": video.video_id,
                        "videoPublishedAt": rfc3339(video.published_at),
                    }
                elif part == "status":
                    item["status"] = {"privacyStatus": "public"}
            items.append(item)
        body: JsonBody = {
            "kind": "youtube#playlistItemListResponse",
            "etag": etag("playlist", playlist_id, offset, size, int(at)),
        }
        body.update(tokens)
        body["items"] = items
        body["pageInfo"] = {"totalResults": len(uploads), "resultsPerPage": size}
        return body

    def video_categories_list(self, query: Query, at: float) -> JsonBody:
        """videoCategories.list by `regionCode` or `id`."""
        query.parts(CATEGORY_PARTS)
        ids = query.values("id")
        if not ids and query.get("regionCode") is None:
            raise errors.youtube_bad_parameter(
                "No filter selected. Expected one of: id, regionCode",
                "missingRequiredParameter",
                "parameters.",
            )
        wanted = set(ids)
        region = query.get("regionCode") or ""
        return {
            "kind": "youtube#videoCategoryListResponse",
            "etag": etag("categories", region, ",".join(ids)),
            "items": [
                {
                    "kind": "youtube#videoCategory",
                    "etag": etag("category", category_id, region),
                    "id": category_id,
                    "snippet": {
                        "title": title,
                        "assignable": assignable,
                        "channelId": YOUTUBE_CHANNEL_ID,
                    },
                }
                for category_id, title, assignable in VIDEO_CATEGORIES
                if not wanted or category_id in wanted
            ],
        }


def _three_significant(count: int) -> int:
    """A subscriber count as the API shows it: rounded down to three significant figures."""
    if count < 1000:
        return count
    scale = 10 ** (len(str(count)) - 3)
    return count // scale * scale


def _html_escape(value: str) -> str:
    """Escape as search.list does in snippets (`&#39;` for an apostrophe)."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _text_has_words(world: YouTubeWorld, video: Video, words: list[str]) -> bool:
    words_text = world.text_of(video.video_id)
    searchable = " ".join([words_text.title, *words_text.tags, words_text.description])
    haystack = f" {normalize_text(searchable)} "
    return all(f" {w} " in haystack for w in words)


__all__ = ["ApiError", "Query", "YouTubeApi"]
