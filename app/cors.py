"""Cross-origin access: only the configured origins, never with credentials."""

from __future__ import annotations

from flask import Flask

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


def init_cors(app: Flask, settings: Settings) -> None:
    """Bind Flask-CORS with the exact-origin allow list from ``CORS_ORIGINS``."""
    from app.extensions import cors

    cors.init_app(
        app,
        origins=settings.cors_origin_list,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        methods=ALLOWED_METHODS,
        supports_credentials=False,
        vary_header=True,
        max_age=600,
    )
