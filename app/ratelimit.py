"""Rate limiting: the client key and the limiter's configuration."""

from __future__ import annotations

from flask import Flask, request

from app.auth import claimed_user_id
from config import Settings


def rate_limit_key() -> str:
    """The user id of a valid token or signed-in session, else the client address."""
    user_id = claimed_user_id()
    if user_id is not None:
        return f"user:{user_id}"
    return f"ip:{request.remote_addr or 'unknown'}"


def request_identifier() -> str:
    """Name every request, unknown routes included, so that scanning counts too."""
    return request.endpoint or "unknown-route"


def limiter_config(settings: Settings) -> dict:
    """Flask-Limiter settings derived from Inkwell's."""
    return {
        "RATELIMIT_ENABLED": settings.rate_limit_enabled,
        "RATELIMIT_APPLICATION": settings.rate_limit,
        "RATELIMIT_STORAGE_URI": settings.rate_limit_storage_url,
        "RATELIMIT_STRATEGY": "fixed-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_HEADER_RETRY_AFTER_VALUE": "delta-seconds",
        "RATELIMIT_REQUEST_IDENTIFIER": request_identifier,
    }


def init_rate_limiting(app: Flask, settings: Settings) -> None:
    """Bind the limiter to ``app``; health checks and static files are exempt."""
    from app.extensions import limiter

    app.config.update(limiter_config(settings))
    limiter.init_app(app)
