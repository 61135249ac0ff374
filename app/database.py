"""Engine options and database helpers."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import g, has_app_context
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from config import Settings

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

POSTGRES_CONNECT_TIMEOUT_SECONDS = 3
#: Where a request keeps its autocommit read connection (see read_connection).
READ_CONNECTION_KEY = "inkwell_read_connection"
log = logging.getLogger("inkwell.database")


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
    transaction's connection. Otherwise one connection in autocommit mode per application
    context (a request), checked out at its first read and given back at teardown, so a
    request's reads cost one checkout (and one pre-ping) however many there are, and no
    BEGIN or closing ROLLBACK: each statement sees its own snapshot, as it does under READ
    COMMITTED anyway.
    """
    sessions = database.session
    if sessions.registry.has() and sessions().in_transaction():
        yield sessions().connection()
        return
    if not has_app_context():
        with database.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            yield connection
        return
    connection = g.get(READ_CONNECTION_KEY)
    if connection is None or connection.closed:
        connection = database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        setattr(g, READ_CONNECTION_KEY, connection)
    yield connection


def release_session(_error: BaseException | None = None) -> None:
    """End the request's session and read connection; a database that died meanwhile must
    not turn into a 500.

    Runs before Flask-SQLAlchemy's own teardown, which only removes the session. Closing
    rolls the connection back, which fails if the server went away after the response
    was built; the pool has already dropped that connection, so the session is
    discarded and nothing is lost.
    """
    connection = g.pop(READ_CONNECTION_KEY, None)
    if connection is not None:
        try:
            connection.close()
        except DBAPIError as error:
            log.warning("read connection closed on a lost connection: %s", type(error).__name__)
    if not db.session.registry.has():  # the request never opened a session
        return
    try:
        db.session.remove()
    except DBAPIError as error:
        log.warning("session closed on a lost connection: %s", type(error).__name__)
        db.session.registry.clear()
