"""Helpers for tests that look at what an app sends to the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
