"""The tests' clock: every instant a test uses comes from here, never from the machine's clock.

- `ANCHOR` is the instant a test session treats as "now": `INTEL_TEST_NOW` (ISO 8601, e.g.
  `2027-03-14T09:59:30Z`) when it is set, else the machine's time when the session started.
  pytest prints it in its header, so a failure at some instant can be repeated with
  `INTEL_TEST_NOW=<that instant>`. Tests that need a day or an hour derive it from the anchor
  (`pacific_time`, `utc_midnight`) and move the process clock there with `time_machine`.
- `BOUNDARIES` are the instants the code keys windows on: Pacific midnight (the YouTube quota
  day), UTC midnight (hourly and daily partitions), the first of a month (monthly partitions and
  the snapshot tables' month partitions) and both daylight-saving changes (23- and 25-hour
  Pacific days). Each carries what a person worked out about both of its sides, and the
  clock-spread tests (`test_clock_spread.py`) run at each of them and at the anchor.

Servers keep their own clocks (Redis expires keys, Postgres has `now()`), which `time_machine`
cannot move: the code therefore gives Redis relative expiries and Postgres explicit instants, and
the spread's instants lie months away from the machine's clock to prove it.
"""

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine

ANCHOR_VARIABLE = "INTEL_TEST_NOW"
PACIFIC = ZoneInfo("America/Los_Angeles")


def _anchor() -> datetime:
    value = os.environ.get(ANCHOR_VARIABLE, "").strip()
    if not value:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(
            f"{ANCHOR_VARIABLE}={value!r} is not an ISO 8601 instant (e.g. 2027-03-14T09:59:30Z)"
        ) from None
    if parsed.tzinfo is None:
        raise SystemExit(f"{ANCHOR_VARIABLE}={value!r} needs a UTC offset (e.g. a trailing Z)")
    return parsed.astimezone(UTC)


ANCHOR: datetime = _anchor()
"""What this test session calls "now" (UTC)."""
ANCHOR_SOURCE = ANCHOR_VARIABLE if os.environ.get(ANCHOR_VARIABLE) else "the machine's clock"


def machine_now() -> datetime:
    """The machine's own time, for tests of processes that read it (a command, a daemon).

    The test process's clock is moved (`session_clock` in conftest); this reads past that.
    """
    return time_machine.escape_hatch.datetime.datetime.now(UTC)


def pacific_time(hour: int, minute: int = 0, *, after: datetime | None = None) -> datetime:
    """`hour:minute` in Los Angeles (as UTC) on the first 24-hour Pacific day after `after`.

    Args:
        hour: Hour of the Pacific day.
        minute: Minute of that hour.
        after: The instant whose Pacific day is passed (default: the anchor).

    A day of exactly 24 hours keeps hand-computed day fractions (10:00 is 10/24) true; the
    23- and 25-hour days have tests of their own (the spread).
    """
    day = (after or ANCHOR).astimezone(PACIFIC).date() + timedelta(days=1)
    while True:
        start = datetime.combine(day, time(0), tzinfo=PACIFIC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=PACIFIC)
        if end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=24):
            return datetime.combine(day, time(hour, minute), tzinfo=PACIFIC).astimezone(UTC)
        day += timedelta(days=1)


def utc_midnight(days: int = 0) -> datetime:
    """The UTC midnight that starts the anchor's UTC day, moved by `days`."""
    start = ANCHOR.replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=days)


@dataclass(frozen=True)
class Boundary:
    """An instant where a window the code keys on turns, and what holds on each side of it.

    Attributes:
        name: What turns there (the test id).
        at: The instant (UTC).
        pacific_days: The Pacific date (the quota day) just before and just after `at`.
        quota_resets: When the quota day just before and just after `at` ends (UTC).
        utc_days: The UTC date just before and just after `at`.
        months: The UTC month (first day) just before and just after `at`.
    """

    name: str
    at: datetime
    pacific_days: tuple[date, date]
    quota_resets: tuple[datetime, datetime]
    utc_days: tuple[date, date]
    months: tuple[date, date]


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# Worked out by hand from the calendar and US daylight-saving rules (second Sunday of March at
# 02:00 local, first Sunday of November at 02:00 local): PST is UTC-8, PDT is UTC-7.
BOUNDARIES: tuple[Boundary, ...] = (
    Boundary(
        # 2026-12-07 24:00 PST; the new quota day is 24 hours long.
        name="pacific-midnight",
        at=_utc(2026, 12, 8, 8),
        pacific_days=(date(2026, 12, 7), date(2026, 12, 8)),
        quota_resets=(_utc(2026, 12, 8, 8), _utc(2026, 12, 9, 8)),
        utc_days=(date(2026, 12, 8), date(2026, 12, 8)),
        months=(date(2026, 12, 1), date(2026, 12, 1)),
    ),
    Boundary(
        # UTC midnight, a new month and a new year; 16:00 PST on 2026-12-31.
        name="utc-midnight-new-month-and-year",
        at=_utc(2027, 1, 1),
        pacific_days=(date(2026, 12, 31), date(2026, 12, 31)),
        quota_resets=(_utc(2027, 1, 1, 8), _utc(2027, 1, 1, 8)),
        utc_days=(date(2026, 12, 31), date(2027, 1, 1)),
        months=(date(2026, 12, 1), date(2027, 1, 1)),
    ),
    Boundary(
        # 2027-03-14 00:00 PST starts a 23-hour quota day (it ends at 00:00 PDT = 07:00 UTC).
        name="pacific-midnight-before-spring-forward",
        at=_utc(2027, 3, 14, 8),
        pacific_days=(date(2027, 3, 13), date(2027, 3, 14)),
        quota_resets=(_utc(2027, 3, 14, 8), _utc(2027, 3, 15, 7)),
        utc_days=(date(2027, 3, 14), date(2027, 3, 14)),
        months=(date(2027, 3, 1), date(2027, 3, 1)),
    ),
    Boundary(
        # 02:00 PST becomes 03:00 PDT; the quota day goes on.
        name="spring-forward",
        at=_utc(2027, 3, 14, 10),
        pacific_days=(date(2027, 3, 14), date(2027, 3, 14)),
        quota_resets=(_utc(2027, 3, 15, 7), _utc(2027, 3, 15, 7)),
        utc_days=(date(2027, 3, 14), date(2027, 3, 14)),
        months=(date(2027, 3, 1), date(2027, 3, 1)),
    ),
    Boundary(
        # 2027-03-31 24:00 PDT: a Pacific month begins (UTC is already on April 1).
        name="pacific-midnight-first-of-month",
        at=_utc(2027, 4, 1, 7),
        pacific_days=(date(2027, 3, 31), date(2027, 4, 1)),
        quota_resets=(_utc(2027, 4, 1, 7), _utc(2027, 4, 2, 7)),
        utc_days=(date(2027, 4, 1), date(2027, 4, 1)),
        months=(date(2027, 4, 1), date(2027, 4, 1)),
    ),
    Boundary(
        # 2027-11-07 00:00 PDT starts a 25-hour quota day (it ends at 00:00 PST = 08:00 UTC).
        name="pacific-midnight-before-fall-back",
        at=_utc(2027, 11, 7, 7),
        pacific_days=(date(2027, 11, 6), date(2027, 11, 7)),
        quota_resets=(_utc(2027, 11, 7, 7), _utc(2027, 11, 8, 8)),
        utc_days=(date(2027, 11, 7), date(2027, 11, 7)),
        months=(date(2027, 11, 1), date(2027, 11, 1)),
    ),
    Boundary(
        # 02:00 PDT becomes 01:00 PST; the quota day goes on.
        name="fall-back",
        at=_utc(2027, 11, 7, 9),
        pacific_days=(date(2027, 11, 7), date(2027, 11, 7)),
        quota_resets=(_utc(2027, 11, 8, 8), _utc(2027, 11, 8, 8)),
        utc_days=(date(2027, 11, 7), date(2027, 11, 7)),
        months=(date(2027, 11, 1), date(2027, 11, 1)),
    ),
    Boundary(
        # The end of February in a leap year: UTC midnight from the 29th into March.
        name="leap-day-into-march",
        at=_utc(2028, 3, 1),
        pacific_days=(date(2028, 2, 29), date(2028, 2, 29)),
        quota_resets=(_utc(2028, 3, 1, 8), _utc(2028, 3, 1, 8)),
        utc_days=(date(2028, 2, 29), date(2028, 3, 1)),
        months=(date(2028, 2, 1), date(2028, 3, 1)),
    ),
)


def header() -> str:
    """The line pytest prints about the clock."""
    now = ANCHOR.isoformat().replace("+00:00", "Z")
    return (
        f"test clock: now is {now} (from {ANCHOR_SOURCE}; set {ANCHOR_VARIABLE} to repeat); "
        f"spread: {len(BOUNDARIES)} boundaries"
    )
