"""Client API keys: optional, sent in `X-API-Key`, compared in constant time, never logged.

Keys come from `INTEL_API_KEYS` when the application is built. Both the key sent and each key
configured are hashed (SHA-256) and the digests compared with `hmac.compare_digest`, every
configured key each time: how long a check takes says neither which key nearly matched nor how
long the keys are.
"""

import hashlib
import hmac
from collections.abc import Sequence
from typing import Annotated

from fastapi import HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

API_KEY_HEADER = "X-API-Key"

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="A client key of INTEL_API_KEYS (required when the server sets any).",
)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


class ApiKeyGuard:
    """Whether a request's key is one of the configured keys.

    Args:
        keys: The accepted keys; none leaves every route open.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self._digests = tuple(_digest(key) for key in keys)

    @property
    def enabled(self) -> bool:
        """Whether keys are required at all."""
        return bool(self._digests)

    def accepts(self, key: str | None) -> bool:
        """Whether `key` is a configured key (False for no key)."""
        if key is None:
            return False
        digest = _digest(key)
        matched = False
        for known in self._digests:  # all of them, matched or not: constant time
            matched |= hmac.compare_digest(digest, known)
        return matched


async def require_api_key(
    request: Request, key: Annotated[str | None, Security(api_key_header)]
) -> None:
    """A route dependency refusing requests without a configured key (401).

    Async on purpose: it does no I/O, so it runs on the event loop without a thread hop.
    """
    guard: ApiKeyGuard = request.app.state.key_guard
    if guard.accepts(key):
        return
    detail = (
        f"missing API key: send one of the server's keys in the {API_KEY_HEADER} header"
        if key is None
        else "invalid API key"
    )
    raise HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": API_KEY_HEADER},
    )
