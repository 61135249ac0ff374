"""Inkwell: a governed blogging platform.

:func:`create_app` is the table of contents: every step that changes the application is
one call below, in the order it happens.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.database import enable_sqlite_foreign_keys, engine_options, release_session
from app.edge.access_log import log_access
from app.edge.cors import init_cors
from app.edge.json_input import GuardedJSONProvider
from app.edge.middleware import RequestEdge
from app.edge.ratelimit import init_rate_limiting, limiter
from app.errors import register_error_handlers
from app.extensions import csrf, db, migrate
from app.lifecycle import log_startup
from app.logging import configure_logging
from app.web.session import PageSessionInterface
from app.web.templating import share_compiled_templates
from config import BASE_DIR, Settings, load_settings

__all__ = ["create_app"]

SETTINGS_KEY = "inkwell.settings"


def create_app(settings: Settings | None = None) -> Flask:
    """Build an Inkwell application from ``settings`` (read from the environment if omitted)."""
    settings = settings or load_settings()
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    configure_app(app, settings)
    configure_logging(settings)
    register_extensions(app, settings)
    register_blueprints(app)
    register_metrics(app, settings)
    register_error_handlers(app)
    register_request_hooks(app)
    register_commands(app)
    wrap_wsgi_app(app, settings)
    log_startup(app)
    return app


def configure_app(app: Flask, settings: Settings) -> None:
    """Keep the settings on the app and copy what Flask and its extensions read."""
    app.extensions[SETTINGS_KEY] = settings
    app.json = GuardedJSONProvider(app)
    app.session_interface = PageSessionInterface()
    share_compiled_templates(app)
    app.config.update(
        SECRET_KEY=settings.secret_key.get_secret_value(),
        DEBUG=settings.debug,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        # Flask answers a request for any other Host with 400 (SecurityError).
        TRUSTED_HOSTS=settings.trusted_host_list or None,
    )
    if settings.sqlite_path_dir is not None:
        settings.sqlite_path_dir.mkdir(parents=True, exist_ok=True)


def register_extensions(app: Flask, settings: Settings) -> None:
    """Bind the rate limiter, the database, migrations, CSRF protection and CORS.

    The limiter comes first so that its check runs before any other: requests that a
    later check rejects (a missing CSRF token) are counted too.
    """
    init_rate_limiting(app, settings)
    db.init_app(app)
    # Runs before Flask-SQLAlchemy's own teardown (Flask calls them in reverse order) and
    # also ends the session when the database went away during the request.
    app.teardown_appcontext(release_session)
    with app.app_context():
        enable_sqlite_foreign_keys(db.engine)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    init_cors(app, settings)


def register_blueprints(app: Flask) -> None:
    """The JSON API under /api/v1 (with its docs), the HTML pages and the health checks."""
    from app.api import IdConverter
    from app.api import bp as api_bp
    from app.api.docs import docs_bp
    from app.health import bp as health_bp
    from app.web import bp as web_bp

    app.url_map.converters["id"] = IdConverter  # before the API's rules are added
    app.register_blueprint(api_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(health_bp)
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, never cookies
    csrf.exempt(health_bp)
    limiter.exempt(health_bp)


def register_metrics(app: Flask, settings: Settings) -> None:
    """Prometheus metrics at /metrics, exempt from rate limiting like the health checks."""
    from app.metrics.exposition import bp as metrics_bp
    from app.metrics.exposition import init_metrics

    init_metrics(app, settings)
    limiter.exempt(metrics_bp)


def register_request_hooks(app: Flask) -> None:
    """The access log line of every request, and the values every template may use."""
    app.after_request(log_access)
    app.context_processor(template_globals)


def register_commands(app: Flask) -> None:
    """The ``flask`` command-line commands."""
    from app.cli import register_commands as register

    register(app)


def wrap_wsgi_app(app: Flask, settings: Settings) -> None:
    """ProxyFix (only for the configured number of proxies) inside the request edge.

    The edge is outermost, so that the request id, the timing and the security headers
    cover everything the app answers.
    """
    if settings.trusted_proxy_count:
        hops = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.wsgi_app = RequestEdge(app.wsgi_app)


def template_globals() -> dict:
    """Values every template may use."""
    from flask import current_app

    from app.context import current_request_id

    settings = current_app.extensions[SETTINGS_KEY]
    return {
        "app_name": settings.app_name,
        "app_version": settings.app_version,
        "request_id": current_request_id(),
    }
