"""How the read API is set up: where its data is, its client keys, its timeouts.

Read once when the application is built (`intel-assets api` builds it from the environment);
nothing is read at import time.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from intel_assets.settings import PROJECT_ROOT, Settings

API_KEYS_VARIABLE = "INTEL_API_KEYS"


def parse_api_keys(text: str | None) -> tuple[str, ...]:
    """The client keys of `INTEL_API_KEYS`: comma-separated, blanks around them ignored.

    An unset or empty variable gives no keys, which leaves the API open.
    """
    return tuple(key.strip() for key in (text or "").split(",") if key.strip())


@dataclass(frozen=True)
class ApiConfig:
    """The read API's configuration.

    Attributes:
        postgres_url: The warehouse database (the warm tier and the history).
        redis_url: The hot tier's Redis server (also the quota ledger and breakers).
        archive_url: The archive `/health` checks (None: the embedded default folder).
        api_keys: Client keys; when any is set, every route but `/health` needs one in the
            `X-API-Key` header. Never shown (not in repr, logs or errors).
        redis_timeout_seconds: Longest wait for Redis to connect or answer one command.
        redis_retry_seconds: After Redis failed to answer, how long requests go straight to
            Postgres before one of them tries Redis again.
        postgres_pool_size: Warehouse connections the process keeps at most.
        postgres_timeout_seconds: Longest wait for a pooled warehouse connection.
        games_refresh_seconds: How long the list of known games is reused before it is read
            again (a request for an unknown game re-reads it sooner, see
            `tiered_store.GameDirectory`).
    """

    postgres_url: str = field(repr=False)
    redis_url: str = field(repr=False)
    archive_url: str | None = None
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    redis_timeout_seconds: float = 0.5
    redis_retry_seconds: float = 5.0
    postgres_pool_size: int = 8
    postgres_timeout_seconds: float = 2.0
    games_refresh_seconds: float = 60.0

    @classmethod
    def from_environment(
        cls, postgres_url: str, redis_url: str, archive_url: str, environ: Mapping[str, str]
    ) -> "ApiConfig":
        """The configuration for the given services, with the client keys of `environ`."""
        return cls(
            postgres_url=postgres_url,
            redis_url=redis_url,
            archive_url=archive_url,
            api_keys=parse_api_keys(environ.get(API_KEYS_VARIABLE)),
        )

    def service_settings(self) -> Settings:
        """The services as `intel_assets.health` takes them."""
        return Settings(
            state_dir=PROJECT_ROOT / ".intel",
            postgres_url=self.postgres_url,
            redis_url=self.redis_url,
            archive_url=self.archive_url,
        )
