"""The Redis hot tier: the latest raw data and analysis per game, for serving, with TTLs.

Redis also holds the shared state of the API clients (quota ledger, breakers, token cache);
they take their connection from this resource. Timeouts are short: where Redis is down, callers
have a fallback (Postgres) and must reach it quickly.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg
import redis
from pydantic import PrivateAttr
from redis.backoff import NoBackoff
from redis.retry import Retry


def _json_default(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    if isoformat is not None:
        return isoformat()
    item = getattr(value, "item", None)
    if item is not None:
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """JSON text of a value; datetimes as ISO 8601, numpy scalars as plain numbers."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


class RedisHotTier(dg.ConfigurableResource):
    """The Redis server of the hot tier.

    Attributes:
        url: redis-py URL (`redis://`, `rediss://` or `unix://`), from `INTEL_REDIS_URL`.
        socket_timeout_seconds: Longest wait for one command or connection before it fails.
    """

    url: str
    socket_timeout_seconds: float = 0.5

    _client: redis.Redis | None = PrivateAttr(default=None)

    def client(self) -> redis.Redis:
        """The shared client, created on first use; it fails fast instead of retrying."""
        if self._client is None:
            self._client = redis.Redis.from_url(
                self.url,
                socket_timeout=self.socket_timeout_seconds,
                socket_connect_timeout=self.socket_timeout_seconds,
                retry=Retry(NoBackoff(), 0),
                decode_responses=True,
                health_check_interval=0,
            )
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close the connection pool when the run's step ends."""
        self.close()

    def close(self) -> None:
        """Close the connection pool (a new one opens on next use)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def put_json(self, items: Mapping[str, Any], ttl_seconds: int) -> None:
        """Store each value as JSON under its key with the same TTL, in one pipelined round trip.

        Args:
            items: Key to value; values must be JSON-serialisable (datetimes are allowed).
            ttl_seconds: Seconds until the keys expire.
        """
        if ttl_seconds <= 0:
            raise ValueError("hot-tier keys always expire: ttl_seconds must be positive")
        pipe = self.client().pipeline(transaction=False)
        for key, value in items.items():
            pipe.set(key, dumps(value), ex=ttl_seconds)
        pipe.execute()

    def get_json(self, key: str) -> Any | None:
        """The value stored under `key`, or None when it is missing or expired."""
        raw = self.client().get(key)
        return None if raw is None else json.loads(str(raw))

    def get_json_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values of the keys that exist, in one round trip."""
        key_list = list(keys)
        if not key_list:
            return {}
        values = self.client().mget(key_list)
        return {
            key: json.loads(str(raw))
            for key, raw in zip(key_list, values, strict=True)  # type: ignore[arg-type]
            if raw is not None
        }
