"""The audit trail against truncation: gap-free ids, TRUNCATE refused, anchors outside."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from config import BASE_DIR
from tests.conftest import TEST_SECRET_KEY
from tests.test_cli import tamper


@pytest.fixture
def anchor_file(app):
    """The app's AUDIT_ANCHOR_FILE."""
    from pathlib import Path

    return Path(app.extensions["inkwell.settings"].audit_anchor_file)


def test_anchor_appends_the_chain_head(cli, anchor_file):
    cli("seed", "--posts", "3", "--users", "1")
    result = cli("audit", "anchor")
    assert result.exit_code == 0, result.output
    (line,) = anchor_file.read_text().splitlines()
    anchor = json.loads(line)
    assert anchor["event_id"] > 0
    assert len(anchor["hash"]) == 64
    assert f"Anchored event {anchor['event_id']}" in result.output


def test_verify_checks_every_anchor(cli):
    cli("seed", "--posts", "3", "--users", "1")
    cli("audit", "anchor")
    cli("seed", "--posts", "2", "--users", "1")
    cli("audit", "anchor")
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "2 anchors hold" in result.output


def test_removing_the_newest_events_after_an_anchor_is_detected(app, cli, anchor_file):
    cli("seed", "--posts", "3", "--users", "1")
    cli("audit", "anchor")
    head = json.loads(anchor_file.read_text())["event_id"]
    with app.app_context():
        tamper("DELETE FROM audit_events WHERE id >= :id", {"id": head - 1})
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "no longer matches the anchor on line 1" in result.output
    assert f"it names event {head}, which is no longer in the trail" in result.output


def test_rewriting_the_whole_trail_after_an_anchor_is_detected(app, cli, anchor_file):
    cli("seed", "--posts", "3", "--users", "1", "--seed", "1")
    cli("audit", "anchor")
    anchored = json.loads(anchor_file.read_text())["event_id"]
    with app.app_context():
        tamper("DELETE FROM audit_events", {})
    # A new, longer chain from the genesis hash: the anchored id exists again, rewritten.
    cli("seed", "--posts", "12", "--users", "1", "--seed", "2")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.scalar(text("SELECT max(id) FROM audit_events")) > anchored
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"event {anchored} no longer has the hash anchored for it" in result.output


def test_a_trail_cut_at_its_start_is_detected(app, cli):
    cli("seed", "--posts", "3", "--users", "1")
    with app.app_context():
        tamper("DELETE FROM audit_events WHERE id <= 2", {})
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "Audit trail broken at event 3: the events before it (1 to 2) are missing" in (
        result.output
    )


def test_a_malformed_anchor_file_is_one_line_and_exit_1(cli, anchor_file):
    anchor_file.parent.mkdir(parents=True, exist_ok=True)
    anchor_file.write_text("not an anchor\n")
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "line 1 of" in result.output
    assert "Traceback" not in result.output


def test_a_rolled_back_write_leaves_no_gap_in_the_ids(app, cli, make_user):
    from app.services import Conflict, user_service

    make_user("taken")
    with app.app_context(), pytest.raises(Conflict):
        user_service.create_user("TAKEN", "other@example.com", "x" * 20)
    make_user("second")
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "2 events verified" in result.output


def test_postgresql_refuses_to_truncate_the_trail(app, cli):
    if app.extensions["inkwell.settings"].database_backend != "postgresql":
        pytest.skip("PostgreSQL only")
    cli("seed", "--posts", "2", "--users", "1")
    with (
        app.app_context(),
        pytest.raises(DBAPIError, match="append-only"),
        db.engine.begin() as connection,
    ):
        connection.execute(text("TRUNCATE audit_events"))
    assert cli("audit", "verify").exit_code == 0


def test_concurrent_anchor_runs_each_write_one_whole_line(app, cli, anchor_file, tmp_path):
    cli("seed", "--posts", "2", "--users", "1")
    settings = app.extensions["inkwell.settings"]
    script = textwrap.dedent(
        """
        from app import create_app
        from app.audit import anchor_head
        from app.extensions import db
        from pathlib import Path
        import sys
        application = create_app()
        with application.app_context(), db.engine.connect() as connection:
            for _ in range(20):
                anchor_head(connection, Path(sys.argv[1]))
        """
    )
    environment = {
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": settings.database_url,
        "DATABASE_PGBOUNCER": str(settings.database_pgbouncer).lower(),
        "LOG_FILE": str(tmp_path / "anchor.log"),
        "LOG_LEVEL": "WARNING",
        "PATH": "/usr/bin:/bin",
    }
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(anchor_file)], cwd=BASE_DIR, env=environment
        )
        for _ in range(3)
    ]
    assert [run.wait(timeout=60) for run in runs] == [0, 0, 0]
    lines = anchor_file.read_text().splitlines()
    assert len(lines) == 60
    assert all(json.loads(line)["hash"] for line in lines)
    assert cli("audit", "verify").exit_code == 0
