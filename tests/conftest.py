"""Shared fixtures: settings, apps on SQLite and PostgreSQL, clients, services."""

from __future__ import annotations

import os
import socket

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db as _db
from config import Settings

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
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
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return build


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """The database of one test run: SQLite in tmp_path, or the PostgreSQL of TEST_DATABASE_URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'inkwell-test.db'}"
    return POSTGRES_URL


@pytest.fixture
def app(make_settings, database_url):
    """An application on a fresh schema, torn down afterwards."""
    application = create_app(make_settings(database_url=database_url))
    with application.app_context():
        reset_schema()
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


def reset_schema() -> None:
    """Empty every table (PostgreSQL) or build the schema (a fresh SQLite file)."""
    import app.models  # noqa: F401 - registers every table

    if _db.engine.dialect.name == "postgresql":
        _db.create_all()
        tables = ", ".join(f'"{table.name}"' for table in _db.metadata.sorted_tables)
        if tables:
            with _db.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        _db.create_all()


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def log_path(app):
    """The log file of ``app``."""
    return app.extensions["inkwell.settings"].log_file
