"""The simulator's HTTP server: YouTube, Helix and the Twitch token endpoint on one port.

Every request passes the same gates as on the real services, in the real order:

- YouTube: the method is counted; the key is checked (400 keyInvalid / 403 without a key, no
  charge); the method's bucket is checked (403 quotaExceeded, no charge) and then charged; then
  any injected fault answers, else the method does (its own 4xx are charged, as Google charges
  invalid requests).
- Helix: the call is counted; the bearer token and Client-Id are checked (401, no point); one
  point is taken from the token bucket (429 when it is empty); faults; the endpoint. Every Helix
  answer carries `Ratelimit-Limit`, `Ratelimit-Remaining` and `Ratelimit-Reset`.
- `/oauth2/token`: client credentials in the query or a form body; faults; a token.

`/_sim/...` drives and reads the simulator from another process (see `SimulatorControls`).
Request logs go to the `intel_assets.simulator` logger and never include the query string,
headers or bodies, where the key, secret and tokens travel.
"""

import email.utils
import json
import logging
import math
import secrets
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from intel_assets.catalog import Catalog, load_catalog
from intel_assets.simulator import control, errors
from intel_assets.simulator.errors import ApiError, JsonBody
from intel_assets.simulator.ground_truth import World
from intel_assets.simulator.state import (
    AUTH_ENDPOINTS,
    DEFAULT_QUOTA_LIMITS,
    TWITCH_ENDPOINTS,
    YOUTUBE_METHODS,
    SimulatorControls,
    SimulatorState,
    Token,
)
from intel_assets.simulator.twitch_api import HelixQuery
from intel_assets.simulator.twitch_world import TwitchWorld
from intel_assets.simulator.world import WorldConfig, YouTubeWorld
from intel_assets.simulator.youtube_api import Query

logger = logging.getLogger("intel_assets.simulator")

_MALFORMED_BODY = (
    b"<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error 502 (Server Error)!!1"
    b"</title><p><b>502.</b> That\xe2\x80\x99s an error.<p>The server encountered a temporary "
    b"error and could not complete your request.</html>"
)


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    truncate: bool = False


def _json(body: Any) -> bytes:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate (a poison fault) travels as a \u escape
        return json.dumps(body, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this a keep-alive client waits for
    # the delayed ACK (~40 ms) on every call.
    disable_nagle_algorithm = True
    server_version = "simulator"
    state: SimulatorState  # set on the subclass each server makes

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default log line: it holds the query string, where the key travels."""

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve("GET")

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve("POST")

    def do_DELETE(self) -> None:
        """Serve a DELETE."""
        self._serve("DELETE")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self, verb: str) -> None:
        started = time.perf_counter()
        body = self._read_body()
        url = urlsplit(self.path)
        path = url.path
        query = parse_qs(url.query, keep_blank_values=True)
        now = self.state.clock.now()
        api = "control"
        try:
            if path.startswith("/youtube/v3/"):
                api = "youtube"
                answer = self._youtube(verb, path, query, now)
            elif path.startswith("/helix/"):
                api = "twitch"
                answer = self._twitch(verb, path, query, now)
            elif path.startswith("/oauth2/"):
                api = "auth"
                answer = self._auth(verb, path, query, body, now)
            elif path.startswith("/_sim/"):
                answer = self._control(verb, path, query, body, now)
            else:
                answer = _Answer(404, _json({"error": "Not Found", "status": 404}), {})
        except Exception:
            logger.exception("simulator: %s %s failed", verb, path)
            answer = _Answer(500, _json({"error": "Internal Server Error", "status": 500}), {})
        try:
            self._send(answer, now)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout, or a test ending); nothing is left to answer.
            self.close_connection = True
            logger.debug("simulator %s %s: the client hung up before the answer", verb, path)
            return
        logger.debug(
            "simulator %s %s %s -> %d in %.1f ms",
            api,
            verb,
            path,
            answer.status,
            (time.perf_counter() - started) * 1000,
        )

    def _send(self, answer: _Answer, now: datetime) -> None:
        self.send_response_only(answer.status)
        self.send_header("Date", email.utils.format_datetime(now.astimezone(UTC), usegmt=True))
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if answer.truncate:
            self.wfile.write(answer.body[: len(answer.body) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(answer.body)

    # ----- YouTube ---------------------------------------------------------------------------

    def _youtube(self, verb: str, path: str, query: dict[str, list[str]], now: datetime) -> _Answer:
        state = self.state
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "Vary": "Origin, X-Origin, Referer",
        }
        method = YOUTUBE_METHODS.get(path[len("/youtube/v3/") :])
        if method is None or verb != "GET":
            return _api_error(errors.youtube_not_found(path), headers)
        name, bucket, units = method
        # Google takes the key as `key=` or in the X-Goog-Api-Key header (our client's way).
        key = (query.get("key") or [None])[0] or self.headers.get("X-Goog-Api-Key")
        if not key:
            state.count_call(state.youtube_counts, name)
            return _api_error(errors.youtube_key_missing(), headers)
        if not _same(key, state.youtube_api_key):
            state.count_call(state.youtube_counts, name)
            return _api_error(errors.youtube_key_invalid(), headers)
        if not state.charge(name, bucket, units, now):
            return _api_error(errors.youtube_quota_exceeded(), headers)
        delay, fault = state.take_faults("youtube", path)
        if delay:
            time.sleep(delay)
        if fault is not None and fault.kind == "status":
            return _api_error(errors.youtube_status_error(fault.status), headers)
        if fault is not None and fault.kind == "rate_limit":
            if fault.retry_after_seconds is not None:
                headers["Retry-After"] = str(math.ceil(fault.retry_after_seconds))
            return _api_error(errors.youtube_rate_limited(), headers)
        if fault is not None and fault.kind == "malformed_json":
            return _Answer(200, _MALFORMED_BODY, headers)
        try:
            body = state.youtube.methods[name](Query(query), now.timestamp())
            answer = _Answer(200, _json(fault.poison(body) if fault else body), headers)
        except ApiError as error:
            answer = _api_error(error, headers)
        answer.truncate = fault is not None and fault.kind == "truncated"
        return answer

    # ----- Helix -----------------------------------------------------------------------------

    def _twitch(self, verb: str, path: str, query: dict[str, list[str]], now: datetime) -> _Answer:
        state = self.state
        at = now.timestamp()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        endpoint = path[len("/helix/") :].rstrip("/")
        if endpoint not in TWITCH_ENDPOINTS or verb != "GET":
            return _api_error(errors.helix_error(404, "Not Found"), headers)
        refusal = self._helix_auth_refusal(at)
        if refusal is not None:
            state.count_call(state.twitch_counts, endpoint)
            return _api_error(refusal, {**headers, **state.ratelimit_headers(at)})
        if not state.take_point(at):
            state.count_call(state.twitch_counts, endpoint)
            return _api_error(
                errors.helix_error(429, "Too Many Requests"),
                {**headers, **state.ratelimit_headers(at)},
            )
        state.count_call(state.twitch_counts, endpoint, charged=1)
        delay, fault = state.take_faults("twitch", path)
        if delay:
            time.sleep(delay)
        if fault is not None and fault.kind == "rate_limit":
            wait = fault.retry_after_seconds if fault.retry_after_seconds is not None else 1.0
            limits = state.ratelimit_headers(at, reset_in=wait)
            limits["Ratelimit-Remaining"] = "0"
            return _api_error(errors.helix_error(429, "Too Many Requests"), {**headers, **limits})
        headers.update(state.ratelimit_headers(at))
        if fault is not None and fault.kind == "status":
            return _api_error(errors.helix_error(fault.status, "Simulated failure"), headers)
        if fault is not None and fault.kind == "malformed_json":
            return _Answer(200, _MALFORMED_BODY, headers)
        try:
            body = state.twitch.endpoints[endpoint](HelixQuery(query), at)
            answer = _Answer(200, _json(fault.poison(body) if fault else body), headers)
        except ApiError as error:
            answer = _api_error(error, headers)
        answer.truncate = fault is not None and fault.kind == "truncated"
        return answer

    def _helix_auth_refusal(self, at: float) -> ApiError | None:
        authorization = self.headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return errors.helix_unauthorized("OAuth token is missing")
        client_id = self.headers.get("Client-Id")
        with self.state.lock:
            issued = self.state.tokens.get(token.strip())
        if issued is None or issued.expires_at <= at:
            return errors.helix_unauthorized("Invalid OAuth token")
        if not client_id:
            return errors.helix_unauthorized("Client ID is missing")
        if client_id != issued.client_id:
            return errors.helix_unauthorized("Client ID and OAuth token do not match")
        return None

    # ----- id.twitch.tv ----------------------------------------------------------------------

    def _auth(
        self,
        verb: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        now: datetime,
    ) -> _Answer:
        state = self.state
        headers = {"Content-Type": "application/json"}
        endpoint = path[len("/oauth2/") :].rstrip("/")
        if endpoint not in AUTH_ENDPOINTS:
            return _api_error(errors.auth_error(404, "404 page not found"), headers)
        state.count_call(state.auth_counts, endpoint)
        delay, fault = state.take_faults("auth", path)
        if delay:
            time.sleep(delay)
        if fault is not None and fault.kind in ("status", "rate_limit"):
            status = fault.status if fault.kind == "status" else 429
            if fault.kind == "rate_limit" and fault.retry_after_seconds is not None:
                headers["Retry-After"] = str(math.ceil(fault.retry_after_seconds))
            return _api_error(errors.auth_error(status, errors.phrase(status)), headers)
        if fault is not None and fault.kind == "malformed_json":
            return _Answer(200, _MALFORMED_BODY, headers)
        try:
            if endpoint == "token":
                result = self._issue_token(verb, query, body, now.timestamp())
            else:
                result = self._validate_token(now.timestamp())
            answer = _Answer(200, _json(result), headers)
        except ApiError as error:
            answer = _api_error(error, headers)
        answer.truncate = fault is not None and fault.kind == "truncated"
        return answer

    def _issue_token(
        self, verb: str, query: dict[str, list[str]], body: bytes, at: float
    ) -> JsonBody:
        if verb != "POST":
            raise errors.auth_error(404, "404 page not found")
        params = dict(query)
        if body:
            params.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        client_id = (params.get("client_id") or [""])[0]
        secret = (params.get("client_secret") or [""])[0]
        grant = (params.get("grant_type") or [""])[0]
        state = self.state
        if not client_id:
            raise errors.auth_error(400, "missing client id")
        if not _same(client_id, state.twitch_client_id):
            raise errors.auth_error(400, "invalid client")
        if not _same(secret, state.twitch_client_secret):
            raise errors.auth_error(403, "invalid client secret")
        if grant != "client_credentials":
            raise errors.auth_error(
                400, "unsupported grant type" if grant else "missing grant type"
            )
        token = secrets.token_hex(15)
        with state.lock:
            state.tokens[token] = Token(client_id, at + state.token_lifetime)
        return {"access_token": token, "expires_in": state.token_lifetime, "token_type": "bearer"}

    def _validate_token(self, at: float) -> JsonBody:
        _, _, token = (self.headers.get("Authorization") or "").partition(" ")
        with self.state.lock:
            issued = self.state.tokens.get(token.strip())
        if issued is None or issued.expires_at <= at:
            raise errors.auth_error(401, "invalid access token")
        return {
            "client_id": issued.client_id,
            "scopes": [],
            "expires_in": int(issued.expires_at - at),
        }

    # ----- /_sim control ---------------------------------------------------------------------

    def _control(
        self,
        verb: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        now: datetime,
    ) -> _Answer:
        try:
            payload = json.loads(body) if body else {}
            status, result = control.handle(self.state, verb, path, query, payload, now)
        except (ValueError, KeyError, TypeError) as error:
            status, result = 400, {"error": str(error)}
        return _Answer(status, _json(result), {"Content-Type": "application/json"})


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of a credential (as bytes: any text a client sends)."""
    return secrets.compare_digest(given.encode(), expected.encode())


def _api_error(error: ApiError, headers: dict[str, str]) -> _Answer:
    return _Answer(error.status, _json(error.body), {**headers, **error.headers})


class RunningSimulator(SimulatorControls):
    """A simulator serving on a port, with its base URLs and its controls.

    Attributes:
        base_url: `http://127.0.0.1:PORT`.
        youtube_url: `base_url + "/youtube/v3"` (what `YOUTUBE_API_URL` points at).
        twitch_url: `base_url + "/helix"` (`TWITCH_API_URL`).
        auth_url: `base_url + "/oauth2"` (`TWITCH_AUTH_URL`).
    """

    def __init__(self, state: SimulatorState, server: ThreadingHTTPServer) -> None:
        self._state = state
        self._server = server
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self.youtube_url = self.base_url + "/youtube/v3"
        self.twitch_url = self.base_url + "/helix"
        self.auth_url = self.base_url + "/oauth2"
        # A short poll interval makes `stop()` quick (the default waits up to half a second).
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=f"simulator:{port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class Simulator(SimulatorControls):
    """A local YouTube + Twitch API server over a world generated from `seed`.

    Args:
        seed: Determines the whole world.
        youtube_api_key: The one key YouTube methods accept.
        twitch_client_id: The client id the token endpoint accepts.
        twitch_client_secret: Its secret.
        quota_limits: Units per Pacific day by bucket (`default`, `search`, `batch_stats`);
            missing buckets keep the real defaults.
        videos_per_game_per_day: Uploads per catalog game per UTC day.
        other_videos_per_day: Uploads per day about games outside the catalog (None: as many).
        viral_per_game_per_day: Uploads per game and day that go viral.
        channels: Number of YouTube channels.
        twitch_streamers_per_category: Roster size of the most popular Twitch categories.
        twitch_points_per_minute: Size and refill rate of the Helix token bucket.
        twitch_token_lifetime_seconds: `expires_in` of issued app tokens.
        catalog: The games (default: the project's catalog).
    """

    def __init__(
        self,
        seed: int = 7,
        youtube_api_key: str = "simulator-key",
        twitch_client_id: str = "simulator-client",
        twitch_client_secret: str = "simulator-secret",
        quota_limits: dict[str, int] | None = None,
        *,
        videos_per_game_per_day: int = 120,
        other_videos_per_day: int | None = None,
        viral_per_game_per_day: int = 2,
        channels: int = 3000,
        twitch_streamers_per_category: int = 400,
        twitch_points_per_minute: int = 800,
        twitch_token_lifetime_seconds: int = 5_011_271,
        catalog: Catalog | None = None,
    ) -> None:
        unknown = set(quota_limits or {}) - set(DEFAULT_QUOTA_LIMITS)
        if unknown:
            raise ValueError(f"unknown quota buckets {sorted(unknown)}")
        catalog = catalog or load_catalog()
        config = WorldConfig(
            seed=seed,
            videos_per_game_per_day=videos_per_game_per_day,
            other_videos_per_day=other_videos_per_day,
            viral_per_game_per_day=viral_per_game_per_day,
            channels=channels,
        )
        world = World(
            catalog,
            YouTubeWorld(catalog, config),
            TwitchWorld(catalog, seed, twitch_streamers_per_category),
        )
        self.seed = seed
        self._state = SimulatorState(
            world,
            youtube_api_key,
            twitch_client_id,
            twitch_client_secret,
            quota_limits,
            twitch_points_per_minute,
            twitch_token_lifetime_seconds,
        )

    def start(self, host: str = "127.0.0.1", port: int = 0) -> RunningSimulator:
        """Serve on `host:port` (0: a free port) in a daemon thread; stop it with `.stop()`."""
        handler = type("SimulatorHandler", (_Handler,), {"state": self._state})
        server = ThreadingHTTPServer((host, port), handler)
        server.daemon_threads = True
        running = RunningSimulator(self._state, server)
        logger.info("simulator serving on %s (seed %d)", running.base_url, self.seed)
        return running

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], seed: int = 7, videos_per_game_per_day: int = 120
    ) -> "Simulator":
        """A simulator that accepts the credentials the clients read from the environment.

        `YOUTUBE_API_KEY`, `TWITCH_CLIENT_ID` and `TWITCH_CLIENT_SECRET` when set (so a
        configured development environment works against it unchanged), else the defaults.
        """
        return cls(
            seed,
            environ.get("YOUTUBE_API_KEY") or "simulator-key",
            environ.get("TWITCH_CLIENT_ID") or "simulator-client",
            environ.get("TWITCH_CLIENT_SECRET") or "simulator-secret",
            videos_per_game_per_day=videos_per_game_per_day,
        )

    @contextmanager
    def running(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningSimulator]:
        """Serve for the duration of a `with` block."""
        running = self.start(host, port)
        try:
            yield running
        finally:
            running.stop()


def serve_until_signalled(running: RunningSimulator) -> None:
    """Block until Ctrl-C or SIGTERM, then stop the server."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        running.stop()
