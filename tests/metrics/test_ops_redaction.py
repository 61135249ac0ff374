"""The operations page of an app whose every secret-bearing setting holds a secret."""

from __future__ import annotations

import pytest

from app import create_app
from app.extensions import db as _db
from app.operations import REDACTED
from tests.conftest import TEST_SECRET_KEY, reset_schema
from tests.metrics.test_ops_page import ops_page, table_row
from tests.servers import free_port
from tests.web_helpers import page_text, sign_in

METRICS_TOKEN = "metrics-token-7c1e2f9a0b3d4c5e"
REDIS_PASSWORD = "redis-password-3f8a1b2c"


@pytest.fixture
def app(make_settings, database_url, tmp_path):
    """The app under test, with a secret in every secret-bearing setting it can run with.

    The rate-limit storage is a Redis nobody listens on (so its password is never checked),
    which also puts the limiter into its memory fallback.
    """
    settings = make_settings(
        database_url=database_url,
        metrics_token=METRICS_TOKEN,
        rate_limit_storage_url=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/11",
        audit_anchor_file=str(tmp_path / "anchors.log"),
    )
    application = create_app(settings)
    with application.app_context():
        reset_schema()
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_no_secret_appears_anywhere_in_the_page(app, client, make_admin):
    sign_in(client, make_admin())
    response = ops_page(client)
    html = page_text(response)
    assert response.status_code == 200
    secrets = [TEST_SECRET_KEY, METRICS_TOKEN, REDIS_PASSWORD]
    with app.app_context():
        database_password = _db.engine.url.password
    if database_password:  # PostgreSQL with a password in TEST_DATABASE_URL
        secrets.append(database_password)
    for secret in secrets:
        assert secret not in html
    assert table_row(html, "SECRET_KEY") == [f"set ({REDACTED})"]
    assert table_row(html, "METRICS_TOKEN") == [f"set ({REDACTED})"]
    assert table_row(html, "RATE_LIMIT_STORAGE_URL")[0].startswith(
        f"redis://:{REDACTED}@127.0.0.1:"
    )


def test_the_limiter_in_fallback_and_its_failing_check_are_shown(client, make_admin):
    sign_in(client, make_admin())
    client.get("/api/v1/posts")  # the storage fails: this worker counts in memory
    html = page_text(ops_page(client))
    assert table_row(html, "rate limit storage")[0] == "error ConnectionError"
    assert 'Health <span class="badge badge-degraded">degraded</span>' in html
    assert "storage unreachable: this worker counts in its own memory" in html
