"""Locks shared by every process, that cost seconds, not minutes, when their owner dies.

`renewed_lock` is a Redis lock (redis-py's `Lock`: a random owner token set with NX and a TTL,
released by a Lua script only by the token's owner) whose TTL is short and renewed by a daemon
thread while the block runs. A live owner keeps it however long its work takes; a crashed one
stops renewing, so the lock is free again within one TTL.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import LockError
from redis.lock import Lock

log = logging.getLogger(__name__)

LOCK_TTL_SECONDS = 10.0
"""How long a lock outlives an owner that stopped renewing it."""


class LockTimeoutError(RuntimeError):
    """A lock stayed held by a live owner for longer than the caller would wait."""


@contextmanager
def renewed_lock(
    client: redis.Redis,
    name: str,
    *,
    ttl_seconds: float = LOCK_TTL_SECONDS,
    wait_seconds: float = 300.0,
) -> Iterator[None]:
    """Hold the Redis lock `name` for the block, renewing its TTL every third of it.

    Args:
        client: The Redis server every process shares.
        name: The lock's key.
        ttl_seconds: Lifetime of the lock past its owner's last renewal.
        wait_seconds: Longest wait for a live owner to finish.

    Raises:
        LockTimeoutError: Another owner held it (and renewed it) for all of `wait_seconds`.
    """
    # thread_local=False: the renewing thread must see the owner's token.
    lock = client.lock(name, timeout=ttl_seconds, blocking_timeout=wait_seconds, thread_local=False)
    if not lock.acquire():
        raise LockTimeoutError(f"lock {name} was held by another run for {wait_seconds:g} s")
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew, args=(lock, stop, ttl_seconds / 3), name=f"renew:{name}", daemon=True
    )
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        try:
            lock.release()
        except LockError:  # it expired while we could not renew it; someone else may hold it
            log.warning("lock %s had expired before its owner released it", name)


def _renew(lock: Lock, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            lock.reacquire()
        except (LockError, redis.RedisError) as error:
            log.warning("could not renew lock %s (%s)", lock.name, type(error).__name__)
            return
