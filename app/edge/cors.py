"""Cross-origin access: only the configured origins, never with credentials.

Flask-CORS answers, configured through its public options: an allowed origin is echoed
in ``Access-Control-Allow-Origin`` (``*`` when any origin is allowed), any other origin
gets no CORS header at all. Flask runs after-request hooks for handled errors too, so
404, 429 and 500 responses carry the same headers. Without ``CORS_ORIGINS`` nothing is
bound.
"""

from __future__ import annotations

import re

from flask import Flask, Response

from app.extensions import cors
from config import Settings

ALLOWED_HEADERS = ["Authorization", "Content-Type", "If-Match", "X-Request-ID"]
EXPOSED_HEADERS = [
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "ETag",
    "Link",
]
ALLOWED_METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"]
PREFLIGHT_MAX_AGE_SECONDS = 600


def exact_origin(origin: str) -> re.Pattern[str]:
    """A pattern matching exactly ``origin`` (scheme, host and port; case-insensitive).

    Flask-CORS would read an origin holding regex characters as a pattern; escaping and
    anchoring it rules out prefix and suffix tricks such as ``https://app.example.com.evil``.
    """
    return re.compile(re.escape(origin) + r"\Z", re.IGNORECASE)


def vary_on_origin(response: Response) -> Response:
    """Tell caches that every answer depends on ``Origin``, whether it was allowed or not.

    Flask-CORS adds ``Vary: Origin`` only where it echoes an origin; a cache could then
    hand a response without CORS headers to an allowed origin.
    """
    response.vary.add("Origin")
    return response


def init_cors(app: Flask, settings: Settings) -> None:
    """Bind Flask-CORS with the exact-origin allow list from ``CORS_ORIGINS``."""
    origins = settings.cors_origin_list
    if not origins:
        return
    any_origin = origins == ["*"]
    cors.init_app(
        app,
        origins="*" if any_origin else [exact_origin(origin) for origin in origins],
        send_wildcard=any_origin,
        always_send=False,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        methods=ALLOWED_METHODS,
        supports_credentials=False,
        allow_private_network=False,
        vary_header=False,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
        # Flask's after-request hooks already run for handled errors (404, 429, 500).
        intercept_exceptions=False,
    )
    if not any_origin:
        app.after_request(vary_on_origin)
