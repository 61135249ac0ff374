"""Engine options and database helpers."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from config import Settings

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

POSTGRES_CONNECT_TIMEOUT_SECONDS = 3


def engine_options(settings: Settings) -> dict:
    """SQLAlchemy engine options for the configured database."""
    options: dict = {"pool_pre_ping": True}
    if settings.database_backend == "postgresql":
        connect_args: dict = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
        if settings.database_pgbouncer:
            # In transaction pooling each transaction may run on another server connection,
            # where a statement psycopg prepared on the last one does not exist.
            connect_args["prepare_threshold"] = None
        options["connect_args"] = connect_args
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


@contextmanager
def read_connection(database: SQLAlchemy) -> Iterator[Connection]:
    """A connection for reads that need no transaction of their own.

    While the request's session is in a transaction (it already used the database), that
    transaction's connection, so that a request still checks out a single connection.
    Otherwise a connection in autocommit mode, without creating a session: each statement
    sees its own snapshot, as it does under READ COMMITTED anyway, and no BEGIN or
    closing ROLLBACK costs a round trip.
    """
    sessions = database.session
    if sessions.registry.has() and sessions().in_transaction():
        yield sessions().connection()
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection


def release_session(_error: BaseException | None = None) -> None:
    """End the request's session; a database that died meanwhile must not turn into a 500.

    Installed in place of Flask-SQLAlchemy's own teardown, which only removes the session.
    Closing rolls the connection back, which fails if the server went away after the
    response was built; the pool has already dropped that connection, so the session is
    discarded and nothing is lost.
    """
    from sqlalchemy.exc import DBAPIError

    from app.extensions import db

    if not db.session.registry.has():  # the request never opened a session
        return
    try:
        db.session.remove()
    except DBAPIError as error:
        logging.getLogger("inkwell.database").warning(
            "session closed on a lost connection: %s", error.__class__.__name__
        )
        db.session.registry.clear()
