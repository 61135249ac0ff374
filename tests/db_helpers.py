"""Helpers for tests that look at what an app sends to the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import event

from app.extensions import db


@contextmanager
def statements_of(app: Flask) -> Iterator[list[str]]:
    """The SQL statements ``app`` sends inside the block (the pool's pings left out)."""
    sent: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.strip() != "SELECT 1":
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@dataclass
class DatabaseUse:
    """What an app asked of its pool and in which mode it sent each statement."""

    checkouts: int = 0
    #: Each statement with the isolation level its connection was given ("AUTOCOMMIT"
    #: for reads outside a transaction, None for the default: a real transaction).
    statements: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def isolation_levels(self) -> set[str | None]:
        """The isolation levels the statements ran at."""
        return {level for _statement, level in self.statements}


@contextmanager
def database_use_of(app: Flask) -> Iterator[DatabaseUse]:
    """Pool checkouts and statements (with their connection's isolation level) of ``app``."""
    use = DatabaseUse()
    with app.app_context():
        engine = db.engine

    def checked_out(*_args) -> None:
        use.checkouts += 1

    def record(conn, _cursor, statement, *_args) -> None:
        level = conn.get_execution_options().get("isolation_level")
        use.statements.append((statement, level))

    event.listen(engine.pool, "checkout", checked_out)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield use
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine.pool, "checkout", checked_out)
