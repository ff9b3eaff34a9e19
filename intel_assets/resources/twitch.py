"""The Twitch Helix resource: app token, rate-limit pacing, typed reads behind the breaker.

An app access token comes from the client-credentials grant (`POST {auth_url}/token`), is cached
in Redis until shortly before it expires (every process shares it) and is renewed once when
Helix answers 401. Helix's token bucket is read from each answer's `Ratelimit-Limit`,
`Ratelimit-Remaining` and `Ratelimit-Reset` headers: when few points remain the client calls no
faster than the bucket refills, and on a 429 it waits until the reset. Our own per-minute
points bucket in the quota ledger (`points_per_minute`) keeps concurrent runs under the limit
before Twitch has to say so.

The token endpoint is its own API for the breaker and metrics ("twitch_auth"), so a failing
token service and a failing Helix are told apart. The client id and secret travel in headers and
the POST body only; neither appears in a URL, log line or error.
"""

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import httpx
import redis
from pydantic import Field

from intel_assets.resources.errors import (
    ConfigurationError,
    MalformedResponseError,
    QuotaExhaustedError,
    RequestRejectedError,
    StateUnavailableError,
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
from intel_assets.resources.redis_keys import TWITCH_RATE_LIMIT_KEY, twitch_token_key
from intel_assets.resources.twitch_models import ChannelInfo, Game, Stream, Token, TwitchVideo
from intel_assets.settings import DEFAULT_TWITCH_API_URL, DEFAULT_TWITCH_AUTH_URL

log = logging.getLogger(__name__)

API = "twitch"
AUTH_API = "twitch_auth"
CLIENT_ID_VARIABLE = "TWITCH_CLIENT_ID"
CLIENT_SECRET_VARIABLE = "TWITCH_CLIENT_SECRET"
CREDENTIAL_VARIABLES = (CLIENT_ID_VARIABLE, CLIENT_SECRET_VARIABLE)
POINTS_BUCKET = "points"
DEFAULT_POINTS_PER_MINUTE = 800
"""Helix's app-token bucket: 800 points a minute."""
MAX_PAGE_SIZE = 100
# A cached token is dropped this long before Twitch would expire it, so no call carries a token
# that dies in flight.
TOKEN_EXPIRY_MARGIN_SECONDS = 300

T = TypeVar("T")


@dataclass(frozen=True)
class RateStatus:
    """Twitch's token bucket as its last answer (from any process) reported it.

    Attributes:
        limit: Points the bucket holds (`Ratelimit-Limit`); None before any answer.
        remaining: Points left (`Ratelimit-Remaining`).
        reset_at: When the bucket is full again (`Ratelimit-Reset`, UTC).
    """

    limit: int | None
    remaining: int | None
    reset_at: datetime | None


def _rate_headers(response: httpx.Response) -> tuple[int, int, float] | None:
    try:
        return (
            int(response.headers["Ratelimit-Limit"]),
            int(response.headers["Ratelimit-Remaining"]),
            float(response.headers["Ratelimit-Reset"]),
        )
    except (KeyError, ValueError):
        return None


def _rate_gauges(response: httpx.Response) -> dict[str, dict[str, Any]]:
    rate = _rate_headers(response)
    if rate is None:
        return {}
    limit, remaining, reset = rate
    return {TWITCH_RATE_LIMIT_KEY: {"limit": limit, "remaining": remaining, "reset": reset}}


def read_rate_status(client: redis.Redis) -> RateStatus:
    """Twitch's bucket as the last answer to any of our processes reported it (one round trip).

    Raises:
        StateUnavailableError: Redis did not answer.
    """
    try:
        fields: dict[str, str] = client.hgetall(TWITCH_RATE_LIMIT_KEY)  # type: ignore[assignment]
    except (redis.RedisError, OSError) as error:
        raise StateUnavailableError(
            f"the Twitch rate status cannot be read from Redis ({type(error).__name__})", api=API
        ) from None
    if not fields:
        return RateStatus(None, None, None)
    return RateStatus(
        limit=int(fields["limit"]),
        remaining=int(fields["remaining"]),
        reset_at=datetime.fromtimestamp(float(fields["reset"]), UTC),
    )


def _message(body: Any) -> str:
    if isinstance(body, Mapping):
        return str(body.get("message") or body.get("error") or "")
    return ""


class TwitchTokens:
    """The app access token, shared by every process through Redis.

    Args:
        caller: The token endpoint's caller (api "twitch_auth").
        client: The Redis connection.
        client_id: The application's client id.
        client_secret: The application's client secret.
    """

    def __init__(
        self, *, caller: ApiCaller, client: redis.Redis, client_id: str, client_secret: str
    ) -> None:
        self._caller = caller
        self._redis = client
        self._client_id = client_id
        self._client_secret = client_secret
        # The key names the application by a hash, so the id never shows in a key listing.
        digest = hashlib.sha256(client_id.encode()).hexdigest()[:16]
        self.key = twitch_token_key(digest)
        self._token: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return "TwitchTokens(...)"

    def current(self) -> str:
        """A valid token: this process's, else the shared one in Redis, else a new one."""
        if self._token is not None and time.time() < self._expires_at:
            return self._token
        try:
            cached = self._redis.get(self.key)
        except (redis.RedisError, OSError) as error:
            raise StateUnavailableError(
                f"the Twitch token cache cannot reach Redis ({type(error).__name__})", api=API
            ) from None
        if cached:
            with suppress(ValueError, KeyError, TypeError):
                entry = json.loads(str(cached))
                self._token, self._expires_at = str(entry["token"]), float(entry["expires_at"])
                return self._token
        return self._issue()

    def renew(self, rejected: str) -> str:
        """A new token after Helix rejected `rejected` (unless another process renewed it)."""
        self._token = None
        try:
            cached = self._redis.get(self.key)
            if cached and json.loads(str(cached)).get("token") != rejected:
                return self.current()
            self._redis.delete(self.key)
        except (redis.RedisError, OSError) as error:
            raise StateUnavailableError(
                f"the Twitch token cache cannot reach Redis ({type(error).__name__})", api=API
            ) from None
        return self._issue()

    def _issue(self) -> str:
        token = self._caller.call("oauth2.token", self._request_token)
        secret = token.access_token.get_secret_value()
        expires_at = token.expires_at.timestamp() - min(
            TOKEN_EXPIRY_MARGIN_SECONDS, token.expires_in / 2
        )
        with suppress(redis.RedisError, OSError):  # the token works without the cache
            self._redis.set(
                self.key,
                json.dumps({"token": secret, "expires_at": expires_at}),
                # Relative: the token's lifetime is counted on our clock, not Redis's.
                ex=max(int(expires_at - time.time()), 1),
            )
        self._token, self._expires_at = secret, expires_at
        log.info("obtained a Twitch app token valid for %d s", token.expires_in)
        return secret

    def _request_token(self, attempt: int) -> Token:
        request = self._caller.http.build_request(
            "POST",
            "/token",
            data={
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "grant_type": "client_credentials",
            },
        )
        issued_at = datetime.now(UTC)
        response = self._caller.send("oauth2.token", request)
        if response.is_success:
            body = json_object(response, api=AUTH_API, method="oauth2.token")
            try:
                return Token.from_api(body, issued_at=issued_at)
            except ValueError:
                raise MalformedResponseError(
                    "Twitch oauth2.token answered without a usable access_token/expires_in",
                    api=AUTH_API,
                    method="oauth2.token",
                    status=response.status_code,
                ) from None
        status = response.status_code
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if status == 429:
            raise rate_limited(AUTH_API, "oauth2.token", status, retry_after)
        if status >= 500:
            raise server_error(AUTH_API, "oauth2.token", status, retry_after)
        body: Any = None
        with suppress(ValueError):
            body = response.json()
        said = redact(_message(body), (self._client_id, self._client_secret))[:200]
        raise ConfigurationError(
            f"Twitch refused the app credentials ({status}: {said or 'no message'}); check "
            f"{CLIENT_ID_VARIABLE} and {CLIENT_SECRET_VARIABLE}",
            api=AUTH_API,
            variables=CREDENTIAL_VARIABLES,
            method="oauth2.token",
            status=status,
        )


class TwitchClient(ApiClient):
    """Helix reads for one piece of work (a game's collection in a run).

    Created by `TwitchResource.client`. `calls`, `skipped` and `duplicates` (streams seen twice
    while paging) describe what it did, for asset metadata.
    """

    api = API
    items_key = "data"

    def __init__(
        self,
        *,
        caller: ApiCaller,
        tokens: TwitchTokens,
        ledger: QuotaLedger,
        state: redis.Redis,
        client_id: str,
        rate_reserve_points: int = 10,
        game_key: str | None = None,
        run_id: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(caller=caller, ledger=ledger, game_key=game_key, run_id=run_id)
        self._tokens = tokens
        self._state = state
        self._client_id = client_id
        self._rate_reserve_points = rate_reserve_points
        self._sleep = sleep
        self._rate: tuple[int, int, float] | None = None
        self.duplicates: Counter[str] = Counter()

    def points_spent(self) -> int:
        """Rate-limit points this client reserved."""
        return self._ledger.spent[POINTS_BUCKET]

    def rate_status(self) -> RateStatus:
        """Twitch's own bucket as its last answer reported it (one Redis round trip)."""
        return read_rate_status(self._state)

    def _pace(self) -> None:
        """When Twitch's bucket is nearly empty, call no faster than it refills.

        `Ratelimit-Reset` is when the bucket is full again, so the time to it divided by the
        missing points is how long one point takes to come back.
        """
        if self._rate is None:
            return
        limit, remaining, reset = self._rate
        until_full = reset - time.time()
        if until_full <= 0 or remaining > self._rate_reserve_points:
            return
        wait = min(
            until_full / max(limit - remaining, 1), self._caller.policy.max_retry_after_seconds
        )
        log.info("Twitch has %d points left; waiting %.2f s before the next call", remaining, wait)
        self._sleep(wait)

    def _reserve_point(self, method: str, attempt: int) -> Any:
        while True:
            try:
                return self._ledger.reserve(
                    POINTS_BUCKET,
                    method,
                    1,
                    game_key=self.game_key,
                    run_id=self.run_id,
                    metadata={"attempt": attempt},
                )
            except QuotaExhaustedError as full:
                wait = (full.reset_at - datetime.now(UTC)).total_seconds()
                if wait > self._caller.policy.max_retry_after_seconds:
                    raise
                log.info("Twitch points for this minute are spent; waiting %.2f s", wait)
                self._sleep(max(wait, 0.0) + 0.01)

    def _send(
        self, method: str, path: str, params: Sequence[tuple[str, str]], token: str, attempt: int
    ) -> httpx.Response:
        self._pace()
        reservation = self._reserve_point(method, attempt)
        request = self._caller.http.build_request(
            "GET",
            path,
            params=list(params),
            headers={"Client-Id": self._client_id, "Authorization": f"Bearer {token}"},
        )
        try:
            response = self._caller.send(method, request)
        except RetryableFailure as failure:
            if not failure.reached_api:
                self._ledger.refund(reservation, reason="connection failed")
            raise
        rate = _rate_headers(response)
        if rate is not None:
            self._rate = rate
        return response

    def _get(self, method: str, path: str, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        def attempt(number: int) -> dict[str, Any]:
            token = self._tokens.current()
            response = self._send(method, path, params, token, number)
            if response.status_code == 401:
                log.info("Twitch %s answered 401; renewing the app token once", method)
                response = self._send(method, path, params, self._tokens.renew(token), number)
                if response.status_code == 401:
                    raise ConfigurationError(
                        f"Twitch {method} refused a freshly issued app token (401); check that "
                        f"{CLIENT_ID_VARIABLE} belongs to {CLIENT_SECRET_VARIABLE}",
                        api=API,
                        variables=CREDENTIAL_VARIABLES,
                        method=method,
                        status=401,
                    )
            return self._interpret(method, response)

        self.calls[method] += 1
        return self._caller.call(method, attempt)

    def _interpret(self, method: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if response.is_success:
            return json_object(response, api=API, method=method)
        if status == 429:
            rate = _rate_headers(response)
            wait = (
                max(rate[2] - time.time(), 0.0)
                if rate is not None
                else retry_after_seconds(response.headers.get("Retry-After"))
            )
            raise rate_limited(API, method, status, wait)
        if status >= 500:
            raise server_error(
                API, method, status, retry_after_seconds(response.headers.get("Retry-After"))
            )
        body: Any = None
        with suppress(ValueError):
            body = response.json()
        said = redact(_message(body), (self._client_id,))[:200]
        raise RequestRejectedError(
            f"Twitch {method} rejected the request ({status}: {said or 'no message'})",
            api=API,
            method=method,
            status=status,
            reason=str(body.get("error")) if isinstance(body, Mapping) else None,
        )

    def _records(
        self, body: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], T], method: str
    ) -> list[T]:
        return self._parse(body, parse, method)[0]

    def _pages(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]],
        max_pages: int | None,
    ) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        seen: set[str] = set()
        pages = 0
        while True:
            page_params = [*params, ("after", cursor)] if cursor else list(params)
            body = self._get(method, path, page_params)
            yield body
            pages += 1
            pagination = body.get("pagination")
            cursor = pagination.get("cursor") if isinstance(pagination, Mapping) else None
            if not cursor or cursor in seen or not body.get("data"):
                return
            if max_pages is not None and pages >= max_pages:
                return
            seen.add(cursor)

    def streams(
        self,
        *,
        game_ids: Sequence[str],
        language: str | Sequence[str] | None = None,
        max_pages: int | None = None,
    ) -> list[Stream]:
        """The live streams of these games, most viewers first, paged to the end.

        Helix sorts by live viewers, so a stream can move between pages while we page: one seen
        twice is kept once (the first, higher-ranked sighting) and counted in `duplicates`.

        Args:
            game_ids: Twitch game ids (1..100).
            language: One language code or several (at most 100).
            max_pages: Stop after this many pages of 100 (None: to the end).
        """
        ids = [game_ids] if isinstance(game_ids, str) else list(game_ids)
        if not 1 <= len(ids) <= MAX_PAGE_SIZE:
            raise ValueError(f"streams takes 1..{MAX_PAGE_SIZE} game ids, got {len(ids)}")
        params = [("game_id", gid) for gid in ids]
        languages = [language] if isinstance(language, str) else list(language or ())
        params += [("language", lang) for lang in languages]
        params.append(("first", str(MAX_PAGE_SIZE)))
        streams: dict[str, Stream] = {}
        for body in self._pages("streams", "/streams", params, max_pages):
            for stream in self._records(body, Stream.from_api, "streams"):
                if stream.stream_id in streams:
                    self.duplicates["streams"] += 1
                else:
                    streams[stream.stream_id] = stream
        return list(streams.values())

    def top_games(self, *, first: int = MAX_PAGE_SIZE, max_pages: int | None = 1) -> list[Game]:
        """The categories with the most viewers now (Helix gives no viewer counts here)."""
        params = [("first", str(max(1, min(first, MAX_PAGE_SIZE))))]
        games: dict[str, Game] = {}
        for body in self._pages("games.top", "/games/top", params, max_pages):
            for game in self._records(body, Game.from_api, "games.top"):
                games.setdefault(game.game_id, game)
        return list(games.values())

    def games(self, *, ids: Sequence[str] = (), names: Sequence[str] = ()) -> list[Game]:
        """The categories with these ids or exact names, 100 per call."""
        wanted = [("id", gid) for gid in dict.fromkeys(ids)]
        wanted += [("name", name) for name in dict.fromkeys(names)]
        found: list[Game] = []
        for start in range(0, len(wanted), MAX_PAGE_SIZE):
            body = self._get("games", "/games", wanted[start : start + MAX_PAGE_SIZE])
            found.extend(self._records(body, Game.from_api, "games"))
        return found

    def videos(
        self,
        *,
        game_id: str,
        sort: str = "time",
        period: str = "week",
        first: int = MAX_PAGE_SIZE,
        max_pages: int | None = 1,
    ) -> list[TwitchVideo]:
        """Videos of a game.

        Args:
            game_id: The Twitch game id.
            sort: "time", "trending" or "views".
            period: "all", "day", "week" or "month".
            first: Videos per page, 1..100.
            max_pages: Stop after this many pages (None: to the end).
        """
        params = [
            ("game_id", game_id),
            ("sort", sort),
            ("period", period),
            ("first", str(max(1, min(first, MAX_PAGE_SIZE)))),
        ]
        found: dict[str, TwitchVideo] = {}
        for body in self._pages("videos", "/videos", params, max_pages):
            for video in self._records(body, TwitchVideo.from_api, "videos"):
                found.setdefault(video.video_id, video)
        return list(found.values())

    def user_videos(
        self, *, user_id: str, video_type: str = "archive", first: int = 20
    ) -> list[TwitchVideo]:
        """A broadcaster's latest videos, newest first: one call, one page of `first`.

        Args:
            user_id: The broadcaster's user id.
            video_type: "all", "archive" (past broadcasts), "highlight" or "upload".
            first: Videos wanted, 1..100.
        """
        params = [
            ("user_id", user_id),
            ("type", video_type),
            ("sort", "time"),
            ("first", str(max(1, min(first, MAX_PAGE_SIZE)))),
        ]
        found: dict[str, TwitchVideo] = {}
        for body in self._pages("videos", "/videos", params, 1):
            for video in self._records(body, TwitchVideo.from_api, "videos"):
                found.setdefault(video.video_id, video)
        return list(found.values())

    def channels(self, broadcaster_ids: Sequence[str]) -> list[ChannelInfo]:
        """Channel settings of any number of broadcasters, 100 per call."""
        if isinstance(broadcaster_ids, str):
            raise TypeError("channels takes a sequence of ids, not one string")
        unique = list(dict.fromkeys(broadcaster_ids))
        found: list[ChannelInfo] = []
        for start in range(0, len(unique), MAX_PAGE_SIZE):
            chunk = unique[start : start + MAX_PAGE_SIZE]
            body = self._get("channels", "/channels", [("broadcaster_id", b) for b in chunk])
            found.extend(self._records(body, ChannelInfo.from_api, "channels"))
        return found

    def search_categories(self, query: str, *, max_pages: int | None = 1) -> list[Game]:
        """Categories whose names match `query` (first page of 100 by default)."""
        params = [("query", query), ("first", str(MAX_PAGE_SIZE))]
        found: dict[str, Game] = {}
        for body in self._pages("search.categories", "/search/categories", params, max_pages):
            for game in self._records(body, Game.from_api, "search.categories"):
                found.setdefault(game.game_id, game)
        return list(found.values())


class TwitchResource(ApiResource):
    """Twitch Helix, with its app token, rate-limit state and breaker in Redis.

    Attributes:
        client_id: The application's client id (`TWITCH_CLIENT_ID` via `dg.EnvVar`); never shown.
        client_secret: Its secret (`TWITCH_CLIENT_SECRET` via `dg.EnvVar`); never shown.
        api_url: Base up to and including `/helix` (`TWITCH_API_URL`).
        auth_url: Base of the token endpoint (`TWITCH_AUTH_URL`).
        points_per_minute: Points our processes may spend together per minute (Twitch's
            documented bucket holds 800).
        rate_reserve_points: When Twitch reports this few points left, calls are spread over
            the time to its reset.
    """

    client_id: str = Field(repr=False)
    client_secret: str = Field(repr=False)
    api_url: str = DEFAULT_TWITCH_API_URL
    auth_url: str = DEFAULT_TWITCH_AUTH_URL
    points_per_minute: int = DEFAULT_POINTS_PER_MINUTE
    rate_reserve_points: int = 10

    api: ClassVar[str] = API

    def _ledger(self) -> QuotaLedger:
        return QuotaLedger(
            self.redis.client(),
            platform=API,
            buckets=[BucketSpec(POINTS_BUCKET, self.points_per_minute, window="minute")],
            warehouse=self.warehouse,
            flush_every=self.quota_log_flush_every,
        )

    def _credentials(self) -> tuple[str, str]:
        missing = [
            name
            for name, value in (
                (CLIENT_ID_VARIABLE, self.client_id),
                (CLIENT_SECRET_VARIABLE, self.client_secret),
            )
            if not value.strip()
        ]
        if missing:
            raise ConfigurationError(
                f"{' and '.join(missing)} empty: set the Twitch application's credentials",
                api=API,
                variables=tuple(missing),
            )
        return self.client_id.strip(), self.client_secret.strip()

    def client(self, *, game_key: str | None = None, run_id: str | None = None) -> TwitchClient:
        """A client whose spends are logged with `game_key` and `run_id`.

        Raises:
            ConfigurationError: `TWITCH_CLIENT_ID` or `TWITCH_CLIENT_SECRET` is empty.
        """
        client_id, client_secret = self._credentials()
        tokens = TwitchTokens(
            caller=self.caller(AUTH_API, self.auth_url),
            client=self.redis.client(),
            client_id=client_id,
            client_secret=client_secret,
        )
        return self.remember(
            TwitchClient(
                caller=self.caller(API, self.api_url, response_gauges=_rate_gauges),
                tokens=tokens,
                ledger=self._ledger(),
                state=self.redis.client(),
                client_id=client_id,
                rate_reserve_points=self.rate_reserve_points,
                game_key=game_key,
                run_id=run_id,
            )
        )

    def rate_status(self) -> RateStatus:
        """Twitch's bucket as its last answer reported it, in one Redis round trip."""
        return read_rate_status(self.redis.client())
