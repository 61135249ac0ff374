"""Cross-origin access: only the configured origins, never with credentials.

Flask-CORS answers for the origins in ``CORS_ORIGINS``: an allowed origin is echoed in
``Access-Control-Allow-Origin`` (``*`` when any origin is allowed), any other origin gets no
CORS header at all. Error responses (404, 429, 500) pass through the same hook, so a
browser can read them too. Without ``CORS_ORIGINS`` the extension is not bound at all.
"""

from __future__ import annotations

import re

from flask import Flask, Response

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
    """Tell caches that the answer depends on ``Origin``, whether or not it was allowed."""
    # Plain header access: ``response.vary`` parses and rebuilds the header on every call.
    vary = response.headers.get("Vary")
    if vary is None:
        response.headers.add("Vary", "Origin")
    elif "origin" not in {part.strip().lower() for part in vary.split(",")}:
        response.headers["Vary"] = f"{vary}, Origin"
    return response


def init_cors(app: Flask, settings: Settings) -> None:
    """Bind Flask-CORS with the exact-origin allow list from ``CORS_ORIGINS``."""
    from app.extensions import cors

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
    )
    if not any_origin:
        app.after_request(vary_on_origin)
