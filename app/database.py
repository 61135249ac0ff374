"""Engine options and database helpers."""

from __future__ import annotations

import time

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from config import Settings

POSTGRES_CONNECT_TIMEOUT_SECONDS = 3


def engine_options(settings: Settings) -> dict:
    """SQLAlchemy engine options for the configured database."""
    options: dict = {"pool_pre_ping": True}
    if settings.database_backend == "postgresql":
        options["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
    return options


def enable_sqlite_foreign_keys(engine: Engine) -> None:
    """Make SQLite enforce foreign keys, as PostgreSQL always does."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def ping(engine: Engine) -> float:
    """Run a trivial query and return its latency in milliseconds."""
    started = time.perf_counter()
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return round((time.perf_counter() - started) * 1000, 2)
