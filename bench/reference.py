"""The reference endpoint: the feed's first-page row query through psycopg and json.dumps.

No framework, no ORM, no validation, no rate limiting, no logging: one WSGI callable that
runs the same SQL as ``GET /api/v1/posts?limit=20`` (its one statement: the 20 rows, each
carrying the exact total) and serialises the rows. It is the practical ceiling for that
request in Python; the benchmark serves it with the same gunicorn and worker count as
Inkwell.

``REFERENCE_DATABASE_URL`` is a libpq URL; ``REFERENCE_SQL`` and ``REFERENCE_PARAMS``
(JSON) are the statement and parameters Inkwell sends, captured by bench/production.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

_connection: psycopg.Connection | None = None


def _connect() -> psycopg.Connection:
    """This worker's one connection (opened on first use, after gunicorn forks)."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["REFERENCE_DATABASE_URL"], autocommit=True)
    return _connection


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer every request with the first page's rows as JSON."""
    with _connect().cursor() as cursor:
        cursor.execute(os.environ["REFERENCE_SQL"], json.loads(os.environ["REFERENCE_PARAMS"]))
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    body = json.dumps({"data": rows}, default=str).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
