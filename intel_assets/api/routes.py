"""The read API's data routes (`/v1/...`).

Routes are plain functions (FastAPI runs them in its thread pool) over the blocking clients the
pipeline itself uses. Measured on `/v1/games/{game}/intel` from the hot tier (one connection,
2,000 requests each, interleaved, this project's 2-core machine): 1.79 ms median as a plain
function, 1.58 ms as an `async def` running the same reads on the event loop, the floor any
async client could reach. 0.2 ms does not pay for a second, async copy of the data access, and
blocking reads on the event loop would stall every request behind one slow Postgres query.

Limits (a client asking beyond them gets 400 and the limit in words):
- hourly history: at most `HOURLY_MAX_DAYS` days per request (default: the last 24 hours);
- daily history: at most `DAILY_MAX_DAYS` days per request (default: the last 30 days);
- Twitch statistics: at most `TWITCH_MAX_DAYS[grain]` days per request (default: the last 24
  hours, 30 days or 12 months);
- trending and optimal durations: windows of 1 to `WINDOW_MAX_DAYS` days (default 7).
"""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BeforeValidator

from intel_assets.analyzers.registry import ANALYZERS
from intel_assets.api import views
from intel_assets.api.schemas import (
    Analysis,
    AnalyzerName,
    Breaker,
    BroadcasterGrowth,
    BroadcasterGrowthList,
    BroadcasterOrder,
    ChannelGrowth,
    ChannelGrowthList,
    DailyHistory,
    DailyMetrics,
    DurationBucket,
    ErrorBody,
    Game,
    GameIntel,
    GameList,
    GameSummary,
    HourlyHistory,
    HourlyMetrics,
    OptimalDurations,
    QuotaBucket,
    QuotaStatus,
    TopStreamer,
    TopStreamerList,
    TrendingCategories,
    TrendingCategory,
    TwitchGrain,
    TwitchStatsHistory,
    TwitchStatsPeriod,
)
from intel_assets.api.tiered_store import IntelStore

HOURLY_MAX_DAYS = 31
DAILY_MAX_DAYS = 366
WINDOW_MAX_DAYS = 366
DEFAULT_HOURS = 24
DEFAULT_DAYS = 30
DEFAULT_WINDOW_DAYS = 7
TWITCH_MAX_DAYS: dict[str, int] = {"hour": 31, "day": 366, "month": 3660}
CHANNELS_MAX = 500


def _iso_datetime(value: Any) -> Any:
    """ISO 8601 text as a datetime; a time without a zone is UTC."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date or time, e.g. 2026-03-04T05:00:00Z") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _iso_date(value: Any) -> Any:
    """ISO 8601 text as a date."""
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date, e.g. 2026-03-04") from None


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def get_store(request: Request) -> IntelStore:
    """The process's store (built with the application)."""
    return request.app.state.store


async def store_dependency(request: Request) -> IntelStore:
    """`get_store` as a dependency; async so it costs no thread hop."""
    return get_store(request)


StoreDep = Annotated[IntelStore, Depends(store_dependency)]
GameKey = Annotated[
    str, Path(description="A game's key (see `/v1/games`), e.g. `fortnite`.", max_length=200)
]
WindowDays = Annotated[
    int,
    Query(
        ge=1,
        le=WINDOW_MAX_DAYS,
        description="The window: this many complete UTC days before today.",
    ),
]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: {"model": ErrorBody, "description": "Unknown game."}
}
COMMON: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: {
        "model": ErrorBody,
        "description": "A query parameter the route does not take or sent twice, or a bad range.",
    },
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": ErrorBody,
        "description": "A service the answer needs (Postgres, or Redis for quota) is down.",
    },
}


def query_parameters(*names: str) -> Any:
    """A route dependency refusing query parameters other than `names`, and repeated ones.

    A misspelt parameter (`?strat=`) would otherwise be ignored silently and the client would
    get the default range without knowing.
    """
    allowed = frozenset(names)
    takes = ", ".join(names) if names else "none"

    async def refuse_unknown(request: Request) -> None:
        params = request.query_params
        unknown = sorted(set(params) - allowed)
        if unknown:
            shown = ", ".join(repr(name[:40]) for name in unknown[:5])
            raise _bad_request(f"unknown query parameter {shown}; this route takes: {takes}")
        repeated = sorted(name for name in allowed if len(params.getlist(name)) > 1)
        if repeated:
            raise _bad_request(f"query parameter {repeated[0]!r} is given more than once")

    return Depends(refuse_unknown)


router = APIRouter(responses=COMMON)


def _bad_request(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail=detail)


def _too_long(max_days: int) -> HTTPException:
    return _bad_request(
        f"the range is longer than {max_days} days: request it in parts (give both start and end)"
    )


@router.get("/games", summary="Every tracked game", dependencies=[query_parameters()])
def list_games(store: StoreDep) -> GameList:
    """The catalog's games and those discovered from Twitch's top games."""
    catalog = store.games.catalog()
    base = store.games.base.games
    return GameList(
        games=[
            Game(
                key=key,
                display_name=catalog.games[key].display_name,
                priority=catalog.games[key].priority,
                discovered=key not in base,
            )
            for key in catalog.keys
        ]
    )


@router.get(
    "/games/{game}/intel",
    summary="Every analyzer's latest result",
    responses=NOT_FOUND,
    dependencies=[query_parameters()],
)
def game_intel(game: GameKey, store: StoreDep) -> GameIntel:
    """Each analyzer's latest result for the game: from Redis, else the last one in Postgres.

    Each result says its source, its age and its confidence decayed to now.
    """
    store.games.require(game)
    names = list(ANALYZERS)
    found = store.analyses(game, names)
    now = datetime.now(UTC)
    return GameIntel(
        game_key=game,
        served_at=now,
        analyses={name: views.analysis_view(stored, now) for name, stored in found.items()},
        missing=[name for name in names if name not in found],  # type: ignore[misc]
    )


@router.get(
    "/games/{game}/intel/{analyzer}",
    summary="One analyzer's latest result",
    dependencies=[query_parameters()],
    responses={
        status.HTTP_404_NOT_FOUND: {
            "model": ErrorBody,
            "description": "Unknown game, or no result of this analyzer for it yet.",
        }
    },
)
def game_analysis(game: GameKey, analyzer: AnalyzerName, store: StoreDep) -> Analysis:
    """The analyzer's latest result for the game: from Redis, else the last one in Postgres."""
    store.games.require(game)
    found = store.analyses(game, [analyzer])
    if analyzer not in found:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail=f"no {analyzer} analysis of {game} yet: it follows the game's first collection",
        )
    return views.analysis_view(found[analyzer], datetime.now(UTC))


@router.get(
    "/games/{game}/summary",
    summary="The latest raw data",
    responses=NOT_FOUND,
    dependencies=[query_parameters()],
)
def game_summary(game: GameKey, store: StoreDep) -> GameSummary:
    """The game's latest YouTube and Twitch snapshots in figures, with their top items."""
    store.games.require(game)
    snapshots = store.snapshots(game)
    now = datetime.now(UTC)
    youtube = snapshots.get("youtube")
    twitch = snapshots.get("twitch")
    return GameSummary(
        game_key=game,
        served_at=now,
        youtube=None if youtube is None else views.youtube_summary(youtube, now),
        twitch=None if twitch is None else views.twitch_summary(twitch, now),
    )


def _next_hour(now: datetime) -> datetime:
    start = now.replace(minute=0, second=0, microsecond=0)
    return start if start == now else start + timedelta(hours=1)


@router.get(
    "/games/{game}/hourly",
    summary="Hourly history",
    responses=NOT_FOUND,
    dependencies=[query_parameters("start", "end")],
)
def game_hourly(
    game: GameKey,
    store: StoreDep,
    start: Annotated[
        IsoDateTime | None,
        Query(description="First hour (included); default: 24 hours before `end`."),
    ] = None,
    end: Annotated[
        IsoDateTime | None,
        Query(description="End of the range (excluded); default: the end of this hour."),
    ] = None,
) -> HourlyHistory:
    """The game's UTC hours with `start <= hour_start < end` (`intel_hourly_metrics`).

    Times are ISO 8601; a time without a zone is UTC. At most 31 days per request.
    """
    store.games.require(game)
    try:
        end = end or _next_hour(datetime.now(UTC))
        start = start or end - timedelta(hours=DEFAULT_HOURS)
    except OverflowError:
        raise _bad_request("the range reaches outside the years 1 to 9999") from None
    if end <= start:
        raise _bad_request("end must be after start")
    if end - start > timedelta(days=HOURLY_MAX_DAYS):
        raise _too_long(HOURLY_MAX_DAYS)
    rows = store.hourly(game, start, end)
    return HourlyHistory(
        game_key=game,
        start=start,
        end=end,
        hours=[HourlyMetrics.model_validate(row) for row in rows],
    )


@router.get(
    "/games/{game}/daily",
    summary="Daily history",
    responses=NOT_FOUND,
    dependencies=[query_parameters("start", "end")],
)
def game_daily(
    game: GameKey,
    store: StoreDep,
    start: Annotated[
        IsoDate | None, Query(description="First day (included); default: 29 days before `end`.")
    ] = None,
    end: Annotated[
        IsoDate | None, Query(description="Last day (included); default: today (UTC).")
    ] = None,
) -> DailyHistory:
    """The game's UTC days from `start` to `end`, both included (`intel_daily_metrics`).

    At most 366 days per request.
    """
    store.games.require(game)
    try:
        end = end or datetime.now(UTC).date()
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    except OverflowError:
        raise _bad_request("the range reaches outside the years 1 to 9999") from None
    if end < start:
        raise _bad_request("end must not be before start")
    if (end - start).days + 1 > DAILY_MAX_DAYS:
        raise _too_long(DAILY_MAX_DAYS)
    rows = store.daily(game, start, end)
    return DailyHistory(
        game_key=game,
        start=start,
        end=end,
        days=[DailyMetrics.model_validate(row) for row in rows],
    )


def _next_period_start(now: datetime, grain: str) -> datetime:
    """The start of the first `grain` period (UTC) that begins at or after `now`."""
    now = now.astimezone(UTC)
    if grain == "hour":
        return _next_hour(now)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "day":
        return day if day == now else day + timedelta(days=1)
    month = day.replace(day=1)
    if month == now:
        return month
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _months_before(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


@router.get(
    "/games/{game}/twitch/stats",
    summary="Twitch statistics by hour, day or month",
    responses=NOT_FOUND,
    dependencies=[query_parameters("start", "end", "grain")],
)
def game_twitch_stats(
    game: GameKey,
    store: StoreDep,
    grain: Annotated[
        TwitchGrain, Query(description="The periods: UTC `hour`, `day` or `month`.")
    ] = "day",
    start: Annotated[
        IsoDateTime | None,
        Query(
            description="Periods starting at or after this (a date is its UTC midnight); "
            "default: 24 hours, 30 days or 12 months before `end`."
        ),
    ] = None,
    end: Annotated[
        IsoDateTime | None,
        Query(description="Periods starting before this; default: the start of the next period."),
    ] = None,
) -> TwitchStatsHistory:
    """Hours watched and streamed, average and peak viewers and channels, unique streamers.

    As the Twitch statistics sites define them, from the game's stream snapshots
    (`twitch_game_stats`, `_hourly`, `_monthly`): the periods whose start is in `[start, end)`.
    At most 31 days of hours, 366 days of days or 3,660 days of months per request.
    """
    store.games.require(game)
    try:
        end = end or _next_period_start(datetime.now(UTC), grain)
        if start is None:
            if grain == "month":
                start = _months_before(end, 12)
            else:
                start = end - (timedelta(hours=24) if grain == "hour" else timedelta(days=30))
    except (OverflowError, ValueError):
        raise _bad_request("the range reaches outside the years 1 to 9999") from None
    if end <= start:
        raise _bad_request("end must be after start")
    if end - start > timedelta(days=TWITCH_MAX_DAYS[grain]):
        raise _too_long(TWITCH_MAX_DAYS[grain])
    rows = store.twitch_stats(game, grain, start, end)
    return TwitchStatsHistory(
        game_key=game,
        grain=grain,
        start=start,
        end=end,
        periods=[TwitchStatsPeriod.model_validate(row) for row in rows],
    )


@router.get(
    "/games/{game}/channels",
    summary="The game's YouTube channels by growth",
    responses=NOT_FOUND,
    dependencies=[query_parameters("day", "limit")],
)
def game_channels(
    game: GameKey,
    store: StoreDep,
    day: Annotated[
        IsoDate | None,
        Query(description="The UTC day; default: the newest day computed, up to today."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=CHANNELS_MAX, description="Most channels answered.")] = 50,
) -> ChannelGrowthList:
    """The YouTube channels behind the game's videos that day, fastest-growing first.

    Subscribers, views and videos at the day's last fetch and their change over 1, 7 and 30
    days (`channel_growth`). Twitch broadcasters' follower counts are not available: Twitch
    serves them only with a user token, and the project uses an app token.
    """
    store.games.require(game)
    if day is None:
        day = store.latest_channel_day(game, datetime.now(UTC).date())
    rows = [] if day is None else store.channel_growth(game, day, limit)
    return ChannelGrowthList(
        game_key=game, day=day, channels=[ChannelGrowth.model_validate(r) for r in rows]
    )


NewestDay = Annotated[
    IsoDate | None,
    Query(description="The UTC day; default: the newest day computed, up to today."),
]


def _day_or_newest(store: IntelStore, table: str, game: str, day: date | None) -> date | None:
    """`day`, else the newest day of `table` with rows of the game, up to today (UTC)."""
    return day if day is not None else store.latest_day(table, game, datetime.now(UTC).date())


@router.get(
    "/games/{game}/twitch/top-streamers",
    summary="The game's top ten Twitch streamers of a day",
    responses=NOT_FOUND,
    dependencies=[query_parameters("day")],
)
def game_top_streamers(
    game: GameKey,
    store: StoreDep,
    day: NewestDay = None,
) -> TopStreamerList:
    """The ten streamers with the most hours watched in the game that day.

    With their hours, average viewers while live and peak (`twitch_game_top_streamers`).
    """
    store.games.require(game)
    day = _day_or_newest(store, "twitch_game_top_streamers", game, day)
    rows = [] if day is None else store.top_streamers(game, day)
    return TopStreamerList(
        game_key=game, day=day, streamers=[TopStreamer.model_validate(r) for r in rows]
    )


@router.get(
    "/games/{game}/twitch/broadcasters",
    summary="The game's Twitch broadcasters and their growth",
    responses=NOT_FOUND,
    dependencies=[query_parameters("day", "limit", "order")],
)
def game_broadcasters(
    game: GameKey,
    store: StoreDep,
    day: NewestDay = None,
    limit: Annotated[
        int, Query(ge=1, le=CHANNELS_MAX, description="Most broadcasters answered.")
    ] = 50,
    order: Annotated[
        BroadcasterOrder,
        Query(description="`hours_watched` (that day) or `growth_7d` (its 7-day change)."),
    ] = "hours_watched",
) -> BroadcasterGrowthList:
    """Each broadcaster's hours streamed and watched and average viewers that day.

    And their change over 1, 7 and 30 days (`twitch_broadcaster_growth`). Follower counts are
    not available: Twitch serves them only with a user token.
    """
    store.games.require(game)
    day = _day_or_newest(store, "twitch_broadcaster_growth", game, day)
    rows = [] if day is None else store.broadcasters(game, day, order, limit)
    return BroadcasterGrowthList(
        game_key=game,
        day=day,
        order=order,
        broadcasters=[BroadcasterGrowth.model_validate(r) for r in rows],
    )


@router.get(
    "/games/{game}/optimal-durations",
    summary="Duration buckets by performance",
    responses=NOT_FOUND,
    dependencies=[query_parameters("days")],
)
def optimal_durations(
    game: GameKey, store: StoreDep, days: WindowDays = DEFAULT_WINDOW_DAYS
) -> OptimalDurations:
    """The seed's `get_optimal_duration`: the game's duration buckets over the window, best first.

    Buckets with fewer than 5 videos in the window are left out.
    """
    store.games.require(game)
    rows = store.optimal_durations(game, days, datetime.now(UTC))
    return OptimalDurations(
        game_key=game, days=days, buckets=[DurationBucket.model_validate(r) for r in rows]
    )


@router.get("/trending", summary="Games by opportunity", dependencies=[query_parameters("days")])
def trending(store: StoreDep, days: WindowDays = DEFAULT_WINDOW_DAYS) -> TrendingCategories:
    """The seed's `get_trending_categories`: games ranked by viral videos and rising views."""
    rows = store.trending(days, datetime.now(UTC))
    return TrendingCategories(
        days=days, categories=[TrendingCategory.model_validate(r) for r in rows]
    )


@router.get("/quota", summary="API quota and breakers", dependencies=[query_parameters()])
def quota(store: StoreDep) -> QuotaStatus:
    """Every quota bucket's use in its current window and every API breaker, from Redis.

    Redis is the ledger itself, so while it is down the answer is 503, not a guess.
    """
    buckets, breakers = store.quota()
    return QuotaStatus(
        served_at=datetime.now(UTC),
        buckets=[
            QuotaBucket(
                platform=platform,
                bucket=s.bucket,
                used=s.used,
                remaining=s.remaining,
                limit=s.limit,
                reset_at=s.reset_at,
                share_used=s.share_used,
                closed=s.closed,
            )
            for (platform, _), s in buckets.items()
        ],
        breakers=[
            Breaker(api=b.api, state=b.state, failures=b.failures, open_until=b.open_until)
            for b in breakers
        ],
    )
