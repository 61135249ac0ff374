"""Concurrent writers in separate processes never fork the audit trail's hash chain."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from sqlalchemy import func, select

from app.audit import verify_chain
from app.extensions import db
from app.models import AuditEvent
from config import BASE_DIR
from tests.conftest import TEST_SECRET_KEY

WORKERS = 2
POSTS_PER_WORKER = 20
START_TIMEOUT_SECONDS = 60

# Each worker registers a user, then writes posts as fast as it can. SQLite lets one
# writer in at a time and may answer "database is locked" to the other: that
# transaction rolls back (leaving no event) and the worker tries again.
WORKER = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy.exc import OperationalError
    from app import create_app
    from app.services import post_service, user_service
    from config import Settings

    url, name, go_file, count, secret = sys.argv[1:6]
    app = create_app(Settings(_env_file=None, secret_key=secret, database_url=url, log_file=""))

    def retrying(action):
        for _attempt in range(200):
            try:
                return action()
            except OperationalError:
                time.sleep(0.01)
        raise SystemExit(f"{name}: gave up on a locked database")

    with app.app_context():
        author = retrying(lambda: user_service.register_user(name, name + "@example.com",
                                                             "password-123"))
        while not __import__("os").path.exists(go_file):
            time.sleep(0.005)
        for number in range(int(count)):
            retrying(lambda: post_service.create_post(author, f"{name} {number}", "Body"))
    """
)


def run_workers(database_url: str, go_file: str, pgbouncer: bool) -> list[subprocess.Popen]:
    """Start the writer processes; they wait for ``go_file`` before writing posts."""
    env = {**os.environ, "PYTHONPATH": str(BASE_DIR), "DATABASE_PGBOUNCER": str(pgbouncer).lower()}
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                database_url,
                f"writer{number}",
                go_file,
                str(POSTS_PER_WORKER),
                TEST_SECRET_KEY,
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for number in range(WORKERS)
    ]


def wait_until_registered(expected: int) -> None:
    """Wait until every worker has registered (so the posts are written side by side)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        db.session.rollback()
        if db.session.scalar(select(func.count()).select_from(AuditEvent)) >= expected:
            return
        time.sleep(0.05)
    raise AssertionError("the writer processes did not start")


def test_concurrent_appends_leave_an_intact_chain(app, database_url, tmp_path):
    go_file = str(tmp_path / "go")
    processes = run_workers(
        database_url, go_file, app.extensions["inkwell.settings"].database_pgbouncer
    )
    try:
        with app.app_context():
            wait_until_registered(WORKERS)
            (tmp_path / "go").touch()
            outputs = [process.communicate(timeout=120)[0] for process in processes]
            assert [process.returncode for process in processes] == [0] * WORKERS, outputs
            db.session.rollback()
            events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
            with db.engine.connect() as connection:
                report = verify_chain(connection)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert len(events) == WORKERS * (1 + POSTS_PER_WORKER)
    assert len({event.prev_hash for event in events}) == len(events)  # no fork
    assert {event.actor_id for event in events if event.entity_type == "post"} == {1, 2}
    assert report.intact, report
    assert report.checked == len(events)
