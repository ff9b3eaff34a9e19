"""Driving a simulator in another process: the `/_sim/...` endpoints and a client for them.

| request | what it does |
|---|---|
| `GET /_sim/counts` | `counts()` |
| `POST /_sim/reset` `{"quota": false}` | `reset_counts()` (and `reset_quota()` when `quota`) |
| `POST /_sim/reset` `{"all": true}` | `reset()`: a fresh simulator over the same world |
| `GET /_sim/quota` | `{"units_by_bucket", "limits", "pacific_day"}` |
| `POST /_sim/quota` `{"bucket", "limit"}` | `set_quota_limit(bucket, limit)` |
| `GET /_sim/clock` | `{"now": ISO 8601, "frozen": bool}` |
| `POST /_sim/clock` `{"set"}`, `{"advance_seconds"}` or `{"follow_wall_clock": true}` | clock |
| `GET /_sim/faults`, `POST /_sim/faults` (Fault fields), `DELETE /_sim/faults` | faults |
| `GET /_sim/world/video?id=` | ground truth of one video |
| `GET /_sim/world/videos?game=&at=&hours=` | ids of videos published in the hours before `at` |
| `GET /_sim/world/viral?game=&at=&hours=` | `viral_video_ids` |
| `GET /_sim/world/languages?game=&at=&hours=` | `language_shares` |
| `GET /_sim/world/chart?region=&at=` | `chart_ids` |
| `GET /_sim/world/streams?game=&at=` | live streams (id, user, language, viewers) |

`at` defaults to the simulator's now; times are ISO 8601.
"""

from dataclasses import asdict, fields
from datetime import datetime, timedelta
from typing import Any

import httpx

from intel_assets.simulator.clock import as_utc
from intel_assets.simulator.state import Fault, SimulatorControls, SimulatorState

TIMEOUT_SECONDS = 10.0


def parse_time(value: str) -> datetime:
    """An ISO 8601 time as a UTC datetime (naive means UTC)."""
    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


class _Local(SimulatorControls):
    def __init__(self, state: SimulatorState) -> None:
        self._state = state


def _video_truth(controls: SimulatorControls, video_id: str, at: datetime) -> dict[str, Any]:
    video = controls.world.video(video_id)
    if video is None:
        raise KeyError(f"no video {video_id}")
    seconds = at.timestamp()
    return {
        **asdict(video),
        "views": video.views_at(seconds),
        "likes": video.likes_at(seconds),
        "comments": video.comments_at(seconds),
        "state": video.state_at(seconds),
        "exists": video.exists_at(seconds),
    }


def handle(
    state: SimulatorState,
    verb: str,
    path: str,
    query: dict[str, list[str]],
    payload: dict[str, Any],
    now: datetime,
) -> tuple[int, Any]:
    """Answer one `/_sim/...` request: (status, JSON body)."""
    controls = _Local(state)
    arg = {name: values[0] for name, values in query.items() if values}
    at = parse_time(arg["at"]) if "at" in arg else now
    within = timedelta(hours=float(arg.get("hours", 24)))
    route = (verb, path.rstrip("/"))
    world = controls.world
    if route == ("GET", "/_sim/counts"):
        return 200, controls.counts()
    if route == ("POST", "/_sim/reset"):
        if payload.get("all"):
            controls.reset()
        else:
            controls.reset_counts()
        if payload.get("quota"):
            controls.reset_quota()
        return 200, {"ok": True}
    if route == ("GET", "/_sim/quota"):
        return 200, {
            "units_by_bucket": controls.units_by_bucket(),
            "limits": controls.quota_limits(),
            "pacific_day": state.pacific_day(now).isoformat(),
        }
    if route == ("POST", "/_sim/quota"):
        controls.set_quota_limit(str(payload["bucket"]), int(payload["limit"]))
        return 200, {"limits": controls.quota_limits()}
    if route[1] == "/_sim/clock":
        if verb == "POST":
            if "set" in payload:
                controls.set_clock(parse_time(str(payload["set"])))
            elif "advance_seconds" in payload:
                controls.advance_clock(timedelta(seconds=float(payload["advance_seconds"])))
            elif payload.get("follow_wall_clock"):
                controls.follow_wall_clock()
            else:
                raise ValueError("give one of set, advance_seconds, follow_wall_clock")
        return 200, {"now": controls.now().isoformat(), "frozen": state.clock.frozen}
    if route[1] == "/_sim/faults":
        if verb == "POST":
            known = {f.name for f in fields(Fault)}
            controls.inject(Fault(**{k: v for k, v in payload.items() if k in known}))
        elif verb == "DELETE":
            controls.clear_faults()
        return 200, [asdict(f) for f in controls.faults()]
    if route == ("GET", "/_sim/world/video"):
        return 200, _video_truth(controls, arg["id"], at)
    if route == ("GET", "/_sim/world/videos"):
        videos = world.videos_at(at, within, arg.get("game"))
        return 200, [v.video_id for v in videos]
    if route == ("GET", "/_sim/world/viral"):
        return 200, world.viral_video_ids(arg["game"], at, within)
    if route == ("GET", "/_sim/world/languages"):
        return 200, world.language_shares(arg["game"], at, within)
    if route == ("GET", "/_sim/world/chart"):
        return 200, world.chart_ids(arg.get("region", "US"), at)
    if route == ("GET", "/_sim/world/streams"):
        seconds = at.timestamp()
        return 200, [
            {
                "stream_id": s.stream_id,
                "user_id": s.streamer.user_id,
                "language": s.streamer.language,
                "viewer_count": s.viewers_at(seconds),
            }
            for s in world.live_streams(arg["game"], at)
        ]
    return 404, {"error": f"no control endpoint {verb} {path}"}


class RemoteSimulator:
    """The controls of a simulator running in another process (`intel-assets simulator`).

    Same method names as `RunningSimulator`'s controls, over `/_sim/...`.

    Attributes:
        base_url: `http://HOST:PORT` of the simulator.
        youtube_url: `base_url + "/youtube/v3"`.
        twitch_url: `base_url + "/helix"`.
        auth_url: `base_url + "/oauth2"`.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.youtube_url = self.base_url + "/youtube/v3"
        self.twitch_url = self.base_url + "/helix"
        self.auth_url = self.base_url + "/oauth2"
        self._http = httpx.Client(base_url=self.base_url + "/_sim", timeout=TIMEOUT_SECONDS)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _get(self, path: str, **params: Any) -> Any:
        answer = self._http.get(path, params={k: v for k, v in params.items() if v is not None})
        answer.raise_for_status()
        return answer.json()

    def _send(self, verb: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        answer = self._http.request(verb, path, json=payload)
        answer.raise_for_status()
        return answer.json()

    def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """Calls, units and points per method since the last reset."""
        return self._get("/counts")

    def units_by_bucket(self) -> dict[str, int]:
        """Units spent per bucket on the simulator's current Pacific day."""
        return self._get("/quota")["units_by_bucket"]

    def quota_limits(self) -> dict[str, int]:
        """Units per Pacific day of each bucket."""
        return self._get("/quota")["limits"]

    def reset_counts(self, quota: bool = False) -> None:
        """Zero the call counts (and the quota spent, with `quota=True`)."""
        self._send("POST", "/reset", {"quota": quota})

    def reset(self) -> None:
        """Back to a fresh simulator over the same world (counts, quota, faults, clock...)."""
        self._send("POST", "/reset", {"all": True})

    def reset_quota(self) -> None:
        """Zero the counts and forget every unit spent."""
        self.reset_counts(quota=True)

    def set_quota_limit(self, bucket: str, units: int) -> None:
        """Answer quotaExceeded once `units` are spent in `bucket` on a Pacific day."""
        self._send("POST", "/quota", {"bucket": bucket, "limit": units})

    def set_clock(self, at: datetime) -> None:
        """Freeze the simulator clock at `at`."""
        self._send("POST", "/clock", {"set": as_utc(at).isoformat()})

    def advance_clock(self, delta: timedelta) -> None:
        """Move the simulator clock by `delta`."""
        self._send("POST", "/clock", {"advance_seconds": delta.total_seconds()})

    def follow_wall_clock(self) -> None:
        """Follow the wall clock again."""
        self._send("POST", "/clock", {"follow_wall_clock": True})

    def now(self) -> datetime:
        """The simulator time."""
        return parse_time(self._get("/clock")["now"])

    def inject(self, fault: Fault) -> None:
        """Inject a fault."""
        self._send("POST", "/faults", asdict(fault))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self._send("DELETE", "/faults")

    def faults(self) -> list[Fault]:
        """Pending faults."""
        return [Fault(**f) for f in self._get("/faults")]

    def video_truth(self, video_id: str, at: datetime | None = None) -> dict[str, Any]:
        """Ground truth of one video, with its counts at `at` (default: now)."""
        return self._get("/world/video", id=video_id, at=at and as_utc(at).isoformat())

    def viral_video_ids(
        self, game: str, at: datetime | None = None, within: timedelta = timedelta(days=1)
    ) -> list[str]:
        """Ids of the game's viral videos published in the `within` before `at`."""
        hours = within.total_seconds() / 3600
        return self._get("/world/viral", game=game, at=at and as_utc(at).isoformat(), hours=hours)

    def language_shares(
        self, game: str, at: datetime | None = None, within: timedelta = timedelta(days=1)
    ) -> dict[str, float]:
        """Share of each true language among the game's recent videos."""
        hours = within.total_seconds() / 3600
        return self._get(
            "/world/languages", game=game, at=at and as_utc(at).isoformat(), hours=hours
        )

    def chart_ids(self, region: str, at: datetime | None = None) -> list[str]:
        """The region's gaming chart at `at`, in rank order."""
        return self._get("/world/chart", region=region, at=at and as_utc(at).isoformat())
