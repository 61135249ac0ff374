"""Failure drills under real gunicorn and a private PostgreSQL the tests stop and restart.

Database restart under write load, a worker killed with SIGKILL, a graceful SIGTERM, and
log rotation while serving. Each drill is bounded in time and always stops its processes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.conftest import TEST_SECRET_KEY
from tests.private_postgres import PrivatePostgres, private_postgres_missing
from tests.servers import Gunicorn, wait_until

pytestmark = pytest.mark.slow

WORKERS = 3
SHUTDOWN_LINE = "shut down; database connections released"


@dataclass
class DrillDatabase:
    """The private server, migrated, and a bearer token of an author in it."""

    server: PrivatePostgres
    token: str

    def connect(self) -> psycopg.Connection:
        """A direct autocommit connection to the drill database."""
        return psycopg.connect(self.server.url, autocommit=True)


@pytest.fixture(scope="module")
def drill_db() -> Iterator[DrillDatabase]:
    """A private PostgreSQL with Inkwell's schema and one author, removed afterwards."""
    reason = private_postgres_missing()
    if reason:
        pytest.skip(reason)
    from flask_migrate import upgrade

    from app import create_app
    from app.auth import create_access_token
    from app.extensions import db
    from app.models import Role
    from app.services import user_service
    from config import Settings

    server = PrivatePostgres()
    try:
        server.create()
        app = create_app(
            Settings(
                _env_file=None, secret_key=TEST_SECRET_KEY, database_url=server.url, log_file=""
            )
        )
        with app.app_context():
            upgrade()
            author = user_service.create_user(
                "drill", "drill@example.com", "not-a-login", role=Role.AUTHOR
            )
            token, _expires = create_access_token(author.id)
            db.session.remove()
            db.engine.dispose()
        yield DrillDatabase(server=server, token=token)
    finally:
        server.destroy()


def gunicorn(drill_db: DrillDatabase, workdir: Path) -> Gunicorn:
    """Inkwell on the drill database, rate limiting on with a budget the drills never reach."""
    return Gunicorn(
        workdir=workdir,
        workers=WORKERS,
        settings={"database_url": drill_db.server.url, "rate_limit_requests": 1_000_000},
    )


@dataclass
class Answer:
    """Status and body of one exchange; status 0 when the connection itself failed."""

    status: int
    body: bytes


def call(
    url: str,
    method: str = "GET",
    payload: dict | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Answer:
    """One HTTP exchange; error statuses are answers, a broken connection is status 0."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read())
    except OSError as error:  # reset, refused, remote disconnected
        return Answer(0, str(error).encode())


def worker_pids(server: Gunicorn) -> set[int]:
    """The gunicorn master's current worker processes."""
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(child) for child in children}


# -- database restart under write load -----------------------------------------------------


def test_database_restart_under_write_load_loses_nothing_acknowledged(drill_db, tmp_path):
    """Outage: 503 envelopes; afterwards: 201s without restarting; every 201 is stored."""
    headers = {"Authorization": f"Bearer {drill_db.token}"}
    results: list[tuple[str, Answer]] = []
    phase = ["before"]
    stop = threading.Event()

    with gunicorn(drill_db, tmp_path) as server:

        def write(writer: int) -> None:
            number = 0
            while not stop.is_set() and number < 5_000:
                number += 1
                started_in = phase[0]
                body = {"title": f"Drill {writer}-{number}", "body": "x", "status": "published"}
                answer = call(f"{server.url}/api/v1/posts", "POST", body, headers)
                results.append((started_in, answer))
                if answer.status != 201:
                    time.sleep(0.05)

        writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in writers:
            thread.start()
        try:
            time.sleep(1.5)
            phase[0] = "outage"
            drill_db.server.stop("fast")
            time.sleep(3)
            drill_db.server.start()
            phase[0] = "after"
            time.sleep(2)
        finally:
            stop.set()
            for thread in writers:
                thread.join(timeout=60)

    statuses = {answer.status for _phase, answer in results}
    assert statuses <= {201, 503}, statuses
    outage = [answer for started_in, answer in results if started_in == "outage"]
    assert any(answer.status == 503 for answer in outage)
    for answer in (answer for _phase, answer in results if answer.status == 503):
        envelope = json.loads(answer.body)
        assert envelope["success"] is False and envelope["status_code"] == 503
        assert b"Traceback" not in answer.body
    after = [answer.status for started_in, answer in results if started_in == "after"]
    assert after and set(after) == {201}
    created = [
        json.loads(answer.body)["data"]["id"] for _phase, answer in results if answer.status == 201
    ]
    with drill_db.connect() as connection:
        stored = {row[0] for row in connection.execute("SELECT id FROM posts")}
        audited = {
            row[0]
            for row in connection.execute(
                "SELECT entity_id FROM audit_events"
                " WHERE entity_type = 'post' AND action = 'create'"
            )
        }
    assert set(created) <= stored
    assert set(created) <= audited


# -- a worker killed with SIGKILL --------------------------------------------------------------


#: Concurrent clients of the killed-worker drill.
READERS = 4


def test_a_killed_worker_is_replaced_while_other_requests_succeed(drill_db, tmp_path):
    """SIGKILL on one worker: gunicorn starts another; only what it was serving fails.

    Workers are threaded, so the killed one may hold a request of every reader at once:
    at most one dropped connection per reader, never a 500, and all 200s once replaced.
    """
    answers: list[tuple[bool, Answer]] = []
    killed = threading.Event()
    stop = threading.Event()

    with gunicorn(drill_db, tmp_path) as server:

        def read() -> None:
            for _ in range(20_000):
                if stop.is_set():
                    return
                answers.append((killed.is_set(), call(f"{server.url}/api/v1/posts?limit=5")))

        readers = [threading.Thread(target=read) for _ in range(READERS)]
        for thread in readers:
            thread.start()
        try:
            time.sleep(1)
            before = worker_pids(server)
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            killed.set()
            wait_until(
                lambda: victim not in worker_pids(server) and len(worker_pids(server)) == WORKERS,
                30,
                "gunicorn to replace the killed worker",
            )
            replaced_at = len(answers)
            time.sleep(1.5)
        finally:
            stop.set()
            for thread in readers:
                thread.join(timeout=60)
        assert server.process is not None and server.process.poll() is None

    failed = [answer for _after, answer in answers if answer.status != 200]
    assert len(failed) <= READERS, [(answer.status, answer.body[:200]) for answer in failed]
    assert all(answer.status == 0 for answer in failed)  # a dropped connection, never a 500
    later = [answer.status for answer in (a for _k, a in answers[replaced_at:])]
    assert later and set(later) == {200}


# -- SIGTERM -------------------------------------------------------------------------------


def _waiting_for_advisory_lock(drill_db: DrillDatabase) -> bool:
    """Whether some session waits on an advisory lock (our blocked write)."""
    with drill_db.connect() as connection:
        return bool(
            connection.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
            ).fetchone()[0]
        )


def _app_connections(drill_db: DrillDatabase, connection: psycopg.Connection) -> int:
    """Sessions on the drill database other than ``connection``."""
    return connection.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = 'inkwell' AND pid <> pg_backend_pid()"
    ).fetchone()[0]


def test_sigterm_finishes_in_flight_requests_logs_shutdown_and_releases_connections(
    drill_db, tmp_path
):
    """A write held in flight completes with 201 after SIGTERM; workers log and disconnect."""
    from app.models.audit_event import AUDIT_CHAIN_LOCK_KEY

    headers = {"Authorization": f"Bearer {drill_db.token}"}
    server = gunicorn(drill_db, tmp_path).start()
    answers: list[Answer] = []
    try:
        with drill_db.connect() as blocker:
            # Writers take the audit chain's lock; holding it keeps one write in flight.
            blocker.execute("SELECT pg_advisory_lock(%s)", (AUDIT_CHAIN_LOCK_KEY,))
            payload = {"title": "In flight", "body": "x", "status": "published"}
            writer = threading.Thread(
                target=lambda: answers.append(
                    call(f"{server.url}/api/v1/posts", "POST", payload, headers)
                )
            )
            writer.start()
            wait_until(lambda: _waiting_for_advisory_lock(drill_db), 30, "the write to block")
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            time.sleep(1)
            blocker.execute("SELECT pg_advisory_unlock(%s)", (AUDIT_CHAIN_LOCK_KEY,))
            writer.join(timeout=30)
            exit_status = server.process.wait(timeout=30)
            remaining = _app_connections(drill_db, blocker)
    finally:
        server.stop()

    assert [answer.status for answer in answers] == [201]
    assert exit_status == 0
    assert server.output().count(SHUTDOWN_LINE) == WORKERS
    assert remaining == 0


# -- log rotation --------------------------------------------------------------------------


def _access_lines(path: Path) -> list[str]:
    """The access lines of a log file."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if " inkwell.access " in line]


def test_log_rotation_while_serving_loses_no_line_and_writes_none_to_the_old_file(
    drill_db, tmp_path
):
    """Rename the file and send USR1 under load: each request is logged once, new ones anew."""
    sent: list[tuple[str, bool]] = []
    statuses: list[int] = []
    signalled = threading.Event()
    stop = threading.Event()

    with gunicorn(drill_db, tmp_path) as server:
        log_file = tmp_path / "inkwell.log"

        def read(reader: int) -> None:
            for number in range(20_000):
                if stop.is_set():
                    return
                request_id = f"rotation-{reader}-{number}"
                after_signal = signalled.is_set()
                answer = call(f"{server.url}/health/live", headers={"X-Request-ID": request_id})
                statuses.append(answer.status)
                sent.append((request_id, after_signal))

        readers = [threading.Thread(target=read, args=(n,)) for n in range(4)]
        for thread in readers:
            thread.start()
        try:
            time.sleep(1)
            log_file.rename(tmp_path / "inkwell.log.1")
            assert server.process is not None
            server.process.send_signal(signal.SIGUSR1)  # what logrotate's postrotate does
            signalled.set()
            time.sleep(1.5)
        finally:
            stop.set()
            for thread in readers:
                thread.join(timeout=60)

    old_lines = _access_lines(tmp_path / "inkwell.log.1")
    new_lines = _access_lines(log_file)
    assert sent and old_lines and new_lines
    assert set(statuses) == {200}
    for request_id, after_signal in sent:
        marker = f"[{request_id}]"
        in_old = sum(marker in line for line in old_lines)
        in_new = sum(marker in line for line in new_lines)
        assert in_old + in_new == 1, request_id
        if after_signal:
            assert in_new == 1, request_id


# -- worker lifecycle lines ----------------------------------------------------------------


def test_each_worker_logs_its_start_and_exit_through_the_application_log(drill_db, tmp_path):
    """'worker N started' and 'worker N exiting' reach LOG_FILE for every worker."""
    server = gunicorn(drill_db, tmp_path)
    with server:
        pids = worker_pids(server)
    lines = (tmp_path / "inkwell.log").read_text().splitlines()
    for pid in pids:
        assert any(f"inkwell.server [-] worker {pid} started" in line for line in lines), pid
        assert any(f"inkwell.server [-] worker {pid} exiting" in line for line in lines), pid
    assert "Logging error" not in server.output()
