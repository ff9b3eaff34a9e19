"""Error answers in the exact shapes YouTube, Twitch Helix and Twitch's token endpoint send.

Shapes follow `/work/shared/fixtures/real/` (PROVENANCE.md) and today's APIs: Google errors carry
`error.code`, `error.message`, `error.errors[]` (message, domain, reason, location) and, on
newer errors, `error.status` and `error.details[]`; Helix errors are
`{"error": <reason phrase>, "status": <code>, "message": ...}`; the token endpoint answers
`{"status": <code>, "message": ...}`.
"""

from http import HTTPStatus
from typing import Any

JsonBody = dict[str, Any]


class ApiError(Exception):
    """An error answer: raised by a handler, turned into the response by the server.

    Attributes:
        status: HTTP status.
        body: The JSON body.
        headers: Extra response headers.
    """

    def __init__(self, status: int, body: JsonBody, headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status (`Unauthorized`)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def google_error(
    code: int,
    message: str,
    reason: str,
    *,
    domain: str = "global",
    location: str | None = None,
    location_type: str | None = None,
    status: str | None = None,
    details: list[JsonBody] | None = None,
) -> ApiError:
    """A Google API error answer."""
    item: JsonBody = {"message": message, "domain": domain, "reason": reason}
    if location is not None:
        item["location"] = location
        item["locationType"] = location_type or "parameter"
    error: JsonBody = {"code": code, "message": message, "errors": [item]}
    if status is not None:
        error["status"] = status
    if details is not None:
        error["details"] = details
    return ApiError(code, {"error": error})


QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


def youtube_quota_exceeded() -> ApiError:
    """403 quotaExceeded, as in `error_quotaExceeded_403_ShareX-issue-4477.json`."""
    return ApiError(
        403,
        {
            "error": {
                "code": 403,
                "message": QUOTA_MESSAGE,
                "errors": [
                    {"message": QUOTA_MESSAGE, "domain": "youtube.quota", "reason": "quotaExceeded"}
                ],
            }
        },
    )


KEY_INVALID_MESSAGE = "API key not valid. Please pass a valid API key."


def youtube_key_invalid() -> ApiError:
    """400 for a key the API does not know (today's shape, with API_KEY_INVALID details)."""
    return google_error(
        400,
        KEY_INVALID_MESSAGE,
        "badRequest",
        status="INVALID_ARGUMENT",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": KEY_INVALID_MESSAGE,
            },
        ],
    )


def youtube_key_missing() -> ApiError:
    """403 for a request with no key at all (Google answers it as unauthenticated use)."""
    message = (
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API."
    )
    return google_error(403, message, "forbidden", status="PERMISSION_DENIED")


def youtube_server_error(code: int) -> ApiError:
    """A 5xx as Google sends it (`backendError`)."""
    if code == 503:
        message, status = "The service is currently unavailable.", "UNAVAILABLE"
    else:
        message, status = "Internal error encountered.", "INTERNAL"
    return google_error(code, message, "backendError", status=status)


def youtube_status_error(code: int) -> ApiError:
    """Any injected status as a Google error body."""
    if code >= 500:
        return youtube_server_error(code)
    if code == 429:
        return youtube_rate_limited()
    return google_error(code, phrase(code), "badRequest")


def youtube_rate_limited() -> ApiError:
    """429 rateLimitExceeded (too many requests in a short time, not the daily quota)."""
    message = "The request cannot be completed because you have exceeded your rate limit."
    return google_error(
        429, message, "rateLimitExceeded", domain="youtube.quota", status="RESOURCE_EXHAUSTED"
    )


def youtube_bad_parameter(message: str, reason: str, location: str) -> ApiError:
    """400 about one query parameter (YouTube's `youtube.parameter` domain)."""
    return google_error(
        400,
        message,
        reason,
        domain="youtube.parameter",
        location=location,
        location_type="parameter",
    )


def youtube_invalid_filters() -> ApiError:
    """400 invalidFilters: what videos.list answers to more than 50 ids or maxResults with id."""
    return youtube_bad_parameter(
        "The request specifies an invalid filter parameter.", "invalidFilters", "parameters."
    )


def youtube_required(name: str) -> ApiError:
    """400 for a missing required parameter such as `part`."""
    return google_error(
        400, f"Required parameter: {name}", "required", location=name, location_type="parameter"
    )


def youtube_out_of_range(name: str, value: str, low: int, high: int) -> ApiError:
    """400 for an integer parameter outside its range."""
    message = f"Invalid value '{value}'. Values must be within the range: [{low}, {high}]"
    return google_error(
        400,
        message,
        "invalidParameter",
        location=name,
        location_type="parameter",
        status="INVALID_ARGUMENT",
    )


def youtube_not_found(path: str) -> ApiError:
    """404 for a path that is not a method."""
    return google_error(404, f"Method not found: {path}", "notFound", status="NOT_FOUND")


def helix_error(status: int, message: str) -> ApiError:
    """A Helix error body: `{"error": "Unauthorized", "status": 401, "message": ...}`."""
    return ApiError(status, {"error": phrase(status), "status": status, "message": message})


def helix_unauthorized(message: str) -> ApiError:
    """401 with the header Twitch sends alongside."""
    error = helix_error(401, message)
    error.headers["WWW-Authenticate"] = 'OAuth realm="TwitchTV", error="invalid_token"'
    return error


def auth_error(status: int, message: str) -> ApiError:
    """An id.twitch.tv error body: `{"status": 403, "message": "invalid client secret"}`."""
    return ApiError(status, {"status": status, "message": message})
