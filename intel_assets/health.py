"""`intel-assets health`: whether Creator Intel can work now, and if not, what is wrong.

One call of `check_health` looks at everything a run depends on, without starting or changing
anything: the warehouse (Postgres), Redis, the archive store, the YouTube and Twitch quota
buckets, the circuit breakers, and how fresh each game's collections and the rollup tables
are. Each finding is `ok`, `warn` (works, but someone should look) or `fail` (broken, or data
past its freshness window); the report is healthy when nothing fails.

| component | ok | warn | fail |
| --- | --- | --- | --- |
| postgres, redis | answers | | no answer |
| archive | folder writable, or bucket reachable | | neither |
| quota | under the target share | over the target share | closed by the API |
| breaker | closed | half-open (probing) | open |
| freshness | within its window | past the warn window, last attempt failed, never run | past it |

`HealthReport.to_dict()` is the JSON form (`--json`, and the read API's `/health/detail`);
`HealthReport.summary()` says only ok or degraded per component (the API's public `/health`).
`report_health` reads through clients its caller keeps (the read API's pools); `check_health`
makes them for one report (the CLI).
"""

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import psycopg
import redis
from psycopg_pool import PoolTimeout

from intel_assets import services
from intel_assets.freshness import (
    COLLECTION_MAX_AGE,
    COLLECTION_WARN_AGE,
    DAILY_MAX_AGE,
    DAILY_WARN_AGE,
    HOURLY_MAX_AGE,
    HOURLY_WARN_AGE,
)
from intel_assets.resources.api_state import ApiStateReader
from intel_assets.resources.errors import StateUnavailableError
from intel_assets.settings import Settings, redact_url

if TYPE_CHECKING:  # imported where used: the CLI's other commands need no Dagster
    from intel_assets.resources.hot_tier import RedisHotTier
    from intel_assets.resources.warehouse import PostgresWarehouse

Status = Literal["ok", "warn", "fail"]
TIMEOUT_SECONDS = 3
DEFAULT_TARGET_SHARE = 0.5
"""The seed's goal for each YouTube bucket (the collection policy's default target share)."""

_RANK: dict[str, int] = {"ok": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class HealthCheck:
    """One finding.

    Attributes:
        component: postgres, redis, archive, quota, breaker or freshness.
        name: What within the component, e.g. `youtube/search` or `fortnite/youtube`.
        status: ok, warn or fail.
        detail: What was found, for a person (never a secret).
    """

    component: str
    name: str
    status: Status
    detail: str


@dataclass(frozen=True)
class HealthReport:
    """Every finding of one health check.

    Attributes:
        checked_at: When it was made (UTC).
        checks: The findings, in component order.
    """

    checked_at: datetime
    checks: tuple[HealthCheck, ...]

    @property
    def status(self) -> Status:
        """The worst finding's status."""
        worst = max(self.checks, key=lambda c: _RANK[c.status], default=None)
        return worst.status if worst is not None else "ok"

    @property
    def healthy(self) -> bool:
        """Whether nothing fails (warnings allowed)."""
        return self.status != "fail"

    def failing(self) -> list[HealthCheck]:
        """The findings that fail."""
        return [c for c in self.checks if c.status == "fail"]

    def summary(self) -> dict[str, Any]:
        """Only whether each component is ok or degraded (a warning or a failure), no detail."""
        components: dict[str, str] = {}
        for check in self.checks:
            degraded = check.status != "ok" or components.get(check.component) == "degraded"
            components[check.component] = "degraded" if degraded else "ok"
        overall = "degraded" if "degraded" in components.values() else "ok"
        return {
            "status": overall,
            "checked_at": self.checked_at.isoformat(),
            "components": components,
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "status": self.status,
            "healthy": self.healthy,
            "checked_at": self.checked_at.isoformat(),
            "checks": [
                {"component": c.component, "name": c.name, "status": c.status, "detail": c.detail}
                for c in self.checks
            ],
        }


def _describe(error: BaseException) -> str:
    # The class and the first line only: driver messages can be long, never secrets here
    # (URLs are redacted before they reach a message).
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def check_postgres(warehouse: "PostgresWarehouse | None", shown_url: str | None) -> HealthCheck:
    """Whether the warehouse answers a query (on a pooled connection).

    Args:
        warehouse: The warehouse (None: the embedded server is not running).
        shown_url: The URL to name in the detail, passwords masked (None: name none).
    """
    if warehouse is None:
        return HealthCheck("postgres", "warehouse", "fail", "the embedded server is not running")
    try:
        with warehouse.connection() as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except (psycopg.Error, PoolTimeout) as error:
        return HealthCheck("postgres", "warehouse", "fail", f"no answer: {_describe(error)}")
    shown = f"PostgreSQL {version[0] if version else '?'}"
    where = f"{redact_url(shown_url)}, " if shown_url else ""
    return HealthCheck("postgres", "warehouse", "ok", f"answers ({where}{shown})")


def check_redis(hot_tier: "RedisHotTier", shown_url: str | None) -> HealthCheck:
    """Whether Redis answers a PING (on the hot tier's pooled client)."""
    try:
        hot_tier.client().ping()
    except (redis.RedisError, OSError) as error:
        return HealthCheck("redis", "hot tier", "fail", f"no answer: {_describe(error)}")
    where = f" ({redact_url(shown_url)})" if shown_url else ""
    return HealthCheck("redis", "hot tier", "ok", f"answers{where}")


def check_archive(url: str) -> HealthCheck:
    """Whether the archive can be written: a writable folder, or a reachable S3 bucket."""
    if url.startswith("s3://"):
        from dagster_aws.s3 import S3Resource

        bucket = url[len("s3://") :].split("/", 1)[0]
        try:
            S3Resource().get_client().head_bucket(Bucket=bucket)
        except Exception as error:  # boto3 raises many kinds (no credentials, no endpoint, 403)
            return HealthCheck("archive", url, "fail", f"bucket not reachable: {_describe(error)}")
        return HealthCheck("archive", url, "ok", "bucket reachable")
    folder = Path(url[len("file://") :] if url.startswith("file://") else url)
    if folder.is_dir():
        if os.access(folder, os.W_OK | os.X_OK):
            return HealthCheck("archive", str(folder), "ok", "folder writable")
        return HealthCheck("archive", str(folder), "fail", "folder not writable")
    if folder.exists():
        return HealthCheck("archive", str(folder), "fail", "exists and is not a folder")
    parent = next((p for p in folder.parents if p.exists()), None)
    if parent is not None and parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        return HealthCheck("archive", str(folder), "ok", "created on the first archive")
    return HealthCheck("archive", str(folder), "fail", "folder missing and cannot be created")


def check_quota_and_breakers(hot_tier: "RedisHotTier", target_share: float) -> list[HealthCheck]:
    """Each quota bucket against the target share, and each circuit breaker."""
    state = ApiStateReader(hot_tier)
    checks: list[HealthCheck] = []
    try:
        buckets = state.buckets()
        breakers = state.breakers()
    except StateUnavailableError as error:
        detail = f"cannot be read: Redis does not answer ({type(error).__name__})"
        return [
            HealthCheck("quota", "all buckets", "fail", detail),
            HealthCheck("breaker", "all APIs", "fail", detail),
        ]
    for (platform, bucket), b in sorted(buckets.items()):
        name = f"{platform}/{bucket}"
        detail = f"{b.used} of {b.limit} units ({b.share_used:.1%}), resets {b.reset_at:%H:%M} UTC"
        if b.closed:
            checks.append(HealthCheck("quota", name, "fail", f"closed by the API; {detail}"))
        elif platform == "youtube" and b.share_used > target_share:
            checks.append(
                HealthCheck("quota", name, "warn", f"over the {target_share:.0%} target: {detail}")
            )
        else:
            checks.append(HealthCheck("quota", name, "ok", detail))
    for breaker in breakers:
        if breaker.state == "open":
            until = breaker.open_until.isoformat() if breaker.open_until else "?"
            detail = f"open after {breaker.failures} failed calls, until {until}"
            checks.append(HealthCheck("breaker", breaker.api, "fail", detail))
        elif breaker.state == "half_open":
            checks.append(HealthCheck("breaker", breaker.api, "warn", "half-open: probing"))
        else:
            checks.append(
                HealthCheck("breaker", breaker.api, "ok", f"closed ({breaker.failures} failures)")
            )
    return checks


def _age_status(age: timedelta, warn: timedelta, fail: timedelta) -> Status:
    if age > fail:
        return "fail"
    return "warn" if age > warn else "ok"


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:.1f} h"


def collection_freshness(
    games: Iterable[tuple[str, bool]], states: Sequence[dict[str, Any]], now: datetime
) -> list[HealthCheck]:
    """Each game's YouTube and Twitch collections against the collection freshness window.

    Args:
        games: (game key, whether it has a Twitch game id) of every tracked game.
        states: `intel_collection_state` rows.
        now: The time ages are measured at.
    """
    by_key = {(s["game_key"], s["source"]): s for s in states}
    checks = []
    for game, on_twitch in games:
        for source in ("youtube", "twitch") if on_twitch else ("youtube",):
            name = f"{game}/{source}"
            state = by_key.get((game, source))
            if state is None or state["last_collected_at"] is None:
                checks.append(HealthCheck("freshness", name, "warn", "never collected"))
                continue
            collected: datetime = state["last_collected_at"]
            age = now - collected
            status = _age_status(age, COLLECTION_WARN_AGE, COLLECTION_MAX_AGE)
            detail = f"collected {_hours(age)} ago (fails past {_hours(COLLECTION_MAX_AGE)})"
            failed = state["last_failure_at"]
            if failed is not None and failed > collected:
                if status == "ok":
                    status = "warn"
                detail += f"; the last attempt failed: {str(state['last_error'])[:200]}"
            checks.append(HealthCheck("freshness", name, status, detail))
    return checks


def _tier_freshness(
    name: str, newest_end: datetime | None, now: datetime, warn: timedelta, fail: timedelta
) -> HealthCheck:
    if newest_end is None:
        return HealthCheck("freshness", name, "warn", "no rows yet")
    age = now - newest_end
    detail = f"newest period ended {_hours(age)} ago (fails past {_hours(fail)})"
    return HealthCheck("freshness", name, _age_status(age, warn, fail), detail)


def check_freshness(warehouse: "PostgresWarehouse", now: datetime) -> list[HealthCheck]:
    """Every tracked game's collections, and the newest hour and day of the rollups."""
    from intel_assets.catalog import effective_catalog

    catalog = effective_catalog(warehouse)
    states = warehouse.fetch_dicts(
        "SELECT game_key, source, last_collected_at, last_failure_at, last_error"
        " FROM intel_collection_state"
    )
    tiers = warehouse.fetch_dicts(
        "SELECT (SELECT max(hour_start) FROM intel_hourly_metrics) AS hour,"
        " (SELECT max(date) FROM intel_daily_metrics) AS day"
    )[0]
    games = [(key, bool(catalog.games[key].twitch_game_id)) for key in catalog.keys]
    checks = collection_freshness(games, states, now)
    hour_end = tiers["hour"] + timedelta(hours=1) if tiers["hour"] else None
    day_end = (
        datetime.combine(tiers["day"] + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        if tiers["day"]
        else None
    )
    checks.append(_tier_freshness("hourly_metrics", hour_end, now, HOURLY_WARN_AGE, HOURLY_MAX_AGE))
    checks.append(_tier_freshness("daily_rollup", day_end, now, DAILY_WARN_AGE, DAILY_MAX_AGE))
    return checks


def report_health(
    warehouse: "PostgresWarehouse | None",
    hot_tier: "RedisHotTier",
    archive_url: str,
    *,
    now: datetime | None = None,
    target_share: float = DEFAULT_TARGET_SHARE,
    show_urls: tuple[str | None, str | None] = (None, None),
) -> HealthReport:
    """Look at every service and every freshness window now, through the caller's clients.

    Opens no connection of its own: the warehouse's pool and the hot tier's client are reused.

    Args:
        warehouse: The warehouse (None: the embedded server is not running).
        hot_tier: Redis.
        archive_url: The archive's folder or `s3://` URL.
        now: The time freshness is judged at (default: now).
        target_share: Share of each YouTube bucket the day may spend before it warns.
        show_urls: The Postgres and Redis URLs to name in the details (passwords masked).
    """
    at = now or datetime.now(UTC)
    postgres = check_postgres(warehouse, show_urls[0])
    redis_check = check_redis(hot_tier, show_urls[1])
    checks = [postgres, redis_check, check_archive(archive_url)]
    if redis_check.status == "ok":
        checks += check_quota_and_breakers(hot_tier, target_share)
    else:
        checks += [
            HealthCheck("quota", "all buckets", "fail", "unknown: Redis does not answer"),
            HealthCheck("breaker", "all APIs", "fail", "unknown: Redis does not answer"),
        ]
    if postgres.status == "ok" and warehouse is not None:
        checks += check_freshness(warehouse, at)
    else:
        checks.append(
            HealthCheck("freshness", "all games", "fail", "unknown: Postgres does not answer")
        )
    return HealthReport(checked_at=at, checks=tuple(checks))


def check_health(
    settings: Settings,
    *,
    now: datetime | None = None,
    target_share: float = DEFAULT_TARGET_SHARE,
) -> HealthReport:
    """`report_health` for one command: clients made for it and closed after.

    Args:
        settings: Where the services are (embedded servers are found, never started).
        now: The time freshness is judged at (default: now).
        target_share: Share of each YouTube bucket the day may spend before it warns.
    """
    from intel_assets.resources.hot_tier import RedisHotTier
    from intel_assets.resources.warehouse import PostgresWarehouse

    urls = services.running_urls(settings)
    warehouse = (
        PostgresWarehouse(url=urls["postgres"], connect_timeout_seconds=TIMEOUT_SECONDS)
        if urls["postgres"]
        else None
    )
    hot_tier = RedisHotTier(url=urls["redis"] or "", socket_timeout_seconds=TIMEOUT_SECONDS)
    try:
        return report_health(
            warehouse,
            hot_tier,
            settings.resolved_archive_url,
            now=now,
            target_share=target_share,
            show_urls=(urls["postgres"], urls["redis"]),
        )
    finally:
        if warehouse is not None:
            warehouse.close()
        hot_tier.close()


def render_table(report: HealthReport) -> str:
    """The report as a plain-text table, worst findings marked, with a verdict line."""
    rows = [("COMPONENT", "CHECK", "STATUS", "DETAIL")] + [
        (c.component, c.name, c.status.upper() if c.status != "ok" else "ok", c.detail)
        for c in report.checks
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    failing = report.failing()
    if failing:
        names = ", ".join(f"{c.component} {c.name}" for c in failing)
        lines.append(f"\nUNHEALTHY: {len(failing)} failing ({names})")
    else:
        warnings = sum(c.status == "warn" for c in report.checks)
        lines.append(f"\nhealthy ({warnings} warnings)" if warnings else "\nhealthy")
    return "\n".join(lines)
