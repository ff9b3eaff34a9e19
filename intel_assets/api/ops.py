"""The operations routes: `/health`, `/health/detail` and `/metrics`.

`/health` needs no client key and says only whether each component is ok or degraded: no URL,
user, socket, server version or error text, which would tell an outsider how the deployment is
built. It answers 200 whenever the API answers, degraded or not: a monitor alerts on `status`,
while a load balancer keeps the API in service, because serving the last good data (marked
with its age and confidence) while collection is stale or Redis is down is what the API is for.
Its report is made through the API's pooled connections and shared by the callers of one
second (`HealthMonitor`), so a crowd of monitors costs one look and opens no connection.

`/health/detail` is `intel-assets health --json` (`intel_assets.health`): every finding with
its detail; it needs a client key like the data routes when the server sets any.

`/metrics` is the Prometheus text of `intel-assets metrics` (`intel_assets.prometheus`), read from
Redis and Postgres at scrape time.
"""

import threading
import time
from collections.abc import Callable

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from intel_assets.api.config import ApiConfig
from intel_assets.api.schemas import Health, HealthSummary
from intel_assets.api.tiered_store import IntelStore
from intel_assets.health import HealthReport, report_health
from intel_assets.prometheus import metrics_text

health_router = APIRouter()
detail_router = APIRouter()
metrics_router = APIRouter()

SHARED_SECONDS = 1.0
"""How long one health report answers every caller of `/health`."""


class HealthMonitor:
    """One health report at a time, shared by every caller within `max_age_seconds` of it.

    A caller that finds the report older waits while one caller makes a new one (through the
    API's pools), then all take it: the report is never older than `max_age_seconds` when a
    request arrives, and callers arriving together cost one look.

    Args:
        make: Makes a report now.
        max_age_seconds: How long a report is reused.
    """

    def __init__(self, make: Callable[[], HealthReport], max_age_seconds: float) -> None:
        self._make = make
        self._max_age = max_age_seconds
        self._lock = threading.Lock()
        self._report: HealthReport | None = None
        self._made_at = 0.0

    def report(self) -> HealthReport:
        """The shared report, made again if it is older than the allowed age."""
        asked_at = time.monotonic()
        with self._lock:
            if self._report is None or self._made_at < asked_at - self._max_age:
                self._made_at = time.monotonic()
                self._report = self._make()
            return self._report


def pooled_report(store: IntelStore, config: ApiConfig) -> HealthReport:
    """A health report through the API process's pooled warehouse and Redis clients."""
    return report_health(
        store.warehouse, store.gate.hot_tier, config.service_settings().resolved_archive_url
    )


@health_router.get(
    "/health", summary="Whether each part of Creator Intel works now", response_model=HealthSummary
)
def health(request: Request) -> JSONResponse:
    """Postgres, Redis, the archive, quota, breakers and freshness: each ok or degraded.

    The status code is 200 either way (see the module); the detail is at `/health/detail`.
    """
    monitor: HealthMonitor = request.app.state.health_monitor
    return JSONResponse(monitor.report().summary(), headers={"Cache-Control": "no-store"})


@detail_router.get(
    "/health/detail", summary="Every health finding with its detail", response_model=Health
)
def health_detail(request: Request) -> JSONResponse:
    """`intel-assets health --json`: healthy when no finding fails (warnings allowed)."""
    report = pooled_report(request.app.state.store, request.app.state.config)
    return JSONResponse(report.to_dict(), headers={"Cache-Control": "no-store"})


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        status.HTTP_200_OK: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus' text exposition format (`intel-assets metrics`).",
        }
    },
)
def metrics(request: Request) -> Response:
    """API calls, quota, breakers, rows written and data age, read at scrape time."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(metrics_text(registry), media_type=CONTENT_TYPE_LATEST)
