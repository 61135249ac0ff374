"""The admin operations page: who may see it, what it shows, and that it shows no secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.audit import anchor_head
from app.extensions import db as _db
from app.models.audit_event import chain_head
from app.operations import REDACTED, describe_duration, redact_url, redacted_settings
from app.services import post_service
from config import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.web_helpers import BROWSER, page_text, sign_in

METRICS_TOKEN = "metrics-token-7c1e2f9a0b3d4c5e"
REDIS_PASSWORD = "redis-password-3f8a1b2c"


def ops_page(client):
    """GET /admin/ops as a browser."""
    return client.get("/admin/ops", headers=BROWSER)


def table_row(html: str, header: str) -> list[str]:
    """The cells after the row header ``header`` in the page's tables, as text."""
    match = re.search(
        rf'<th scope="row">(?:<code>)?{re.escape(header)}(?:</code>)?</th>(.*?)</tr>', html, re.S
    )
    assert match, f"no row {header!r}"
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = ops_page(client)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_other_users_are_refused(client, make_user):
    sign_in(client, make_user())
    assert ops_page(client).status_code == 403


def test_the_admin_navigation_links_to_it(client, make_admin):
    sign_in(client, make_admin())
    html = page_text(client.get("/", headers=BROWSER))
    assert '<a href="/admin/ops">Ops</a>' in html


def test_it_shows_build_uptime_health_limits_and_counts(
    app, client, make_admin, make_post, make_comment
):
    admin = make_admin("opsadmin")
    post = make_post(admin)
    make_comment(post)  # by a new user
    make_post(admin, title="Another")
    sign_in(client, admin)
    response = ops_page(client)
    html = page_text(response)
    assert response.status_code == 200
    assert "<h1>Operations</h1>" in html
    assert "Inkwell 0.1.0" in html
    assert re.search(r"this worker up \d+ (s|min)", html)
    assert table_row(html, "database")[0].startswith("ok")
    assert re.fullmatch(r"\d+\.\d\d ms", table_row(html, "database")[1])
    assert "<code>memory://</code>" in html
    assert "in each worker&#39;s memory" in html or "in each worker's memory" in html
    assert table_row(html, "Users") == ["2", "0"]  # the admin and the comment's author
    assert table_row(html, "Posts") == ["2", "0"]
    assert table_row(html, "Comments") == ["1", "0"]
    with app.app_context(), _db.engine.connect() as connection:
        head_id, head_hash = chain_head(connection)
    assert table_row(html, "Audit events") == [str(head_id), "—"]
    assert f'event #{head_id} · <code class="hash">{head_hash}</code>' in html


def test_soft_deleted_records_are_counted_apart(app, client, make_admin, make_post):
    admin = make_admin()
    post = make_post(admin)
    make_post(admin)
    with app.app_context():
        post_service.delete_post(post.id, admin)
    sign_in(client, admin)
    assert table_row(page_text(ops_page(client)), "Posts") == ["2", "1"]


def test_without_an_anchor_it_says_so(client, make_admin):
    sign_in(client, make_admin())
    assert "no anchor has been written yet" in page_text(ops_page(client))


def test_the_last_anchor_is_shown_with_its_age(app, client, make_admin, make_post):
    admin = make_admin()
    settings = app.extensions["inkwell.settings"]
    path = Path(settings.audit_anchor_file)
    with app.app_context(), _db.engine.connect() as connection:
        anchor_head(connection, path)
    make_post(admin)
    with app.app_context(), _db.engine.connect() as connection:
        newest = anchor_head(connection, path)
        head_id, _ = chain_head(connection)
    make_post(admin)  # one more event after the newest anchor
    sign_in(client, admin)
    html = page_text(ops_page(client))
    assert f'event #{newest.event_id} · <code class="hash">{newest.hash}</code>' in html
    assert re.search(r"anchored \d+ s ago", html)
    assert f"({newest.anchored_at})" in html
    assert "1 event since" in html
    assert head_id == newest.event_id


def test_settings_rows_hide_database_passwords():
    settings = Settings(
        _env_file=None,
        secret_key=TEST_SECRET_KEY,
        database_url="postgresql://inkwell:db-pass-91ac@db.internal:5432/inkwell?password=q-pass-77",
        rate_limit_storage_url="redis://user:redis-pass-5e@cache:6379/0",
        metrics_token=METRICS_TOKEN,
    )
    rows = dict(redacted_settings(settings))
    shown = repr(rows)
    for secret in ("db-pass-91ac", "q-pass-77", "redis-pass-5e", METRICS_TOKEN, TEST_SECRET_KEY):
        assert secret not in shown
    assert rows["DATABASE_URL"] == (
        f"postgresql+psycopg://inkwell:{REDACTED}@db.internal:5432/inkwell?password={REDACTED}"
    )
    assert rows["RATE_LIMIT_STORAGE_URL"] == f"redis://user:{REDACTED}@cache:6379/0"
    assert rows["METRICS_ALLOW"] == "127.0.0.1/32,::1/128"
    assert rows["METRICS_ENABLED"] == "true"
    assert set(rows) == {name.upper() for name in Settings.model_fields}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("memory://", "memory://"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("redis://:pw@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
        (
            "redis+sentinel://:pw@s1:26379,s2:26379/primary",
            f"redis+sentinel://:{REDACTED}@s1:26379,s2:26379/primary",
        ),
        ("sqlite:////srv/inkwell.db", "sqlite:////srv/inkwell.db"),
        (
            "postgresql://u@h/db?sslmode=require&PassWord=x",
            f"postgresql://u@h/db?sslmode=require&PassWord={REDACTED}",
        ),
    ],
)
def test_redact_url_masks_only_the_secrets(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, "unknown"),
        (0, "0 s"),
        (59.9, "59 s"),
        (61, "1 min 1 s"),
        (3_720, "1 h 2 min"),
        (90_000, "1 d 1 h"),
    ],
)
def test_durations_are_described_for_people(seconds, words):
    assert describe_duration(seconds) == words
