"""A local YouTube Data API v3 + Twitch Helix server over a deterministic simulated world.

```python
from intel_assets.simulator import Simulator, Fault

with Simulator(seed=7).running() as s:
    s.youtube_url, s.twitch_url, s.auth_url   # point the clients here
    s.counts(), s.units_by_bucket(), s.inject(Fault(kind="status", count=3))
    s.world.viral_video_ids("fortnite", s.now())
```

See `server.py` for the request gates, `state.py` for counts, quota and faults, `control.py` for
driving a simulator in another process, `ground_truth.py` for what tests can ask the world.
"""

from intel_assets.simulator.control import RemoteSimulator
from intel_assets.simulator.ground_truth import World
from intel_assets.simulator.server import RunningSimulator, Simulator
from intel_assets.simulator.state import DEFAULT_QUOTA_LIMITS, YOUTUBE_METHODS, Fault
from intel_assets.simulator.twitch_world import Session, Streamer
from intel_assets.simulator.world import Channel, Video

__all__ = [
    "DEFAULT_QUOTA_LIMITS",
    "YOUTUBE_METHODS",
    "Channel",
    "Fault",
    "RemoteSimulator",
    "RunningSimulator",
    "Session",
    "Simulator",
    "Streamer",
    "Video",
    "World",
]
