"""Property-based run of schemathesis against the live OpenAPI document.

The app is served on a loopback port; schemathesis reads /api/v1/openapi.json and runs
every operation (coverage, fuzzing and stateful phases) with an admin's token. It fails
on any server error and on any response whose status code, content type, headers or body
the document does not describe.

``positive_data_acceptance`` is left out on purpose: some valid-looking inputs are
rightly refused by rules a JSON schema cannot express (an email under a reserved domain
such as ``.test`` is a 422; a well-formed but stale ``If-Match`` is a 412).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from app import create_app
from app.openapi import documented_operations
from tests.conftest import reset_schema
from tests.servers import serve_wsgi as live_server

MAX_EXAMPLES = 15
SEED = 20240501
TIMEOUT_SECONDS = 300
CHECKS = "all"
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.fixture
def fuzzed_app(make_settings, database_url):
    """An app with rate limiting off, some data, and an admin's token."""
    from app.auth import create_access_token
    from app.extensions import db
    from app.models import Role
    from app.services import comment_service, post_service, user_service

    app = create_app(make_settings(database_url=database_url, rate_limit_enabled=False))
    with app.app_context():
        reset_schema()
        admin = user_service.register_user(
            "admin", "admin@example.com", "admin-password", role=Role.ADMIN
        )
        post = post_service.create_post(admin, "Hello", "A *published* post.", "published")
        post_service.create_post(admin, "Draft", "A draft.", "draft")
        comment_service.add_comment(post.id, admin, "First!")
        token = create_access_token(admin.id)[0]
    yield app, token
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.slow
def test_api_conforms_to_its_openapi_document(fuzzed_app, tmp_path):
    app, token = fuzzed_app
    with live_server(app) as base_url:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{base_url}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--exclude-checks",
                EXCLUDED_CHECKS,
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "2",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    # The closing line reads "No issues found in ..." or "N warning(s) in ...", never failures.
    assert re.search(r"^=+ (No issues found|\d+ warnings?) in ", report, re.MULTILINE), report
    operations = len(documented_operations(app))
    assert f"Tested: {operations}" in report, report
