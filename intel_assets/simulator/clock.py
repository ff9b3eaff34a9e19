"""The simulator's clock: the wall clock by default, or a time that tests and seeding set.

Following the wall clock means reading `datetime.now(UTC)` at each request, so a test that
moves time with time-machine moves the simulator with it.
"""

import threading
from datetime import UTC, datetime, timedelta


def as_utc(value: datetime) -> datetime:
    """A datetime in UTC (naive datetimes are taken to be UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SimClock:
    """Wall clock plus an offset, or a frozen instant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self._offset = timedelta()

    def now(self) -> datetime:
        """The simulator time (UTC)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still at a set time."""
        return self._frozen is not None

    def set(self, at: datetime) -> None:
        """Freeze the clock at `at`."""
        with self._lock:
            self._frozen = as_utc(at)

    def advance(self, delta: timedelta) -> None:
        """Move the clock by `delta` (a frozen clock stays frozen, a running one keeps running)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta

    def follow_wall_clock(self) -> None:
        """Read `datetime.now(UTC)` again at each request, with no offset."""
        with self._lock:
            self._frozen = None
            self._offset = timedelta()
