"""Shared fixtures: settings, apps on SQLite and PostgreSQL, clients, services."""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db as _db
from app.models import Base
from config import Settings

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
# "true" when TEST_DATABASE_URL points at PgBouncer in transaction pooling mode.
POSTGRES_PGBOUNCER = os.environ.get("TEST_DATABASE_PGBOUNCER", "").lower() == "true"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
SETTINGS_KEYS = tuple(name.upper() for name in Settings.model_fields)


def service_missing(name: str) -> None:
    """A test that needs a missing service skips locally and fails in CI."""
    message = f"{name} is not available"
    if IN_CI:
        pytest.fail(f"{message} (CI must provide it)")
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    """Whether something listens on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch):
    """Settings come only from what a test passes, never from the developer's shell."""
    for key in SETTINGS_KEYS:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def make_settings(tmp_path):
    """Build Settings for a test: SQLite in tmp_path, a log file in tmp_path, memory limits."""

    def build(**overrides) -> Settings:
        values = {
            "secret_key": TEST_SECRET_KEY,
            "database_url": f"sqlite:///{tmp_path / 'inkwell-test.db'}",
            "log_file": str(tmp_path / "logs" / "inkwell.log"),
            "rate_limit_storage_url": "memory://",
            "audit_anchor_file": str(tmp_path / "anchors" / "audit-anchors.log"),
        }
        values.update(overrides)
        if POSTGRES_PGBOUNCER and values["database_url"] == POSTGRES_URL:
            values.setdefault("database_pgbouncer", True)
        return Settings(_env_file=None, **values)

    return build


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """The database of one test run: SQLite in tmp_path, or the PostgreSQL of TEST_DATABASE_URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'inkwell-test.db'}"
    return POSTGRES_URL


@pytest.fixture
def app(request, make_settings, database_url):
    """An application on a fresh schema, torn down afterwards.

    A test or module marked ``@pytest.mark.app_settings(rate_limit_requests=10_000)`` gets
    those settings on top of the defaults.
    """
    marker = request.node.get_closest_marker("app_settings")
    overrides = marker.kwargs if marker is not None else {}
    application = create_app(make_settings(database_url=database_url, **overrides))
    with application.app_context():
        reset_schema()
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


def reset_schema() -> None:
    """Give the current app an empty schema: TRUNCATE on PostgreSQL, a fresh SQLite file."""
    engine = _db.engine
    if engine.dialect.name == "postgresql":
        _migrate_postgresql_once(engine)
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            # The trail refuses TRUNCATE (its triggers); only a superuser's replica-mode
            # session, which fires no triggers, may empty it between tests.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return
    path = engine.url.database
    if not path or path == ":memory:":
        Base.metadata.create_all(engine)
        return
    # Copying a schema built once is much faster than CREATE TABLE for every test.
    engine.dispose()
    scratch = f"{path}.new"
    shutil.copyfile(_sqlite_template(), scratch)
    os.replace(scratch, path)


_migrated_databases: set[str] = set()


def _migrate_postgresql_once(engine) -> None:
    """Build the PostgreSQL schema from the migrations once per test session.

    The migrations, not ``create_all``, so that the database has exactly what production
    has, the audit trail's append-only trigger included.
    """
    url = engine.url.render_as_string(hide_password=False)
    if url in _migrated_databases:
        return
    from flask_migrate import upgrade

    engine.dispose()
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade()
    _migrated_databases.add(url)


_sqlite_templates: list[Path] = []


def _sqlite_template() -> Path:
    """A SQLite file holding the empty schema, built once per test session."""
    if not _sqlite_templates:
        folder = Path(tempfile.mkdtemp(prefix="inkwell-schema-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = folder / "schema.db"
        engine = create_engine(f"sqlite:///{template}")
        Base.metadata.create_all(engine)
        engine.dispose()
        _sqlite_templates.append(template)
    return _sqlite_templates[0]


@pytest.fixture
def db(app):
    """The database extension, inside an application context for the whole test."""
    with app.app_context():
        yield _db


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def cli(app):
    """Run a ``flask`` command against ``app``; returns click's result."""
    runner = app.test_cli_runner()

    def run(*args: str, input: str | None = None):
        """Invoke the command line with ``args`` (and ``input`` for prompts)."""
        return runner.invoke(args=list(args), input=input)

    return run


@pytest.fixture
def log_path(app):
    """The log file of ``app``."""
    return app.extensions["inkwell.settings"].log_file


# -- test data factories: every record goes through the services, like real data ----------

DEFAULT_PASSWORD = "correct-horse-battery"
_password_hashes: dict[str, str] = {}


def _password_hash(password: str) -> str:
    """Hash each distinct test password once (scrypt is deliberately slow)."""
    from app.auth import hash_password

    if password not in _password_hashes:
        _password_hashes[password] = hash_password(password)
    return _password_hashes[password]


def _detached(obj, *relationships: str):
    """``obj`` fully loaded and detached, so tests can read it outside the app context."""
    _db.session.refresh(obj)
    for name in relationships:
        related = getattr(obj, name)
        if related is not None:
            _db.session.refresh(related)
    _db.session.expunge_all()
    return obj


@pytest.fixture
def make_user(app):
    """Create a user through the services: ``make_user("alice", role="admin")``."""
    from app.models import Role
    from app.services import user_service

    counter = itertools.count(1)

    def build(
        username: str | None = None,
        *,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        role: str = "author",
        is_active: bool = True,
    ):
        """A new user (detached, fully loaded)."""
        username = username or f"user{next(counter)}"
        with app.app_context():
            user = user_service.create_user(
                username,
                email or f"{username}@example.com",
                _password_hash(password),
                role=Role(role),
                is_active=is_active,
            )
            return _detached(user)

    return build


@pytest.fixture
def make_admin(make_user):
    """Create an admin user."""

    def build(username: str | None = None, **kwargs):
        """A new admin."""
        return make_user(username or f"admin{next(_admin_numbers)}", role="admin", **kwargs)

    return build


_admin_numbers = itertools.count(1)


@pytest.fixture
def make_post(app, make_user):
    """Create a post through the services (published unless ``status="draft"``)."""
    from app.services import post_service

    counter = itertools.count(1)

    def build(
        author=None,
        *,
        title: str | None = None,
        body: str = "Some *Markdown* body.",
        status: str = "published",
    ):
        """A new post (detached, with its author loaded)."""
        author = author or make_user()
        with app.app_context():
            post = post_service.create_post(
                author, title or f"Post number {next(counter)}", body, status
            )
            return _detached(post, "author")

    return build


@pytest.fixture
def make_comment(app, make_user, make_post):
    """Create a comment through the services (on a new post unless ``post`` is given)."""
    from app.services import comment_service

    def build(post=None, author=None, *, body: str = "A thoughtful comment."):
        """A new comment (detached, with its author loaded)."""
        post = post or make_post()
        author = author or make_user()
        with app.app_context():
            comment = comment_service.add_comment(post.id, author, body)
            return _detached(comment, "author")

    return build
