"""What a running simulator counts and remembers: calls, quota, the Helix bucket, tokens, faults.

`SimulatorControls` is the Python face of that state (counts, quota, clock, faults, ground truth),
shared by `Simulator` and `RunningSimulator`; `/_sim/...` exposes the same over HTTP.
"""

import copy
import math
import threading
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from intel_assets.simulator.clock import SimClock
from intel_assets.simulator.ground_truth import World
from intel_assets.simulator.twitch_api import TwitchApi
from intel_assets.simulator.youtube_api import YouTubeApi

PACIFIC = ZoneInfo("America/Los_Angeles")
DEFAULT_QUOTA_LIMITS: dict[str, int] = {"default": 10_000, "search": 100, "batch_stats": 10_000}
"""Units per Pacific day of each YouTube bucket (PROVENANCE.md)."""

YOUTUBE_METHODS: dict[str, tuple[str, str, int]] = {
    "videos": ("videos.list", "default", 1),
    "videos:batchGetStats": ("videos.batchGetStats", "batch_stats", 1),
    "search": ("search.list", "search", 1),
    "channels": ("channels.list", "default", 1),
    "playlistItems": ("playlistItems.list", "default", 1),
    "videoCategories": ("videoCategories.list", "default", 1),
}
"""Path under /youtube/v3 to (method name, bucket, units per call)."""

TWITCH_ENDPOINTS: tuple[str, ...] = (
    "streams",
    "games/top",
    "games",
    "videos",
    "channels",
    "search/categories",
)
AUTH_ENDPOINTS: tuple[str, ...] = ("token", "validate")

FaultKind = Literal[
    "status", "rate_limit", "slow", "malformed_json", "truncated", "expire_tokens", "poison"
]
FaultApi = Literal["youtube", "twitch", "auth", "any"]


@dataclass
class Fault:
    """A fault to inject into the next matching requests.

    Attributes:
        kind: `status` answers with `status` and the API's real error body; `rate_limit`
            answers 429 (YouTube with `Retry-After`, Helix with `Ratelimit-Reset` that many
            seconds ahead); `slow` waits `delay_seconds` before answering normally;
            `malformed_json` answers 200 with a body that is not JSON; `truncated` announces the
            full body but sends half of it and closes the connection; `expire_tokens` makes
            every Twitch token issued so far invalid (401) at once; `poison` answers normally
            but with one value of one item replaced: `value` goes to the dotted path `field`
            of the `item`-th entry of `items` (YouTube) or `data` (Helix), or replaces the
            whole entry when `field` is empty. Values can be anything JSON holds: counts too
            large for any column, NUL characters, lone surrogates.
        api: Which API it hits (`any`: all three).
        path_prefix: Only requests whose path starts with this (e.g. `/youtube/v3/videos`).
        count: How many requests it hits before it is used up.
        status: The status of a `status` fault.
        retry_after_seconds: Wait announced by a `rate_limit` fault (None: YouTube sends no
            Retry-After; Helix resets in one second).
        delay_seconds: Delay of a `slow` fault.
        field: Dotted path within the item a `poison` fault replaces (e.g. `snippet.title`).
        value: The value a `poison` fault puts there.
        item: Position of the poisoned item in the answer's list.
    """

    kind: FaultKind
    api: FaultApi = "any"
    path_prefix: str = ""
    count: int = 1
    status: int = 503
    retry_after_seconds: float | None = None
    delay_seconds: float = 0.0
    field: str = ""
    value: Any = None
    item: int = 0

    def matches(self, api: str, path: str) -> bool:
        """Whether the fault hits a request to `api` at `path`."""
        return self.api in ("any", api) and path.startswith(self.path_prefix)

    def poison(self, body: Any) -> Any:
        """The answer body with this fault's value put in (a `poison` fault; else unchanged)."""
        if self.kind != "poison" or not isinstance(body, dict):
            return body
        body = copy.deepcopy(body)  # the API may answer from structures it keeps
        entries = body.get("items", body.get("data"))
        if not isinstance(entries, list) or self.item >= len(entries):
            return body
        if not self.field:
            entries[self.item] = self.value
            return body
        *parents, leaf = self.field.split(".")
        target = entries[self.item]
        for name in parents:
            target = target.setdefault(name, {})
        target[leaf] = self.value
        return body


@dataclass
class Token:
    """An issued Twitch app token: whose it is and when it expires (epoch seconds)."""

    client_id: str
    expires_at: float


class SimulatorState:
    """Everything a running simulator counts and remembers, shared by its request threads."""

    def __init__(
        self,
        world: World,
        youtube_api_key: str,
        twitch_client_id: str,
        twitch_client_secret: str,
        quota_limits: dict[str, int] | None,
        twitch_points_per_minute: int,
        twitch_token_lifetime_seconds: int,
    ) -> None:
        self.world = world
        self.youtube = YouTubeApi(world.youtube)
        self.twitch = TwitchApi(world.twitch)
        self.clock = SimClock()
        self.lock = threading.Lock()
        self.youtube_api_key = youtube_api_key
        self.twitch_client_id = twitch_client_id
        self.twitch_client_secret = twitch_client_secret
        self.initial_quota_limits = {**DEFAULT_QUOTA_LIMITS, **(quota_limits or {})}
        self.quota_limits = dict(self.initial_quota_limits)
        self.spent: dict[tuple[date, str], int] = {}
        self.points_per_minute = twitch_points_per_minute
        self.bucket_points = float(twitch_points_per_minute)
        self.bucket_time: float | None = None
        self.token_lifetime = twitch_token_lifetime_seconds
        self.tokens: dict[str, Token] = {}
        self.faults: list[Fault] = []
        self._zero_counts()

    def reset_counts(self) -> None:
        """Zero every call, unit and point count (quota spent today is kept)."""
        with self.lock:
            self._zero_counts()

    def _zero_counts(self) -> None:
        # Per name: [calls, units] (YouTube), [calls, points] (Helix), [calls] (auth).
        self.youtube_counts: dict[str, list[int]] = {
            name: [0, 0] for name, _, _ in YOUTUBE_METHODS.values()
        }
        self.twitch_counts: dict[str, list[int]] = {name: [0, 0] for name in TWITCH_ENDPOINTS}
        self.auth_counts: dict[str, list[int]] = {name: [0] for name in AUTH_ENDPOINTS}

    def count_call(self, counts: dict[str, list[int]], name: str, charged: int = 0) -> None:
        """Count one call of `name` in `counts`, with the units or points it was charged."""
        with self.lock:
            counts[name][0] += 1
            if charged:
                counts[name][1] += charged

    def reset(self) -> None:
        """Back to a fresh simulator over the same world.

        Counts, quota spent and limits, faults, issued tokens, the Helix bucket and the clock.
        """
        with self.lock:
            self._zero_counts()
            self.spent.clear()
            self.quota_limits = dict(self.initial_quota_limits)
            self.faults.clear()
            self.tokens.clear()
            self.bucket_points = float(self.points_per_minute)
            self.bucket_time = None
        self.clock.follow_wall_clock()

    # ----- YouTube quota ---------------------------------------------------------------------

    @staticmethod
    def pacific_day(at: datetime) -> date:
        """The YouTube quota day of a time."""
        return at.astimezone(PACIFIC).date()

    def charge(self, method: str, bucket: str, units: int, at: datetime) -> bool:
        """Count a call and charge its units; False (nothing charged) when over the limit."""
        key = (self.pacific_day(at), bucket)
        with self.lock:
            charged = self.spent.get(key, 0) + units <= self.quota_limits[bucket]
            if charged:
                self.spent[key] = self.spent.get(key, 0) + units
        self.count_call(self.youtube_counts, method, units if charged else 0)
        return charged

    # ----- Twitch bucket ---------------------------------------------------------------------

    def _refill(self, at: float) -> None:
        if self.bucket_time is not None and at > self.bucket_time:
            rate = self.points_per_minute / 60.0
            self.bucket_points = min(
                float(self.points_per_minute), self.bucket_points + (at - self.bucket_time) * rate
            )
        self.bucket_time = at

    def take_point(self, at: float) -> bool:
        """Take one point from the Helix bucket; False when it is empty."""
        with self.lock:
            self._refill(at)
            if self.bucket_points < 1.0:
                return False
            self.bucket_points -= 1.0
            return True

    def ratelimit_headers(self, at: float, reset_in: float | None = None) -> dict[str, str]:
        """Helix's rate-limit headers for the bucket at `at`.

        `Ratelimit-Reset` is when the bucket is full again, or `reset_in` seconds ahead.
        """
        rate = self.points_per_minute / 60.0
        with self.lock:
            self._refill(at)
            remaining = int(self.bucket_points)
            full_in = (self.points_per_minute - self.bucket_points) / rate
        return {
            "Ratelimit-Limit": str(self.points_per_minute),
            "Ratelimit-Remaining": str(remaining),
            "Ratelimit-Reset": str(math.ceil(at + (full_in if reset_in is None else reset_in))),
        }

    # ----- faults ----------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Add a fault; `expire_tokens` takes effect at once."""
        if fault.kind == "expire_tokens":
            with self.lock:
                self.tokens.clear()
            return
        if fault.count < 1:
            raise ValueError("a fault must hit at least one request (count >= 1)")
        if fault.kind == "status" and not 400 <= fault.status <= 599:
            raise ValueError("a status fault needs an error status (400..599)")
        with self.lock:
            self.faults.append(replace(fault))

    def take_faults(self, api: str, path: str) -> tuple[float, Fault | None]:
        """The faults that hit a request: total slow delay, and the first answering fault.

        Each fault that hits uses up one of its requests.
        """
        delay, answer = 0.0, None
        with self.lock:
            for fault in self.faults:
                if not fault.matches(api, path):
                    continue
                if fault.kind == "slow":
                    delay += fault.delay_seconds
                    fault.count -= 1
                elif answer is None:
                    answer = fault
                    fault.count -= 1
            self.faults = [f for f in self.faults if f.count > 0]
        return delay, answer


class SimulatorControls:
    """Counting, quota, clock and fault controls of a simulator (in this process)."""

    _state: SimulatorState

    @property
    def world(self) -> World:
        """Ground truth of the simulated world."""
        return self._state.world

    def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """Calls (and YouTube units, Helix points) per method since the last reset.

        `{"youtube": {"videos.list": {"calls", "units"}, ...}, "twitch": {"streams": {"calls",
        "points"}, ...}, "auth": {"token": {"calls"}, "validate": {"calls"}}}`, every method
        present. A call rejected for its key or for quota counts as a call with 0 units; a
        Helix call rejected with 401 or 429 as a call with 0 points.
        """
        state = self._state
        with state.lock:
            return {
                "youtube": {
                    name: {"calls": c[0], "units": c[1]} for name, c in state.youtube_counts.items()
                },
                "twitch": {
                    name: {"calls": c[0], "points": c[1]} for name, c in state.twitch_counts.items()
                },
                "auth": {name: {"calls": c[0]} for name, c in state.auth_counts.items()},
            }

    def units_by_bucket(self, day: date | None = None) -> dict[str, int]:
        """Units spent per bucket on a Pacific day (default: the simulator's current one)."""
        state = self._state
        day = day or state.pacific_day(state.clock.now())
        with state.lock:
            return {bucket: state.spent.get((day, bucket), 0) for bucket in state.quota_limits}

    def quota_limits(self) -> dict[str, int]:
        """Units per Pacific day of each bucket."""
        with self._state.lock:
            return dict(self._state.quota_limits)

    def reset_counts(self) -> None:
        """Zero the call counts (quota spent today is kept: see `reset_quota`)."""
        self._state.reset_counts()

    def reset(self) -> None:
        """Back to a fresh simulator over the same (already generated) world.

        Counts, quota spent and limits, faults, issued tokens, the Helix bucket and the clock
        all return to their initial state; cheaper than building a new world.
        """
        self._state.reset()

    def reset_quota(self) -> None:
        """Forget every unit spent, as if no day had used any quota."""
        with self._state.lock:
            self._state.spent.clear()

    def set_quota_limit(self, bucket: str, units: int) -> None:
        """Answer quotaExceeded once `units` are spent in `bucket` on a Pacific day."""
        if bucket not in DEFAULT_QUOTA_LIMITS:
            raise ValueError(
                f"unknown bucket {bucket!r}; buckets: {', '.join(DEFAULT_QUOTA_LIMITS)}"
            )
        with self._state.lock:
            self._state.quota_limits[bucket] = units

    def set_clock(self, at: datetime) -> None:
        """Freeze the simulator clock at `at` (naive means UTC)."""
        self._state.clock.set(at)

    def advance_clock(self, delta: timedelta) -> None:
        """Move the simulator clock by `delta`."""
        self._state.clock.advance(delta)

    def follow_wall_clock(self) -> None:
        """Read `datetime.now(UTC)` at each request again (the default)."""
        self._state.clock.follow_wall_clock()

    def now(self) -> datetime:
        """The simulator time."""
        return self._state.clock.now()

    def inject(self, fault: Fault) -> None:
        """Inject a fault into the next matching requests."""
        self._state.inject(fault)

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._state.lock:
            self._state.faults.clear()

    def faults(self) -> list[Fault]:
        """Pending faults, with the requests each has left in `count`."""
        with self._state.lock:
            return [replace(f) for f in self._state.faults]
