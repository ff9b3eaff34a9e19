"""The state the API clients share in Redis, read with no credentials: quota and breakers.

The quota ledger and the circuit breakers live in Redis, so any process can read them: the
read API, the health command and the Prometheus metrics do, none of which holds (or needs) an
API key or secret. `ApiStateReader` reads them with the default bucket limits and the breakers
of YouTube, Twitch and Twitch's token endpoint; it makes no HTTP call and builds no API client.
"""

from collections.abc import Mapping

from intel_assets.resources.breaker import BreakerStatus, CircuitBreaker
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.quota import BucketSpec, BucketStatus, QuotaLedger
from intel_assets.resources.twitch import API as TWITCH_API
from intel_assets.resources.twitch import AUTH_API, DEFAULT_POINTS_PER_MINUTE, POINTS_BUCKET
from intel_assets.resources.youtube import API as YOUTUBE_API
from intel_assets.resources.youtube import DEFAULT_QUOTA_LIMITS

BREAKER_APIS: tuple[str, ...] = (YOUTUBE_API, TWITCH_API, AUTH_API)
"""Every API with a breaker: YouTube, Twitch Helix and Twitch's token endpoint."""


class ApiStateReader:
    """Reads the quota buckets and breakers every process shares, from Redis alone.

    Args:
        hot_tier: The Redis server of the ledger and breakers.
        youtube_limits: Units per Pacific day of each YouTube bucket (the resource's default).
        twitch_points_per_minute: Size of the Twitch points bucket (the resource's default).
    """

    def __init__(
        self,
        hot_tier: RedisHotTier,
        *,
        youtube_limits: Mapping[str, int] = DEFAULT_QUOTA_LIMITS,
        twitch_points_per_minute: int = DEFAULT_POINTS_PER_MINUTE,
    ) -> None:
        self.hot_tier = hot_tier
        self._youtube = [BucketSpec(name, limit) for name, limit in youtube_limits.items()]
        self._twitch = [BucketSpec(POINTS_BUCKET, twitch_points_per_minute, window="minute")]

    def buckets(self) -> dict[tuple[str, str], BucketStatus]:
        """Every quota bucket's state now, keyed by (platform, bucket).

        Raises:
            QuotaUnavailableError: Redis did not answer.
        """
        client = self.hot_tier.client()
        found: dict[tuple[str, str], BucketStatus] = {}
        for platform, specs in ((YOUTUBE_API, self._youtube), (TWITCH_API, self._twitch)):
            ledger = QuotaLedger(client, platform=platform, buckets=specs)
            found.update({(platform, name): s for name, s in ledger.status().items()})
        return found

    def breakers(self) -> list[BreakerStatus]:
        """The breakers of YouTube, Twitch and Twitch's token endpoint, in that order.

        Raises:
            StateUnavailableError: Redis did not answer.
        """
        client = self.hot_tier.client()
        return [CircuitBreaker(client, api=api).status() for api in BREAKER_APIS]
