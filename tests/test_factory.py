"""The application factory: independent apps, nothing done at import time."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from flask import Flask

from app import create_app
from config import BASE_DIR


def test_create_app_builds_a_flask_app(make_settings):
    assert isinstance(create_app(make_settings()), Flask)


def test_two_apps_keep_their_own_settings(make_settings):
    first = create_app(make_settings(app_name="First"))
    second = create_app(make_settings(app_name="Second"))
    assert first.test_client().get("/health").get_json()["data"]["app"] == "First"
    assert second.test_client().get("/health").get_json()["data"]["app"] == "Second"


def test_importing_the_package_creates_no_app_handler_or_connection():
    script = textwrap.dedent(
        """
        import logging, sys
        import app, app.extensions, app.models, app.services, app.api, app.web, app.edge
        import app.edge.middleware, app.edge.ratelimit, app.edge.cors, app.logging
        root = logging.getLogger()
        assert root.handlers == [], root.handlers
        from app.extensions import db
        try:
            db.engine
        except RuntimeError:
            pass  # no app, no engine: nothing was bound at import time
        else:
            sys.exit("an engine exists before any app was created")
        print("clean")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"


def test_a_request_gives_its_database_connection_back(app):
    from app.extensions import db

    client = app.test_client()
    assert client.get("/").status_code == 200
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
