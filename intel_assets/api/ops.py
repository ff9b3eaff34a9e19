"""The operations routes: `/health` and `/metrics`, the CLI's own reports over HTTP.

`/health` is `intel-assets health --json` (`intel_assets.health`) and needs no client key. It
answers 200 whenever the API answers, healthy or not: a monitor alerts on `healthy` and
`status` in the body, while a load balancer keeps the API in service, because serving the last
good data (marked with its age and confidence) while collection is stale or Redis is down is
what the API is for; a 503 there would take it away exactly then.

`/metrics` is the Prometheus text of `intel-assets metrics` (`intel_assets.metrics`), read from
Redis and Postgres at scrape time.
"""

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from intel_assets.api.config import ApiConfig
from intel_assets.api.schemas import Health
from intel_assets.health import check_health
from intel_assets.metrics import metrics_text

health_router = APIRouter()
metrics_router = APIRouter()


@health_router.get("/health", summary="Whether Creator Intel works now", response_model=Health)
def health(request: Request) -> JSONResponse:
    """Postgres, Redis, the archive, quota, breakers and freshness, as `intel-assets health`.

    Healthy when no finding fails; the status code is 200 either way (see the module).
    """
    config: ApiConfig = request.app.state.config
    return JSONResponse(check_health(config.service_settings()).to_dict())


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
