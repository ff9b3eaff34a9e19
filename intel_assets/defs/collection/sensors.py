"""The quota-aware `collection_sensor` and the optional `game_discovery_sensor`.

Every minute the collection sensor:
1. adds catalog games that are not yet partitions of `games`;
2. reads every game's collection state (one query), the YouTube buckets and breakers (Redis);
3. plans the YouTube collections that are due and affordable (`planning.plan_youtube`) and the
   Twitch collections of the current 30-minute slot;
4. returns RunRequests with deterministic run keys (game and slot), a JSON cursor, and
   SkipReasons that say why nothing ran (quota, breaker, nothing due).
"""

import json
import re
from datetime import UTC, datetime

import dagster as dg

from intel_assets.catalog import Catalog, effective_catalog, normalize_text
from intel_assets.defs.collection.assets import (
    COLLECTION_ID_TAG,
    CollectionPolicy,
    twitch_collection_job,
    youtube_collection_job,
)
from intel_assets.defs.collection.planning import (
    Budget,
    CostModel,
    GameSchedule,
    Plan,
    plan_youtube,
)
from intel_assets.defs.collection.state import (
    CollectionState,
    load_states,
    search_calls_today,
    window_start,
)
from intel_assets.dev.background_seeding import seeding_elsewhere
from intel_assets.partitions import games_partitions
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import pacific_day
from intel_assets.resources.redis_keys import chart_key, uploads_sweep_key
from intel_assets.resources.twitch import TwitchResource
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube import YouTubeResource

GAMES = "games"
RUN_KEY_TAG = "dagster/run_key"
"""The tag Dagster gives a run started from a request with a run key."""
DISCOVERY_TOP_GAMES = 20


def game_schedules(
    catalog: Catalog, states: dict[str, CollectionState], searches: dict[str, int]
) -> list[GameSchedule]:
    """The planner's view of every catalog game."""
    schedules = []
    for key in catalog.keys:
        game = catalog.games[key]
        state = states.get(key)
        schedules.append(
            GameSchedule(
                key=key,
                priority=game.priority,
                refresh_hours=game.refresh_hours,
                last_collected_at=state.last_collected_at if state else None,
                unchanged_streak=state.unchanged_streak if state else 0,
                last_failure_at=state.last_failure_at if state and state.stale else None,
                failures_in_row=state.failures_in_row if state else 0,
                expected_rows=state.last_row_count if state else game.video_budget,
                search_calls_today=searches.get(key, 0),
            )
        )
    return schedules


def charts_cached(
    hot_tier: RedisHotTier, regions: list[str], now: datetime, minutes: int, *, sweep: bool = False
) -> bool:
    """Whether the current window's charts (and uploads sweep, with `sweep`) are in Redis.

    Then the next collection pays for none of them.
    """
    window = window_start(now, minutes)
    keys = [chart_key(r, window) for r in regions]
    if sweep:
        keys.append(uploads_sweep_key(window))
    return bool(keys) and int(hot_tier.client().exists(*keys)) == len(keys)


def twitch_requests(
    catalog: Catalog, states: dict[str, CollectionState], now: datetime, minutes: int
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The Twitch collections of the current slot: (game, slot) and why others are skipped."""
    slot = window_start(now, minutes)
    wanted: list[tuple[str, str]] = []
    skipped: dict[str, str] = {}
    for key in catalog.keys:
        game = catalog.games[key]
        if not game.twitch_game_id:
            skipped[key] = "no Twitch game id"
            continue
        state = states.get(key)
        if state and state.last_collected_at and state.last_collected_at >= slot:
            skipped[key] = f"collected in the slot of {slot.isoformat()}"
            continue
        wanted.append((key, slot.isoformat()))
    return wanted, skipped


def requested_before(
    instance: dg.DagsterInstance, requests: list[dg.RunRequest]
) -> list[dg.RunRequest]:
    """The requests whose run key a run of the instance already has (Dagster would drop them).

    A game stays due with the same run key until its collection lands, so a tick while that
    run is queued or running (or after it failed) re-requests it; Dagster then skips the
    request without a word, and a tick of only such requests shows no reason at all.
    """
    keys = [r.run_key for r in requests if r.run_key]
    if not keys:
        return []
    runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: keys}))
    used = {run.tags.get(RUN_KEY_TAG) for run in runs}
    return [r for r in requests if r.run_key in used]


def _youtube_run_requests(plan: Plan) -> list[dg.RunRequest]:
    return [
        dg.RunRequest(
            run_key=request.run_key,
            job_name=youtube_collection_job.name,
            partition_key=request.game_key,
            run_config={
                "ops": {"youtube_videos": {"config": {"search_calls": request.search_calls}}}
            },
            tags={
                COLLECTION_ID_TAG: f"{request.game_key}:{request.slot}",
                "intel/search_calls": str(request.search_calls),
            },
        )
        for request in plan.requests
    ]


def _plan(
    youtube: YouTubeResource,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    policy: CollectionPolicy,
    catalog: Catalog,
    now: datetime,
) -> tuple[Plan, dict[str, int]]:
    """The YouTube plan of this tick (`plan_youtube`) and each quota bucket's units used."""
    youtube.reconcile_quota_log()  # the log then holds every search call Redis counted
    searches = search_calls_today(warehouse, pacific_day(now))
    schedules = game_schedules(catalog, load_states(warehouse, "youtube"), searches)
    buckets = youtube.quota_status()
    budgets = {
        name: Budget(name=name, limit=b.limit, used=b.used, closed=b.closed)
        for name, b in buckets.items()
    }
    breaker = youtube.breaker_status()
    plan = plan_youtube(
        schedules,
        budgets,
        CostModel(regions=len(policy.regions), uploads_playlists=policy.uploads_playlists),
        now,
        target_share=policy.target_share,
        burst_hours=policy.burst_hours,
        breaker_open_until=breaker.open_until if breaker.state == "open" else None,
        charts_cached=charts_cached(
            hot_tier, policy.regions, now, policy.window_minutes, sweep=policy.uploads_playlists > 0
        ),
    )
    return plan, {name: b.used for name, b in buckets.items()}


def _twitch_run_requests(
    twitch: TwitchResource,
    warehouse: PostgresWarehouse,
    catalog: Catalog,
    now: datetime,
    interval_minutes: int,
) -> tuple[list[dg.RunRequest], dict[str, str]]:
    """The Twitch collections of this tick's slot, and why the other games are skipped."""
    breaker = twitch.breaker_status()
    if breaker.state == "open":
        reason = f"twitch breaker open until {breaker.open_until}"
        return [], {key: reason for key in catalog.keys}
    wanted, skipped = twitch_requests(
        catalog, load_states(warehouse, "twitch"), now, interval_minutes
    )
    requests = [
        dg.RunRequest(
            run_key=f"twitch_streams:{key}:{slot}",
            job_name=twitch_collection_job.name,
            partition_key=key,
            tags={COLLECTION_ID_TAG: f"{key}:{slot}"},
        )
        for key, slot in wanted
    ]
    return requests, skipped


def _cursor(
    context: dg.SensorEvaluationContext,
    now: datetime,
    plan: Plan,
    run_requests: list[dg.RunRequest],
    quota_used: dict[str, int],
) -> str:
    """The tick's cursor: what it requested per game and source, the quota used, tick count."""
    previous = json.loads(context.cursor) if context.cursor else {}
    cursor = {
        "evaluated_at": now.isoformat(),
        "youtube": {r.game_key: r.slot for r in plan.requests},
        "twitch": {
            r.partition_key: r.tags[COLLECTION_ID_TAG]
            for r in run_requests
            if r.job_name == twitch_collection_job.name
        },
        "quota_used": quota_used,
        "ticks": int(previous.get("ticks", 0)) + 1,
    }
    return json.dumps(cursor, sort_keys=True)


def _skip_summary(skipped: list[str], waiting: set[str | None]) -> str:
    """Why nothing is collected: runs still waiting to land first, then up to five reasons."""
    reasons = sorted(set(skipped))
    if waiting:
        keys = ", ".join(sorted(str(k) for k in waiting)[:3])
        more = f" (+{len(waiting) - 3} more)" if len(waiting) > 3 else ""
        reasons.insert(0, f"waiting for runs requested before to land: {keys}{more}")
    summary = "; ".join(reasons[:5]) + (f" (+{len(reasons) - 5} more)" if len(reasons) > 5 else "")
    return f"nothing to collect: {summary or 'no games'}"


@dg.sensor(
    jobs=[youtube_collection_job, twitch_collection_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the collections that are due and that every quota bucket can afford.",
)
def collection_sensor(
    context: dg.SensorEvaluationContext,
    youtube: YouTubeResource,
    twitch: TwitchResource,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    collection_policy: CollectionPolicy,
) -> dg.SensorResult:
    """Decide which game partitions to collect now (rules in `planning`)."""
    now = datetime.now(UTC)
    catalog = effective_catalog(warehouse)
    existing = set(context.instance.get_dynamic_partitions(GAMES))
    missing = [key for key in catalog.keys if key not in existing]
    partition_requests = [games_partitions.build_add_request(missing)] if missing else []
    seeder = seeding_elsewhere(hot_tier.client())
    if seeder is not None:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"history seeding in progress ({seeder}): live collection starts when it ends"
            ),
            dynamic_partitions_requests=partition_requests,
            cursor=context.cursor,
        )
    plan, quota_used = _plan(youtube, warehouse, hot_tier, collection_policy, catalog, now)
    twitch_runs, twitch_skipped = _twitch_run_requests(
        twitch, warehouse, catalog, now, collection_policy.twitch_interval_minutes
    )
    run_requests = _youtube_run_requests(plan) + twitch_runs
    cursor = _cursor(context, now, plan, run_requests, quota_used)
    already = requested_before(context.instance, run_requests)
    waiting = {r.run_key for r in already}
    run_requests = [r for r in run_requests if r.run_key not in waiting]
    if already:
        context.log.info(
            f"{len(already)} collections requested before are still waiting to land: "
            + ", ".join(str(r.run_key) for r in already)
        )
    skipped = [*plan.skipped.values(), *(f"twitch: {r}" for r in twitch_skipped.values())]
    return dg.SensorResult(
        run_requests=run_requests or None,
        skip_reason=None if run_requests else dg.SkipReason(_skip_summary(skipped, waiting)),
        dynamic_partitions_requests=partition_requests,
        cursor=cursor,
    )


@dg.sensor(
    minimum_interval_seconds=6 * 3600,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Adds Twitch's top games that the catalog lacks as new game partitions.",
)
def game_discovery_sensor(
    context: dg.SensorEvaluationContext,
    twitch: TwitchResource,
    warehouse: PostgresWarehouse,
) -> dg.SensorResult | dg.SkipReason:
    """Discover games from Twitch's top games (off by default: each new game costs quota).

    Categories without an IGDB id (Just Chatting, Music, Art...) are not games and are skipped.
    A discovered game's only match phrase is its Twitch name (`catalog.discovered_game_config`).
    """
    with twitch.client() as client:
        top = client.top_games(first=DISCOVERY_TOP_GAMES)
    catalog = effective_catalog(warehouse)
    known_ids = set(catalog.by_twitch_id())
    taken = set(catalog.games)
    now = datetime.now(UTC)
    new: list[tuple[str, str, str, int, datetime]] = []
    not_games: list[str] = []
    for rank, game in enumerate(top, start=1):
        if game.game_id in known_ids:
            continue
        if not game.igdb_id:
            not_games.append(game.name)
            continue
        key = _game_key(game.name, taken)
        if key is None:
            context.log.warning(f"skipped Twitch game {game.name!r}: no usable partition key")
            continue
        taken.add(key)
        new.append((key, game.name, game.game_id, rank, now))
    if not_games:
        context.log.info(f"skipped {len(not_games)} categories that are not games: {not_games}")
    if not new:
        return dg.SkipReason(f"every game of Twitch's top {len(top)} is tracked")
    with warehouse.connection() as conn, conn.cursor() as cur:
        cur.executemany(
            b"INSERT INTO intel_discovered_games "
            b"(game_key, display_name, twitch_game_id, twitch_rank, discovered_at) "
            b"VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            new,
        )
    return dg.SensorResult(
        dynamic_partitions_requests=[games_partitions.build_add_request([g[0] for g in new])]
    )


def _game_key(name: str, taken: set[str]) -> str | None:
    """A partition key for a game name: lower snake case, unique."""
    base = re.sub(r"[^a-z0-9]+", "_", normalize_text(name)).strip("_")[:60]
    if not base or not base[0].isalpha():
        base = f"game_{base}" if base else ""
    if not base:
        return None
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key
