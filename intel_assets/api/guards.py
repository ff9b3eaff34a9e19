"""What every answer of the read API carries, and what it never echoes.

- Standard security headers on every response (`SecurityHeaders`, a pure ASGI middleware, so it
  adds no task or copy per request): no MIME sniffing, no framing, no referrer, and a content
  security policy that allows nothing to run, except on the browsable `/docs`, whose page
  loads Swagger UI's script and style.
- A 422 answer names what was wrong with the request but echoes at most `MAX_ECHO` characters
  of any value the client sent (FastAPI's own answer repeats the whole input: 60 KB in, 60 KB
  out, to any client, into any log that keeps responses).
"""

import json
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_ECHO = 64
"""Characters of a client's value a validation error repeats at most."""

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
CONTENT_SECURITY_POLICY = (
    b"content-security-policy",
    b"default-src 'none'; frame-ancestors 'none'",
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


class SecurityHeaders:
    """ASGI middleware adding `HEADERS` (and the content security policy) to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(HEADERS)
        if scope.get("path") not in DOCS_PATHS:
            extra.append(CONTENT_SECURITY_POLICY)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in extra if name not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _capped(value: Any) -> Any:
    """A client's value as an error may repeat it: itself when short, else its start."""
    if isinstance(value, str | int | float | bool) or value is None:
        text = value if isinstance(value, str) else None
    else:
        text = json.dumps(jsonable_encoder(value), ensure_ascii=False, default=str)
        if len(text) <= MAX_ECHO:
            return jsonable_encoder(value)
    if text is None or len(text) <= MAX_ECHO:
        return value
    return f"{text[:MAX_ECHO]}... ({len(text)} characters, not repeated)"


def capped_validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's validation errors with every echoed input, location and context capped."""
    capped = []
    for found in error.errors():
        entry = {key: value for key, value in found.items() if key in ("type", "loc", "msg")}
        entry["loc"] = [_capped(part) for part in found.get("loc", ())]
        entry["msg"] = _capped(found.get("msg", ""))
        if "input" in found:
            entry["input"] = _capped(found["input"])
        if "ctx" in found:
            entry["ctx"] = {k: _capped(v) for k, v in jsonable_encoder(found["ctx"]).items()}
        capped.append(entry)
    return capped
