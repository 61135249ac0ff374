"""Where a read's time goes: processor time per request and per database step, in process.

    .venv/bin/python -m bench.read_budget    # after `make bench` has seeded the database
    .venv/bin/python -m bench.read_budget --database-url postgresql://... --rounds 7

Reads the database `make bench` seeded (``--database-url``; nothing is written to it) and
calls Inkwell's WSGI callable directly (no server, no network), with rate limiting counted
in Redis (``--redis-url``), the access line to a log file and metrics on, as in
production. Every step runs ``--calls`` times per round, all steps in turn in each of
``--rounds`` rounds, so a change in the machine's other load hits all of them alike; the
table shows per step the median over rounds of the processor time (this process only:
PostgreSQL's and Redis's own work is not in it) per call, and its spread.

The steps are the parts of a request that touch the database, each through SQLAlchemy as
Inkwell runs it (inside a GET's context, on the session's one autocommit connection: the
first step is that frame alone, and "beyond the first step" is the statement's own share)
and through psycopg alone on an open connection, as the plain reference runs it; then
whole requests.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

SECRET = "bench-read-budget-secret-key-0123456789abcdef"
USER_SQL = (
    "SELECT id, username, role, is_active, date_added, date_updated, added_by, updated_by"
    " FROM users WHERE lower(username) = lower(%s) AND deleted_at IS NULL"
)
VERSION_SQL = "SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1"
#: What every SQLAlchemy step includes: a GET's context, its connection, the session's end.
BASE = "GET context + pool checkout + pre-ping + session end (SQLAlchemy)"


def wsgi_get(application: Callable[..., Any], path: str) -> Callable[[], None]:
    """One anonymous GET of ``path`` through ``application``, body read and closed."""
    environ = EnvironBuilder(path=path).get_environ()

    def start_response(status: str, _headers: list, _exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"GET {path} answered {status}")

    def call() -> None:
        body = application(dict(environ), start_response)
        for _chunk in body:
            pass
        getattr(body, "close", lambda: None)()

    return call


def processor_us(step: Callable[[], Any], calls: int) -> float:
    """Processor time of this process per call of ``step``, in microseconds."""
    started = time.process_time()
    for _ in range(calls):
        step()
    return (time.process_time() - started) / calls * 1e6


def build_steps(database_url: str, redis_url: str, workdir: Path) -> list[tuple[str, Any]]:
    """The steps, in the order they are measured and shown."""
    import psycopg
    from sqlalchemy import select

    from app import create_app
    from app.database import begin_reads
    from app.extensions import db
    from app.models import Post, User
    from app.models.audit_event import chain_head
    from app.services import user_service
    from config import Settings

    application = create_app(
        Settings(
            _env_file=None,
            secret_key=SECRET,
            database_url=database_url,
            rate_limit_storage_url=redis_url,
            rate_limit_requests=10**9,
            log_file=str(workdir / "inkwell.log"),
        )
    )
    with application.app_context():
        username = db.session.scalar(select(User.username).order_by(User.id).limit(1))
        post_id = db.session.scalar(
            select(Post.id).where(Post.status == "published").order_by(Post.id.desc()).limit(1)
        )
        engine = db.engine
    raw = psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(False))
    raw.autocommit = True

    def sqlalchemy_step(work: Callable[[], Any]) -> Callable[[], None]:
        """``work`` inside a GET's application context, on its autocommit session."""

        def call() -> None:
            with application.test_request_context("/", method="GET"):
                begin_reads(db)
                work()
                db.session.remove()

        return call

    def session() -> Any:
        return db.session.connection()

    def request_context_alone() -> None:
        with application.test_request_context("/", method="GET"):
            pass

    return [
        ("GET context alone (Flask)", request_context_alone),
        (BASE, sqlalchemy_step(lambda: None)),
        ("+ ETag version read (SQLAlchemy Core)", sqlalchemy_step(lambda: chain_head(session()))),
        ("ETag version read (psycopg alone)", lambda: raw.execute(VERSION_SQL).fetchone()),
        (
            "+ public profile with the version (SQLAlchemy Core)",
            sqlalchemy_step(lambda: user_service.public_profile(username)),
        ),
        (
            "+ user by name (SQLAlchemy ORM)",
            sqlalchemy_step(lambda: user_service.find_user_by_username(username)),
        ),
        ("user by name (psycopg alone)", lambda: raw.execute(USER_SQL, (username,)).fetchone()),
        (f"GET /api/v1/users/{username}", wsgi_get(application, f"/api/v1/users/{username}")),
        (f"GET /api/v1/posts/{post_id}", wsgi_get(application, f"/api/v1/posts/{post_id}")),
        ("GET /api/v1/posts?limit=20", wsgi_get(application, "/api/v1/posts?limit=20")),
        ("GET / (HTML)", wsgi_get(application, "/")),
        (f"GET /posts/{post_id} (HTML)", wsgi_get(application, f"/posts/{post_id}")),
    ]


def main() -> None:
    """Measure every step in interleaved rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/inkwell_bench"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--calls", type=int, default=300, help="calls per step and round")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="inkwell-prom-"))
    with tempfile.TemporaryDirectory(prefix="inkwell-read-budget-") as folder:
        steps = build_steps(options.database_url, options.redis_url, Path(folder))
        # The access line goes to the file handler only: a terminal would measure itself.
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler:
                handler.setStream(io.StringIO())
        for _name, step in steps:
            processor_us(step, 50)  # warm-up: compiled statements, prepared statements
        samples: dict[str, list[float]] = {name: [] for name, _ in steps}
        for _round in range(options.rounds):
            for name, step in steps:
                samples[name].append(processor_us(step, options.calls))
    print(
        f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
        f"{options.rounds} rounds x {options.calls} calls per step"
    )
    print("\n| step | processor µs per call (median) | spread | beyond the first step |")
    print("|---|---:|---:|---:|")
    for name, values in samples.items():
        beyond = "-"
        if name.startswith("+ "):
            differences = [value - base for value, base in zip(values, samples[BASE], strict=True)]
            beyond = f"{statistics.median(differences):.0f}"
        spread = f"{min(values):.0f}-{max(values):.0f}"
        print(f"| {name} | {statistics.median(values):.0f} | {spread} | {beyond} |")


if __name__ == "__main__":
    main()
