"""Inkwell: a governed blogging platform."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import BASE_DIR, Settings, load_settings

__all__ = ["Inkwell", "create_app"]


class Inkwell(Flask):
    """Flask, deciding once per function, not on every call, whether it must run as async.

    Flask asks ``inspect.iscoroutinefunction`` for every view and every hook of every
    request; with a dozen hooks that is a noticeable share of a small request.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_functions: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's ``ensure_sync``, remembered per function."""
        try:
            return self._sync_functions[func]
        except KeyError:
            sync = self._sync_functions[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)


def create_app(settings: Settings | None = None) -> Flask:
    """Build an Inkwell application from ``settings`` (read from the environment if omitted)."""
    settings = settings or load_settings()
    app = Inkwell(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    configure_app(app, settings)
    register_logging(app, settings)
    register_extensions(app, settings)
    register_blueprints(app)
    register_errorhandlers(app)
    register_hooks(app)
    app.context_processor(template_globals)
    register_commands(app)
    register_proxy_fix(app, settings)
    log_startup(app)
    return app


def configure_app(app: Flask, settings: Settings) -> None:
    """Copy the settings Flask and its extensions read from ``app.config``."""
    from app.database import engine_options

    app.extensions["inkwell.settings"] = settings
    app.json.sort_keys = False
    app.config.update(
        SECRET_KEY=settings.secret_key.get_secret_value(),
        DEBUG=settings.debug,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        # protect_forms (app/web/forms.py) runs the check, only where a form can change things.
        WTF_CSRF_CHECK_DEFAULT=False,
    )


def register_logging(app: Flask, settings: Settings) -> None:
    """Console and file handlers with request ids."""
    from app.logging import configure_logging

    configure_logging(app, settings)


def register_extensions(app: Flask, settings: Settings) -> None:
    """Bind the database, migrations, CORS, CSRF and the rate limiter."""
    from app.cors import init_cors
    from app.database import enable_sqlite_foreign_keys, release_session
    from app.extensions import csrf, db, migrate
    from app.ratelimit import init_rate_limiting
    from app.web.forms import protect_forms

    if settings.sqlite_path_dir is not None:
        settings.sqlite_path_dir.mkdir(parents=True, exist_ok=True)
    teardowns = app.teardown_appcontext_funcs
    known = len(teardowns)
    db.init_app(app)
    # release_session ends the session as Flask-SQLAlchemy's own teardown does, and also
    # when the database went away meanwhile; it takes that teardown's place.
    teardowns[known:] = [release_session]
    with app.app_context():
        enable_sqlite_foreign_keys(db.engine)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    app.before_request(protect_forms)
    init_cors(app, settings)
    init_rate_limiting(app, settings)


def register_blueprints(app: Flask) -> None:
    """The JSON API under /api/v1, the HTML pages and the health checks."""
    from app.api import bp as api_bp
    from app.extensions import csrf, limiter
    from app.health import bp as health_bp
    from app.web import bp as web_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(health_bp)
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, never cookies
    csrf.exempt(health_bp)
    limiter.exempt(health_bp)


def register_errorhandlers(app: Flask) -> None:
    """One handler for every error: JSON envelope or HTML error page."""
    from app.errors import register_error_handlers

    register_error_handlers(app)


def register_hooks(app: Flask) -> None:
    """Request ids, security headers and the access log."""
    from app.hooks import register_request_hooks

    register_request_hooks(app)


def register_commands(app: Flask) -> None:
    """The ``flask`` command-line commands."""
    from app.cli import register_commands as register

    register(app)


def register_proxy_fix(app: Flask, settings: Settings) -> None:
    """Trust ``X-Forwarded-*`` only from the configured number of proxies."""
    if settings.trusted_proxy_count:
        hops = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def log_startup(app: Flask) -> None:
    """One start-up line."""
    from app.lifecycle import log_startup as log_line

    log_line(app)


def template_globals() -> dict:
    """Values every template may use."""
    from flask import current_app

    from app.logging import current_request_id

    settings = current_app.extensions["inkwell.settings"]
    return {
        "app_name": settings.app_name,
        "app_version": settings.app_version,
        "request_id": current_request_id(),
    }
