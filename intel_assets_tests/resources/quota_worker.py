"""A process that hammers the quota ledger, for the concurrency test (kept free of Dagster imports
so ten of them start quickly)."""

from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import redis

from intel_assets.resources.errors import QuotaExhaustedError
from intel_assets.resources.quota import BucketSpec, QuotaLedger


def hammer(
    url: str, limit: int, attempts: int, at: datetime, start: Barrier, results: "Queue[int]"
) -> None:
    """Reserve 1 unit `attempts` times from a shared bucket of `limit`; report the units won.

    The ledger's clock stands at `at`, the test's time (a spawned process has the machine's).
    """
    ledger = QuotaLedger(
        redis.Redis.from_url(url, decode_responses=True, socket_timeout=5),
        platform="youtube",
        buckets=[BucketSpec("default", limit)],
        clock=lambda: at,
    )
    start.wait()  # every process starts reserving at the same moment
    obtained = 0
    for _ in range(attempts):
        try:
            ledger.reserve("default", "videos.list")
            obtained += 1
        except QuotaExhaustedError:
            pass
    results.put(obtained)


def spend_then_die(redis_url: str, warehouse_url: str, at_iso: str) -> None:
    """Spend 5 default units and 2 search calls for fortnite, then die before any log write."""
    import os
    import signal
    from datetime import datetime

    from intel_assets.resources.warehouse import PostgresWarehouse

    at = datetime.fromisoformat(at_iso)
    ledger = QuotaLedger(
        redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5),
        platform="youtube",
        buckets=[BucketSpec("default", 100), BucketSpec("search", 10)],
        warehouse=PostgresWarehouse(url=warehouse_url),
        flush_every=1000,
        clock=lambda: at,
    )
    for _ in range(5):
        ledger.reserve("default", "videos.list", game_key="fortnite", run_id="killed-run")
    for _ in range(2):
        ledger.reserve("search", "search.list", game_key="fortnite", run_id="killed-run")
    os.kill(os.getpid(), signal.SIGKILL)
