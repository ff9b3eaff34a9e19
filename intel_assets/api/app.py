"""The read API application: FastAPI over the hot tier and the warehouse, served by uvicorn.

`create_app(config)` builds the clients once (a redis-py pool with the hot tier's short
timeouts, a psycopg pool) and shares them with every request; `intel-assets api --port N`
serves it. The OpenAPI document is at `/openapi.json` (browsable at `/docs`); like `/health` it
needs no key, since it describes the API and holds no data.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from intel_assets.api.config import ApiConfig
from intel_assets.api.guards import SecurityHeaders, capped_validation_errors
from intel_assets.api.ops import (
    SHARED_SECONDS,
    HealthMonitor,
    detail_router,
    health_router,
    metrics_router,
    pooled_report,
)
from intel_assets.api.routes import router
from intel_assets.api.schemas import ErrorBody
from intel_assets.api.security import ApiKeyGuard, require_api_key
from intel_assets.api.tiered_store import GameDirectory, IntelStore, Unavailable, UnknownGame
from intel_assets.catalog import load_catalog
from intel_assets.prometheus import build_registry
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse

log = logging.getLogger(__name__)

API_PREFIX = "/v1"
API_APPLICATION_NAME = "intel-assets api"
"""How the API's Postgres connections show in `pg_stat_activity`."""

DESCRIPTION = """\
Creator Intel's intelligence for apps: per game, each analyzer's latest result and the latest
raw YouTube and Twitch data, hourly and daily history, trending games, optimal durations and
the API quota.

Latest results come from Redis (the hot tier); when Redis has none or does not answer, from
the last result kept in Postgres. Every such answer says its `source`, its age and its
confidence decayed to the moment it was served.

When the server sets `INTEL_API_KEYS`, every route but `/health` needs one of those keys in
the `X-API-Key` header. `/health` says only whether each component is ok or degraded; the
detail is at `/health/detail`.
"""


UNAUTHORIZED: dict[int | str, dict[str, object]] = {
    status.HTTP_401_UNAUTHORIZED: {
        "model": ErrorBody,
        "description": "No client key, or not one of the server's (X-API-Key).",
    }
}


def build_store(config: ApiConfig) -> IntelStore:
    """The clients and readers one API process shares across requests."""
    hot_tier = RedisHotTier(
        url=config.redis_url, socket_timeout_seconds=config.redis_timeout_seconds
    )
    warehouse = PostgresWarehouse(
        url=config.postgres_url,
        max_pool_size=config.postgres_pool_size,
        connect_timeout_seconds=config.postgres_timeout_seconds,
        application_name=API_APPLICATION_NAME,
    )
    games = GameDirectory(warehouse, load_catalog(), config.games_refresh_seconds)
    return IntelStore(hot_tier, warehouse, games, config.redis_retry_seconds)


def _open(store: IntelStore) -> None:
    """Create both clients and read the games before the first request.

    Then no two requests race to create a client, and discovered games are known from the
    first request on.
    """
    store.gate.hot_tier.client()
    try:
        with store.warehouse.connection():
            pass
    except Exception as error:  # the API starts anyway and answers 503 until Postgres is up
        log.warning("the warehouse does not answer yet (%s)", type(error).__name__)
    store.games.catalog()


def _close(store: IntelStore) -> None:
    store.warehouse.close()
    store.gate.hot_tier.client().close()


def create_app(config: ApiConfig) -> FastAPI:
    """The read API over the services of `config`.

    Args:
        config: Where the data is, the client keys and the timeouts.
    """
    store = build_store(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _open(store)
        try:
            yield
        finally:
            _close(store)

    app = FastAPI(
        title="Creator Intel read API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.config = config
    app.state.health_monitor = HealthMonitor(lambda: pooled_report(store, config), SHARED_SECONDS)
    app.state.metrics_registry = build_registry(config.redis_url, config.postgres_url)
    guard = ApiKeyGuard(config.api_keys)
    app.state.key_guard = guard
    app.include_router(health_router)
    if guard.enabled:
        protected = {"dependencies": [Depends(require_api_key)], "responses": UNAUTHORIZED}
        app.include_router(router, prefix=API_PREFIX, **protected)
        app.include_router(detail_router, **protected)
        app.include_router(metrics_router, **protected)
    else:
        app.include_router(router, prefix=API_PREFIX)
        app.include_router(detail_router)
        app.include_router(metrics_router)
    app.add_exception_handler(UnknownGame, _unknown_game)
    app.add_exception_handler(Unavailable, _unavailable)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_middleware(SecurityHeaders)
    return app


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse(
        {"detail": capped_validation_errors(error)},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _unknown_game(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=status.HTTP_404_NOT_FOUND)


async def _unavailable(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": str(error)},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )
