"""Engine options and database helpers."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session

from app.extensions import db
from config import Settings

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

POSTGRES_CONNECT_TIMEOUT_SECONDS = 3
#: See server_options.
GENERIC_PLANS = "-c plan_cache_mode=force_generic_plan"
#: Where a request keeps its autocommit read connection (see read_connection).
READ_CONNECTION_KEY = "inkwell_read_connection"
#: Requests that never write: the session reads in autocommit mode (see begin_reads).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``Session.info`` key: True while the session's transaction holds only autocommit reads,
#: False once a write has ended them (no more autocommit in that session).
AUTOCOMMIT_READS = "inkwell.autocommit_reads"
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
        else:
            connect_args["options"] = server_options(settings.database_url)
        options["connect_args"] = connect_args
    return options


def server_options(database_url: str) -> str:
    """The ``options`` startup parameter: the URL's own, and a generic plan for every
    statement psycopg prepares (one it has run five times on a connection).

    PostgreSQL otherwise plans a prepared statement anew for each execution whenever its
    estimates favour that, which they did for every page: planning a post page took up to
    2 ms, four times running it. Measured with the windows' bounds written into the text
    (``app.services.pages``), each page's generic plan ran as fast as the per-execution
    one or faster. A statement that needs its values to be planned well (a LIMIT sent as
    a parameter, say) must write them into its text.
    """
    own = make_url(database_url).query.get("options", "")
    own = " ".join(own) if isinstance(own, tuple) else own
    return f"{own} {GENERIC_PLANS}".strip()


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


def begin_reads(database: SQLAlchemy) -> None:
    """On a request that cannot write (GET, HEAD, OPTIONS), start the request's session in
    autocommit mode, if it has not started yet.

    The session's one connection (one checkout, one pre-ping) then serves every read of
    the request, the ORM's and :func:`read_connection`'s alike, with no BEGIN and no
    closing ROLLBACK: each statement sees its own snapshot, as it does under READ
    COMMITTED anyway. A write in such a request still gets a transaction of its own
    (:func:`end_reads`). This is SQLAlchemy's documented way to set the isolation level
    of one session's transaction: ``Session.connection(execution_options=...)``.
    Every statement the session runs calls it first (:func:`start_reads_of_statements`).
    """
    _begin_reads(database.session())


def _begin_reads(session: Session) -> None:
    """:func:`begin_reads` for ``session``."""
    if not has_request_context() or request.method not in SAFE_METHODS:
        return
    if AUTOCOMMIT_READS in session.info or session.in_transaction():
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[AUTOCOMMIT_READS] = True


@event.listens_for(Session, "do_orm_execute")
def start_reads_of_statements(state: ORMExecuteState) -> None:
    """Before a session runs a statement (it has not picked its connection yet): the reads
    of a request that cannot write go to one autocommit connection (:func:`begin_reads`)."""
    _begin_reads(state.session)


def end_reads(session: Session) -> None:
    """End the autocommit reads :func:`begin_reads` started, so that what follows (writes)
    runs in a transaction of its own, and start no more of them in this session."""
    if session.info.get(AUTOCOMMIT_READS):
        session.commit()
    session.info[AUTOCOMMIT_READS] = False


@contextmanager
def read_connection(database: SQLAlchemy) -> Iterator[Connection]:
    """A connection for reads that need no transaction of their own.

    On a request that cannot write, the request's session connection in autocommit mode
    (:func:`begin_reads`). Otherwise, while the request's session is in a transaction (it
    already used the database), that transaction's connection; else one connection in
    autocommit mode per application context, checked out at its first read and given back
    at teardown, so those reads cost one checkout (and one pre-ping) however many there are.
    """
    begin_reads(database)
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
