"""Start-up and shutdown lines, and releasing connections at exit."""

from __future__ import annotations

import logging

from flask import Flask

from app.extensions import db

log = logging.getLogger("inkwell.lifecycle")


def _storage_kind(url: str) -> str:
    return url.partition("://")[0]


def log_startup(app: Flask) -> None:
    """One line naming the app, its version, the database backend and the limiter storage."""
    settings = app.extensions["inkwell.settings"]
    log.info(
        "%s %s starting: database=%s rate_limit_storage=%s rate_limiting=%s",
        settings.app_name,
        settings.app_version,
        settings.database_backend,
        _storage_kind(settings.rate_limit_storage_url),
        "on" if settings.rate_limit_enabled else "off",
    )


def shutdown(app: Flask) -> None:
    """Log one shutdown line and release the database connections (once per app)."""
    if app.extensions.get("inkwell.shut_down"):
        return
    app.extensions["inkwell.shut_down"] = True
    settings = app.extensions["inkwell.settings"]
    with app.app_context():
        db.engine.dispose()
    log.info(
        "%s %s shut down; database connections released", settings.app_name, settings.app_version
    )
