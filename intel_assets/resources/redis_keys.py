"""Every Redis key the project reads or writes, built by one function or named once, and its TTL.

The hot tier's serving data (the latest snapshot and analysis per game), the collection's
shared caches, the API clients' shared state (quota ledger, breakers, Twitch token and rate
limit), the run-wide flags and the Prometheus counters all live on the Redis server of
`RedisHotTier`. Their keys are a contract: the collection writes what the read API and the
checks read, and other tools read them too. This module imports neither Dagster nor pyarrow,
so the quota ledger and the breaker, which worker processes load on their own, can use it.

    {platform}:games:{game}                  latest raw snapshot (youtube, twitch), 5 h
    intel:{analyzer}:precomputed:{game}      latest analysis result (TTL per analyzer)
    youtube:chart:{region}:{category}:{win}  a collection window's gaming chart
    youtube:video:{id} / youtube:stats:{win}:{id} / youtube:channel:{id}   record caches
    youtube:uploads:{win} / youtube:uploads:looked / youtube:discovered:{game}   uploads sweep
    intel:quota:{platform}:{bucket}:{day}[:closed] and the stream intel:quota:log
    intel:breaker:{api}, intel:twitch:token:{digest}, intel:twitch:ratelimit
    intel:seeding                            dev's history seeding in progress
    intel:metrics:...                        Prometheus counters (`intel_assets.counters`)
"""

from datetime import datetime

from intel_assets.catalog import GAMING_CATEGORY

# The serving tier.

SNAPSHOT_TTL_SECONDS = 5 * 3600
"""How long a game's latest raw snapshot is served from Redis after its collection."""


def snapshot_key(platform: str, game_key: str) -> str:
    """The key of a game's latest raw snapshot of a platform ("youtube" or "twitch")."""
    return f"{platform}:games:{game_key}"


def analysis_key(analyzer: str, game_key: str) -> str:
    """The key of an analyzer's latest result for a game (its TTL is the analyzer's own)."""
    return f"intel:{analyzer}:precomputed:{game_key}"


# The YouTube collection's shared caches.

CHANNEL_CACHE_TTL_SECONDS = 24 * 3600
"""How long a fetched channel's counts are reused."""

WINDOW_CACHE_SLACK_SECONDS = 600
"""A window's caches outlive the window by this much, so a collection that starts late in the
window still finds them."""


def window_cache_ttl(window_minutes: int) -> int:
    """Seconds a collection window's chart, details and statistics are kept."""
    return window_minutes * 60 + WINDOW_CACHE_SLACK_SECONDS


def chart_key(region: str, window: datetime) -> str:
    """The key of a region's gaming chart in a collection window (shared by every game)."""
    return f"youtube:chart:{region}:{GAMING_CATEGORY}:{window.isoformat()}"


def video_details_prefix() -> str:
    """The key prefix (before the video id) of cached video details."""
    return "youtube:video:"


def video_stats_prefix(window: datetime) -> str:
    """The key prefix (before the video id) of a window's cached video statistics."""
    return f"youtube:stats:{window.isoformat()}:"


def channel_prefix() -> str:
    """The key prefix (before the channel id) of cached channels."""
    return "youtube:channel:"


def uploads_sweep_key(window: datetime) -> str:
    """The key of a window's uploads-playlist sweep (present once the sweep is done)."""
    return f"youtube:uploads:{window.isoformat()}"


UPLOADS_LOOKED_KEY = "youtube:uploads:looked"
"""Hash: channel id → when its uploads playlist was last read."""


def discovered_key(game_key: str) -> str:
    """The key of the hash of a game's videos found by the uploads sweep, not yet collected."""
    return f"youtube:discovered:{game_key}"


# The API clients' shared state.

QUOTA_PREFIX = "intel:quota"
QUOTA_LOG_STREAM = "intel:quota:log"
"""The stream of every spend and refund, drained into `intel_quota_log`."""


def quota_key(platform: str, bucket: str, window: str) -> str:
    """The counter of a quota bucket's units spent in one quota window (a Pacific day)."""
    return f"{QUOTA_PREFIX}:{platform}:{bucket}:{window}"


def quota_closed_key(counter_key: str) -> str:
    """The flag that closes a bucket's window (quotaExceeded) beside its counter."""
    return f"{counter_key}:closed"


def breaker_key(api: str) -> str:
    """The hash holding an API's circuit breaker."""
    return f"intel:breaker:{api}"


TWITCH_RATE_LIMIT_KEY = "intel:twitch:ratelimit"


def twitch_token_key(digest: str) -> str:
    """The cached app token of one Twitch client id (by digest, never the id itself)."""
    return f"intel:twitch:token:{digest}"


# Run-wide flags.

SEEDING_KEY = "intel:seeding"
SEEDING_TTL_SECONDS = 120
"""The seeding flag expires unless its process renews it, so a killed seeding stops counting."""

# Prometheus counters (see `intel_assets.counters` for their fields).

METRICS_PREFIX = "intel:metrics"
CALLS_KEY = f"{METRICS_PREFIX}:api:calls"
ERRORS_KEY = f"{METRICS_PREFIX}:api:errors"
LATENCY_SUM_KEY = f"{METRICS_PREFIX}:api:latency_sum"
LATENCY_COUNT_KEY = f"{METRICS_PREFIX}:api:latency_count"
LATENCY_BUCKET_KEY = f"{METRICS_PREFIX}:api:latency_bucket"
ROWS_WRITTEN_KEY = f"{METRICS_PREFIX}:rows_written"
RUN_OUTCOMES_KEY = f"{METRICS_PREFIX}:runs:outcomes"
RUN_DURATION_SUM_KEY = f"{METRICS_PREFIX}:runs:duration_sum"
RUN_DURATION_COUNT_KEY = f"{METRICS_PREFIX}:runs:duration_count"
RUN_DURATION_BUCKET_KEY = f"{METRICS_PREFIX}:runs:duration_bucket"
ANALYZER_OUTCOMES_KEY = f"{METRICS_PREFIX}:analyzer:outcomes"
COUNTED_RUN_TTL_SECONDS = 7 * 24 * 3600
"""A counted run's id is remembered this long, so no run is counted twice."""


def run_counted_key(run_id: str) -> str:
    """The flag that says a run's outcome is counted."""
    return f"{METRICS_PREFIX}:runs:counted:{run_id}"
