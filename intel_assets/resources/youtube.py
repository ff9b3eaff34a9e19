"""The YouTube Data API v3 resource: typed reads, each unit reserved in the shared ledger first.

`YouTubeResource` is the Dagster resource (configuration, shared HTTP pool); `client(game_key=,
run_id=)` gives a `YouTubeClient` for one piece of work, whose spends are logged with that game
and run. Every method is one or more API calls; every call goes through the breaker, every
attempt reserves its cost in the quota ledger before it is sent (refunded when the API did not
charge it: quotaExceeded, an invalid key, a connection that never opened), so the ledger's units
equal what Google counts.

The key travels in the `X-Goog-Api-Key` header, never in the URL, so it cannot appear in a
logged URL or an httpx error.

Use it as a context manager (or call `close()`), so the client's spends are written to
`intel_quota_log`; the resource's teardown closes any client left open.
"""

import html
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import Field

from intel_assets.catalog import GAMING_CATEGORY
from intel_assets.resources.errors import (
    ApiError,
    ConfigurationError,
    QuotaExceededError,
    RequestRejectedError,
    redact,
)
from intel_assets.resources.http import (
    ApiCaller,
    ApiClient,
    ApiResource,
    RetryableFailure,
    json_object,
    rate_limited,
    retry_after_seconds,
    server_error,
)
from intel_assets.resources.quota import BucketSpec, QuotaLedger
from intel_assets.resources.youtube_models import (
    Channel,
    PlaylistItem,
    PlaylistPage,
    SearchPage,
    SearchResult,
    Video,
    VideoCategory,
    VideoPage,
    VideoStats,
    page_fields,
)
from intel_assets.settings import DEFAULT_YOUTUBE_API_URL

log = logging.getLogger(__name__)

API = "youtube"
API_KEY_VARIABLE = "YOUTUBE_API_KEY"
MAX_IDS_PER_CALL = 50
MAX_RESULTS = 50

DEFAULT_VIDEO_PARTS: tuple[str, ...] = (
    "snippet",
    "contentDetails",
    "statistics",
    "liveStreamingDetails",
    "topicDetails",
    "status",
    "localizations",
    "paidProductPlacementDetails",
)
CHANNEL_PARTS: tuple[str, ...] = ("snippet", "statistics", "contentDetails")
BATCH_STATS_PARTS: tuple[str, ...] = ("snippet", "statistics", "contentDetails")

# Google's allocation as of the discovery revision in ../shared/fixtures/real (PROVENANCE.md).
DEFAULT_QUOTA_LIMITS: dict[str, int] = {"default": 10_000, "search": 100, "batch_stats": 10_000}
DEFAULT_METHOD_BUCKETS: dict[str, str] = {
    "videos.list": "default",
    "channels.list": "default",
    "playlistItems.list": "default",
    "videoCategories.list": "default",
    "search.list": "search",
    "videos.batchGetStats": "batch_stats",
}
DEFAULT_METHOD_COSTS: dict[str, int] = dict.fromkeys(DEFAULT_METHOD_BUCKETS, 1)

_PATHS = {
    "videos.list": "/videos",
    "videos.batchGetStats": "/videos:batchGetStats",
    "search.list": "/search",
    "channels.list": "/channels",
    "playlistItems.list": "/playlistItems",
    "videoCategories.list": "/videoCategories",
}

# Reasons (errors[].reason or details[].reason) and what they mean for us.
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
KEY_REASONS = frozenset(
    {
        "keyInvalid",
        "keyExpired",
        "API_KEY_INVALID",
        "API_KEY_EXPIRED",
        "accessNotConfigured",
        "SERVICE_DISABLED",
        "ipRefererBlocked",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "API_KEY_IP_ADDRESS_BLOCKED",
    }
)

T = TypeVar("T")
_TAG = re.compile(r"<[^>]+>")


def error_reasons(body: Any) -> tuple[tuple[str, ...], str, str | None]:
    """The reasons, message and gRPC status of a Google error body (both shapes).

    The legacy shape lists `error.errors[].reason` (`keyInvalid`, `quotaExceeded`); today's
    adds `error.status` (`PERMISSION_DENIED`) and `error.details[].reason` (`API_KEY_INVALID`).
    """
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return (), "", None
    reasons: list[str] = []
    for list_name in ("errors", "details"):
        entries = error.get(list_name)
        if isinstance(entries, list):
            reasons.extend(
                str(entry["reason"])
                for entry in entries
                if isinstance(entry, Mapping) and entry.get("reason")
            )
    message = error.get("message")
    status = error.get("status")
    return (
        tuple(reasons),
        str(message) if message else "",
        str(status) if status else None,
    )


def youtube_error(
    status: int,
    body: Any,
    *,
    method: str,
    bucket: str,
    reset_at: datetime,
    retry_after: float | None = None,
    secrets: Sequence[str] = (),
) -> ApiError | RetryableFailure:
    """What an error answer of the YouTube API means for the call.

    Args:
        status: The HTTP status.
        body: The answer's parsed JSON (anything else counts as no body).
        method: The API method called.
        bucket: The quota bucket the call spent from.
        reset_at: When that bucket resets (for quotaExceeded).
        retry_after: The Retry-After header's wait, if any.
        secrets: Values to hide should the API quote them back.

    Returns:
        A final error (`QuotaExceededError`, `ConfigurationError`, `RequestRejectedError`), or a
        `RetryableFailure` for 429/rate limits and 5xx.
    """
    reasons, message, grpc_status = error_reasons(body)
    said = redact(html.unescape(_TAG.sub("", message)), secrets)[:300]
    why = f"{status} {'/'.join(reasons) or grpc_status or 'error'}" + (f": {said}" if said else "")
    reason_set = set(reasons)
    if reason_set & QUOTA_REASONS:
        return QuotaExceededError(
            f"YouTube {method}: quota exceeded ({why}); bucket {bucket!r} is closed until "
            f"{reset_at.isoformat()}",
            api=API,
            method=method,
            status=status,
            bucket=bucket,
            reset_at=reset_at,
            reason="closed",
        )
    if reason_set & KEY_REASONS or (status in (401, 403) and grpc_status == "PERMISSION_DENIED"):
        return ConfigurationError(
            f"YouTube rejected the API key in {API_KEY_VARIABLE} ({why}); set "
            f"{API_KEY_VARIABLE} to a valid key with the YouTube Data API v3 enabled",
            api=API,
            variables=(API_KEY_VARIABLE,),
            method=method,
            status=status,
        )
    if status == 429 or reason_set & RATE_REASONS:
        return rate_limited(API, method, status, retry_after)
    if status >= 500:
        return server_error(API, method, status, retry_after)
    return RequestRejectedError(
        f"YouTube {method} rejected the request ({why})",
        api=API,
        method=method,
        status=status,
        reason=reasons[0] if reasons else grpc_status,
    )


def _chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def _check_ids(ids: Sequence[str], method: str) -> list[str]:
    if isinstance(ids, str):
        raise TypeError(f"{method} takes a sequence of ids, not one string")
    id_list = list(ids)
    if len(id_list) > MAX_IDS_PER_CALL:
        raise ValueError(
            f"{method} takes at most {MAX_IDS_PER_CALL} ids per call, got {len(id_list)}; "
            "use the *_many method to batch them"
        )
    return id_list


class YouTubeClient(ApiClient):
    """YouTube reads for one piece of work (a game's collection in a run).

    Created by `YouTubeResource.client`; holds no connection of its own. `calls`, `skipped`
    and `units_spent()` describe what it did, for asset metadata.
    """

    api = API

    def __init__(
        self,
        *,
        caller: ApiCaller,
        ledger: QuotaLedger,
        api_key: str,
        method_buckets: Mapping[str, str],
        method_costs: Mapping[str, int],
        game_key: str | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(caller=caller, ledger=ledger, game_key=game_key, run_id=run_id)
        self._api_key = api_key
        self._method_buckets = dict(method_buckets)
        self._method_costs = dict(method_costs)

    def units_spent(self) -> dict[str, int]:
        """Units this client spent per bucket (refunds deducted)."""
        return {bucket: units for bucket, units in self._ledger.spent.items() if units}

    def _get(self, method: str, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        try:
            bucket = self._method_buckets[method]
        except KeyError:
            raise ValueError(f"no quota bucket configured for {method}") from None
        cost = self._method_costs.get(method, 1)
        path = _PATHS[method]

        def attempt(number: int) -> dict[str, Any]:
            reservation = self._ledger.reserve(
                bucket,
                method,
                cost,
                game_key=self.game_key,
                run_id=self.run_id,
                metadata={"attempt": number},
            )
            request = self._caller.http.build_request(
                "GET", path, params=list(params), headers={"X-Goog-Api-Key": self._api_key}
            )
            try:
                response = self._caller.send(method, request)
            except RetryableFailure as failure:
                if not failure.reached_api:
                    self._ledger.refund(reservation, reason="connection failed")
                raise
            if response.is_success:
                return json_object(response, api=API, method=method)
            body: Any = None
            with suppress(ValueError):
                body = response.json()
            outcome = youtube_error(
                response.status_code,
                body,
                method=method,
                bucket=bucket,
                reset_at=reservation.reset_at,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                secrets=(self._api_key,),
            )
            if isinstance(outcome, QuotaExceededError):
                # Google does not charge a refused call; the bucket is spent for today.
                self._ledger.refund(reservation, reason="quotaExceeded")
                self._ledger.close_bucket(bucket, reservation=reservation)
            elif isinstance(outcome, ConfigurationError):
                self._ledger.refund(reservation, reason="key rejected")
            raise outcome

        self.calls[method] += 1
        return self._caller.call(method, attempt)

    def chart_page(
        self,
        *,
        region_code: str,
        video_category_id: str | None = GAMING_CATEGORY,
        parts: Sequence[str] = DEFAULT_VIDEO_PARTS,
        page_token: str | None = None,
        max_results: int = MAX_RESULTS,
    ) -> VideoPage:
        """One page of the `mostPopular` chart of a region (and category).

        Args:
            region_code: ISO 3166-1 alpha-2 region, e.g. "US".
            video_category_id: Category of the chart ("20" is Gaming); None for all.
            parts: The parts to ask for.
            page_token: The previous page's `next_page_token`; None for the first page.
            max_results: Items per page, 1..50.
        """
        params = [
            ("part", ",".join(parts)),
            ("chart", "mostPopular"),
            ("regionCode", region_code),
            ("maxResults", str(max(1, min(max_results, MAX_RESULTS)))),
        ]
        if video_category_id is not None:
            params.append(("videoCategoryId", video_category_id))
        if page_token:
            params.append(("pageToken", page_token))
        body = self._get("videos.list", params)
        items, skipped = self._parse(body, Video.from_api, "videos.list")
        return VideoPage(items=items, skipped=skipped, **page_fields(body))

    def chart(
        self,
        *,
        region_code: str,
        video_category_id: str | None = GAMING_CATEGORY,
        parts: Sequence[str] = DEFAULT_VIDEO_PARTS,
        max_pages: int | None = None,
    ) -> list[Video]:
        """The whole `mostPopular` chart of a region, page after page to its end (about 200).

        A video that reappears on a later page (the chart moved while paging) is kept once.

        Args:
            region_code: ISO 3166-1 alpha-2 region.
            video_category_id: Category of the chart ("20" is Gaming); None for all.
            parts: The parts to ask for.
            max_pages: Stop after this many pages (None: to the end).
        """
        videos: dict[str, Video] = {}
        token: str | None = None
        seen_tokens: set[str] = set()
        pages = 0
        while True:
            page = self.chart_page(
                region_code=region_code,
                video_category_id=video_category_id,
                parts=parts,
                page_token=token,
            )
            pages += 1
            for video in page.items:
                videos.setdefault(video.video_id, video)
            token = page.next_page_token
            if token is None or token in seen_tokens or not page.items:
                break
            if max_pages is not None and pages >= max_pages:
                break
            seen_tokens.add(token)
        return list(videos.values())

    def videos(self, ids: Sequence[str], parts: Sequence[str] = DEFAULT_VIDEO_PARTS) -> list[Video]:
        """The videos with these ids (at most 50: one call); ids YouTube does not know are absent.

        Raises:
            ValueError: More than 50 ids (before any call).
        """
        id_list = _check_ids(ids, "videos.list")
        if not id_list:
            return []
        body = self._get("videos.list", [("part", ",".join(parts)), ("id", ",".join(id_list))])
        return self._parse(body, Video.from_api, "videos.list")[0]

    def videos_many(
        self, ids: Sequence[str], parts: Sequence[str] = DEFAULT_VIDEO_PARTS
    ) -> list[Video]:
        """The videos with these ids, any number, 50 per call (duplicate ids asked once)."""
        return [
            video for chunk in _chunks(ids, MAX_IDS_PER_CALL) for video in self.videos(chunk, parts)
        ]

    def batch_stats(self, ids: Sequence[str]) -> list[VideoStats]:
        """Counters, publish time and duration of up to 50 videos (`videos.batchGetStats`).

        Raises:
            ValueError: More than 50 ids (before any call).
        """
        id_list = _check_ids(ids, "videos.batchGetStats")
        if not id_list:
            return []
        # `id` is a repeated parameter in Google's description of this method.
        params = [("part", ",".join(BATCH_STATS_PARTS))] + [("id", vid) for vid in id_list]
        body = self._get("videos.batchGetStats", params)
        return self._parse(body, VideoStats.from_api, "videos.batchGetStats")[0]

    def batch_stats_many(self, ids: Sequence[str]) -> list[VideoStats]:
        """Counters of any number of videos, 50 per call (duplicate ids asked once)."""
        return [
            stat for chunk in _chunks(ids, MAX_IDS_PER_CALL) for stat in self.batch_stats(chunk)
        ]

    def search(
        self,
        *,
        q: str,
        order: str = "date",
        published_after: datetime | None = None,
        region_code: str | None = None,
        relevance_language: str | None = None,
        video_duration: str | None = None,
        max_results: int = MAX_RESULTS,
        page_token: str | None = None,
    ) -> SearchPage:
        """One page of videos matching `q` (`search.list`, type=video; 1 unit of `search`).

        Args:
            q: The query, e.g. `"fortnite" -"fortnight"`.
            order: "date", "viewCount", "relevance", "rating" or "title".
            published_after: Only videos published after this time.
            region_code: Region whose results to favour.
            relevance_language: Language whose results to favour.
            video_duration: "short" (< 4 min), "medium" or "long" (> 20 min); None for any.
            max_results: Results per page, 1..50.
            page_token: The previous page's `next_page_token`.
        """
        params = [
            ("part", "snippet"),
            ("type", "video"),
            ("q", q),
            ("order", order),
            ("maxResults", str(max(1, min(max_results, MAX_RESULTS)))),
        ]
        if published_after is not None:
            if published_after.tzinfo is None:
                raise ValueError("published_after must be timezone-aware")
            stamp = published_after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            params.append(("publishedAfter", stamp))
        for name, value in (
            ("regionCode", region_code),
            ("relevanceLanguage", relevance_language),
            ("videoDuration", video_duration),
            ("pageToken", page_token),
        ):
            if value:
                params.append((name, value))
        body = self._get("search.list", params)
        items, skipped = self._parse(body, SearchResult.from_api, "search.list")
        return SearchPage(items=items, skipped=skipped, **page_fields(body))

    def channels(self, ids: Sequence[str], parts: Sequence[str] = CHANNEL_PARTS) -> list[Channel]:
        """The channels with these ids, any number, 50 per call (duplicate ids asked once)."""
        if isinstance(ids, str):
            raise TypeError("channels takes a sequence of ids, not one string")
        result: list[Channel] = []
        for chunk in _chunks(ids, MAX_IDS_PER_CALL):
            body = self._get("channels.list", [("part", ",".join(parts)), ("id", ",".join(chunk))])
            result.extend(self._parse(body, Channel.from_api, "channels.list")[0])
        return result

    def playlist_items(
        self, playlist_id: str, *, page_token: str | None = None, max_results: int = MAX_RESULTS
    ) -> PlaylistPage:
        """One page of a playlist, e.g. a channel's uploads (newest first)."""
        params = [
            ("part", "snippet,contentDetails"),
            ("playlistId", playlist_id),
            ("maxResults", str(max(1, min(max_results, MAX_RESULTS)))),
        ]
        if page_token:
            params.append(("pageToken", page_token))
        body = self._get("playlistItems.list", params)
        items, skipped = self._parse(body, PlaylistItem.from_api, "playlistItems.list")
        return PlaylistPage(items=items, skipped=skipped, **page_fields(body))

    def video_categories(self, region_code: str) -> list[VideoCategory]:
        """The video categories of a region."""
        body = self._get("videoCategories.list", [("part", "snippet"), ("regionCode", region_code)])
        return self._parse(body, VideoCategory.from_api, "videoCategories.list")[0]


class YouTubeResource(ApiResource):
    """The YouTube Data API v3, with its quota ledger and circuit breaker in Redis.

    Attributes:
        api_key: The API key, from `YOUTUBE_API_KEY` (give it as `dg.EnvVar`); never shown.
        api_url: Base URL up to and including `/youtube/v3` (`YOUTUBE_API_URL`; the simulator's
            for development and tests).
        quota_limits: Units per Pacific day of each bucket.
        method_buckets: The bucket each API method spends from.
        method_costs: Units each call of a method costs (Google changes them).
    """

    api_key: str = Field(repr=False)
    api_url: str = DEFAULT_YOUTUBE_API_URL
    quota_limits: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_QUOTA_LIMITS))
    method_buckets: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_METHOD_BUCKETS))
    method_costs: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_METHOD_COSTS))

    api: ClassVar[str] = API

    def _ledger(self) -> QuotaLedger:
        unknown = set(self.method_buckets.values()) - set(self.quota_limits)
        if unknown:
            raise ValueError(f"method_buckets names buckets without a limit: {sorted(unknown)}")
        return QuotaLedger(
            self.redis.client(),
            platform=API,
            buckets=[BucketSpec(name, limit) for name, limit in self.quota_limits.items()],
            warehouse=self.warehouse,
            flush_every=self.quota_log_flush_every,
        )

    def client(self, *, game_key: str | None = None, run_id: str | None = None) -> YouTubeClient:
        """A client whose spends are logged with `game_key` and `run_id`.

        Raises:
            ConfigurationError: `YOUTUBE_API_KEY` is empty.
        """
        if not self.api_key.strip():
            raise ConfigurationError(
                f"{API_KEY_VARIABLE} is empty: set it to a YouTube Data API v3 key",
                api=API,
                variables=(API_KEY_VARIABLE,),
            )
        return self.remember(
            YouTubeClient(
                caller=self.caller(API, self.api_url),
                ledger=self._ledger(),
                api_key=self.api_key.strip(),
                method_buckets=self.method_buckets,
                method_costs=self.method_costs,
                game_key=game_key,
                run_id=run_id,
            )
        )
