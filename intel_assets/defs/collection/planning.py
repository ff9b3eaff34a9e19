"""What the quota-aware sensor decides, as pure functions of state and time.

Given each game's collection state, the quota buckets and the breaker, `plan_youtube` says which
games to collect now and which to skip (and why). The rules:

- A game is due once its effective refresh interval has passed since its last collection. The
  interval is the catalog's, x1.5 after 3 unchanged snapshots in a row and x2 after 6 (the
  seed's rule for quiet games). A never-collected game is due at once and goes first.
- Due games are taken in order: never collected first, then priority, then most overdue.
- A game is requested only if every bucket its collection spends from can afford it. A bucket's
  daily budget is `target_share x limit` (default 50%, the seed's goal). Its spending is paced
  over the Pacific day: by a given time of day it may have spent the budget's share of the hours
  that have passed plus a small burst, i.e. what remains of the budget is spread over the hours
  that remain. A bucket closed by quotaExceeded affords nothing.
- Scarce `search.list` calls are shared out by priority: a game's daily share of the search
  budget is proportional to 1/priority, paced over the day like the buckets.
- Nothing is requested while the API's breaker is open.
- A retry after a failure waits a backoff (doubling, capped) so a broken game cannot eat the
  budget.

Each request carries a deterministic slot (the time the game became due, or its retry time),
so the sensor's run keys are stable: a game due at 10:00 asks for the same run every minute until
it runs, and Dagster runs it once.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from intel_assets.resources.quota import next_pacific_midnight

QUIET_SLOWDOWN: tuple[tuple[int, float], ...] = ((6, 2.0), (3, 1.5))
"""(unchanged snapshots in a row, interval factor), most unchanged first."""

FAILURE_BACKOFF_MINUTES = 5.0
FAILURE_BACKOFF_CAP_MINUTES = 120.0


@dataclass(frozen=True)
class GameSchedule:
    """A game's schedule and collection history, as the sensor sees it.

    Attributes:
        key: Partition key.
        priority: 1 is collected first.
        refresh_hours: The catalog's shortest interval between collections.
        last_collected_at: When its last snapshot was taken (None: never).
        unchanged_streak: Snapshots in a row whose content hash did not change.
        last_failure_at: When its last collection failed, if after the last success.
        failures_in_row: Collections that failed since the last success.
        expected_rows: Videos its last collection kept (sizes the cost estimate).
        search_calls_today: search.list calls it spent this Pacific day.
    """

    key: str
    priority: int
    refresh_hours: float
    last_collected_at: datetime | None = None
    unchanged_streak: int = 0
    last_failure_at: datetime | None = None
    failures_in_row: int = 0
    expected_rows: int = 0
    search_calls_today: int = 0


@dataclass(frozen=True)
class Budget:
    """One quota bucket's state.

    Attributes:
        name: Bucket name ("default", "search", "batch_stats").
        limit: Units per Pacific day.
        used: Units spent so far today.
        closed: Whether quotaExceeded closed it until the reset.
    """

    name: str
    limit: int
    used: int
    closed: bool = False


@dataclass(frozen=True)
class CollectionRequest:
    """One collection the sensor asks for.

    Attributes:
        game_key: The partition to collect.
        slot: The deterministic time slot (ISO 8601) the run key is made from.
        search_calls: search.list calls this collection may spend.
        estimated_units: Units per bucket the plan reserved for it.
    """

    game_key: str
    slot: str
    search_calls: int
    estimated_units: Mapping[str, int]

    @property
    def run_key(self) -> str:
        """The run key: the same for the same game and slot on every tick."""
        return f"youtube_videos:{self.game_key}:{self.slot}"


@dataclass(frozen=True)
class Plan:
    """What the sensor does this tick.

    Attributes:
        requests: Collections to run, in order.
        skipped: Game key to why it is not collected now.
    """

    requests: list[CollectionRequest]
    skipped: dict[str, str] = field(default_factory=dict)


def effective_interval(game: GameSchedule) -> timedelta:
    """The game's refresh interval after slowing down for unchanged snapshots."""
    factor = 1.0
    for streak, slowdown in QUIET_SLOWDOWN:
        if game.unchanged_streak >= streak:
            factor = slowdown
            break
    return timedelta(hours=game.refresh_hours * factor)


def due_at(game: GameSchedule) -> datetime | None:
    """When the game is next due (None: never collected, so due now)."""
    due = (
        None
        if game.last_collected_at is None
        else game.last_collected_at + effective_interval(game)
    )
    if game.last_failure_at is not None and game.failures_in_row > 0:
        backoff = min(
            FAILURE_BACKOFF_MINUTES * 2 ** (game.failures_in_row - 1), FAILURE_BACKOFF_CAP_MINUTES
        )
        retry = game.last_failure_at + timedelta(minutes=backoff)
        due = retry if due is None else max(due, retry)
    return due


def day_fraction_elapsed(now: datetime) -> float:
    """Share of the current Pacific day that has passed at `now`, in [0, 1)."""
    reset = next_pacific_midnight(now)
    day_start = next_pacific_midnight(reset - timedelta(hours=30))
    length = (reset - day_start).total_seconds()
    return min(max((now - day_start).total_seconds() / length, 0.0), 1.0)


def paced_allowance(
    budget: Budget, now: datetime, *, target_share: float, burst_hours: float
) -> float:
    """Units the bucket may have spent by `now` under linear pacing of its target budget.

    The target budget is `target_share x limit`; by a time of day, the share of it that belongs
    to the hours passed, plus `burst_hours` worth so a collection can start at midnight, and
    never more than the target itself.
    """
    target = target_share * budget.limit
    paced = target * (day_fraction_elapsed(now) + burst_hours / 24.0)
    return min(target, paced)


def search_share(games: Sequence[GameSchedule], key: str, daily_calls: float) -> float:
    """A game's share of the day's search calls: proportional to 1/priority."""
    return search_shares(games, daily_calls)[key]


def search_shares(games: Sequence[GameSchedule], daily_calls: float) -> dict[str, float]:
    """Every game's share of the day's search calls (`search_share`), in one pass."""
    weights = {g.key: 1.0 / g.priority for g in games}
    total = sum(weights.values())
    return {k: daily_calls * w / total if total else 0.0 for k, w in weights.items()}


def _due_games(
    games: Sequence[GameSchedule], now: datetime, skipped: dict[str, str]
) -> list[tuple[GameSchedule, datetime | None]]:
    """The games due now with their due time, most urgent first; the others go to `skipped`.

    Never-collected games first, then by priority, then the longest overdue, then by key.
    """
    due: list[tuple[tuple[int, int, float], GameSchedule, datetime | None]] = []
    for game in games:
        when = due_at(game)
        if when is not None and when > now:
            skipped[game.key] = f"not due until {when.isoformat()}"
            continue
        never = 0 if game.last_collected_at is None else 1
        overdue = 0.0 if when is None else (now - when).total_seconds()
        due.append(((never, game.priority, -overdue), game, when))
    due.sort(key=lambda item: (item[0], item[1].key))
    return [(game, when) for _, game, when in due]


@dataclass
class _Pacing:
    """The tick's paced allowance and planned spend per bucket, and the search shares."""

    allowance: dict[str, float]
    planned: dict[str, float]
    fair_search: dict[str, float]
    fraction: float
    has_search: bool

    def over(self, cost: Mapping[str, int]) -> list[str]:
        """The buckets `cost` would take past their paced allowance."""
        return [
            b
            for b, u in cost.items()
            if u > 0 and self.planned.get(b, 0) + u > self.allowance.get(b, 0)
        ]

    def fits(self, cost: Mapping[str, int]) -> bool:
        """Whether every bucket of `cost` (those it spends nothing of too) stays within pace."""
        return all(self.planned.get(b, 0) + u <= self.allowance.get(b, 0) for b, u in cost.items())

    def refusal(self, cost: Mapping[str, int], buckets: Sequence[str]) -> str:
        """Why a collection of `cost` is skipped: each bucket's need against its allowance."""
        return "quota: " + ", ".join(
            f"{b} needs {cost[b]} with {self.planned.get(b, 0):.0f} of a paced "
            f"{self.allowance.get(b, 0):.0f} spent"
            for b in sorted(buckets)
        )


def _pacing(
    games: Sequence[GameSchedule],
    budgets: Mapping[str, Budget],
    now: datetime,
    target_share: float,
    burst_hours: float,
) -> _Pacing:
    search = budgets.get("search")
    return _Pacing(
        allowance={
            name: 0.0
            if b.closed
            else paced_allowance(b, now, target_share=target_share, burst_hours=burst_hours)
            for name, b in budgets.items()
        },
        planned={name: float(b.used) for name, b in budgets.items()},
        fair_search=search_shares(games, target_share * search.limit if search else 0.0),
        fraction=day_fraction_elapsed(now),
        has_search=search is not None,
    )


def plan_youtube(
    games: Sequence[GameSchedule],
    budgets: Mapping[str, Budget],
    estimate: "CostModel",
    now: datetime,
    *,
    target_share: float = 0.5,
    burst_hours: float = 1.0,
    breaker_open_until: datetime | None = None,
    charts_cached: bool = False,
) -> Plan:
    """Decide which games' YouTube collections to request now.

    Args:
        games: Every game of the catalog with its state.
        budgets: The YouTube quota buckets by name.
        estimate: The cost model of one collection.
        now: The evaluation time (UTC).
        target_share: Share of each bucket's daily limit the day may use.
        burst_hours: Hours of paced budget that may be spent ahead of the pace.
        breaker_open_until: When the open breaker allows a probe; None when it is not open.
        charts_cached: Whether this window's charts (and uploads sweep) are already paid for.

    Returns:
        The requests in the order to run them and the reason for every game skipped.
    """
    if breaker_open_until is not None and breaker_open_until > now:
        reason = f"breaker open until {breaker_open_until.isoformat()}"
        return Plan(requests=[], skipped={g.key: reason for g in games})
    skipped: dict[str, str] = {}
    pacing = _pacing(games, budgets, now, target_share, burst_hours)
    charts_planned = charts_cached
    requests: list[CollectionRequest] = []
    for game, when in _due_games(games, now, skipped):
        fair_share = pacing.fair_search[game.key]
        wants_search = pacing.has_search and game.search_calls_today < min(
            fair_share, fair_share * pacing.fraction + 1.0
        )
        cost = estimate.units(game, with_charts=not charts_planned, search_calls=0)
        if unaffordable := pacing.over(cost):
            skipped[game.key] = pacing.refusal(cost, unaffordable)
            continue
        search_calls = 0
        if wants_search:
            with_search = estimate.units(game, with_charts=not charts_planned, search_calls=1)
            if pacing.fits(with_search):
                search_calls, cost = 1, with_search
        pacing.planned.update({b: pacing.planned.get(b, 0) + u for b, u in cost.items()})
        charts_planned = True
        slot = (when or game.last_collected_at or now).replace(second=0, microsecond=0)
        first = game.last_collected_at is None and when is None
        requests.append(
            CollectionRequest(
                game.key, "first" if first else slot.isoformat(), search_calls, dict(cost)
            )
        )
    return Plan(requests=requests, skipped=skipped)


@dataclass(frozen=True)
class CostModel:
    """Units one YouTube collection of a game is expected to spend, per bucket.

    Attributes:
        regions: Chart regions fetched once per collection window (shared by every game).
        chart_pages: Pages of 50 per region chart (the chart ends at about 200 videos).
        new_video_share: Share of a game's videos expected to be new (details via videos.list).
        search_results: Videos one search call returns (their details cost videos.list calls).
        uploads_playlists: Uploads playlists the window's sweep reads (paid with the charts).
        uploads_per_playlist: New uploads one playlist read is expected to bring (their details
            cost videos.list calls, 50 a unit).
    """

    regions: int
    chart_pages: int = 4
    new_video_share: float = 0.2
    search_results: int = 50
    uploads_playlists: int = 0
    uploads_per_playlist: float = 5.0

    def units(self, game: GameSchedule, *, with_charts: bool, search_calls: int) -> dict[str, int]:
        """The expected units per bucket of one collection of `game`."""
        tracked = max(game.expected_rows, 1)
        default = math.ceil(tracked * self.new_video_share / 50)
        default += math.ceil(search_calls * self.search_results / 50)
        if with_charts:
            default += self.regions * self.chart_pages
            if self.uploads_playlists > 0:
                default += self.uploads_playlists + math.ceil(
                    self.uploads_playlists * self.uploads_per_playlist / 50
                )
        return {
            "default": default,
            "batch_stats": math.ceil(tracked / 50),
            "search": search_calls,
        }
