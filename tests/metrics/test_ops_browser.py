"""The operations page in real headless Chromium, and its screenshot for the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.audit import anchor_head
from app.extensions import db as _db
from app.services import comment_service, post_service
from tests.browser import DESKTOP, DOCS_DIR, PHONE, browse, horizontal_overflow, log_in
from tests.conftest import TEST_SECRET_KEY, reset_schema
from tests.web.test_accessibility import violations

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.sync_api").expect

METRICS_TOKEN = "browser-metrics-token-0f3e9d8c7b6a"


@pytest.fixture
def app(make_settings, tmp_path):
    """The app under test on SQLite, with a metrics token and an anchor file of its own."""
    application = create_app(
        make_settings(
            rate_limit_requests=10_000,
            metrics_token=METRICS_TOKEN,
            audit_anchor_file=str(tmp_path / "anchors.log"),
        )
    )
    with application.app_context():
        reset_schema()
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_an_admin_reaches_the_operations_page_and_it_fits_a_phone(app, make_admin, make_user):
    admin = make_admin("operator")
    writers = [make_user("maria"), make_user("tom")]
    with app.app_context():
        for number, writer in enumerate(writers, start=1):
            post = post_service.create_post(writer, f"Field notes {number}", "Body.", "published")
            comment_service.add_comment(post.id, admin, "Thanks for writing this.")
        with _db.engine.connect() as connection:
            anchor_head(connection, Path(app.extensions["inkwell.settings"].audit_anchor_file))
    with browse(app) as site:
        page = site.new_page(viewport=DESKTOP)
        site.open(page, "/")
        log_in(page, admin.username)
        page.get_by_role("link", name="Ops", exact=True).click()
        expect(page.locator("h1")).to_have_text("Operations")
        expect(page.locator("#ops-health .badge")).to_have_text("ok")
        expect(page.locator(".ops-table").nth(1)).to_contain_text("Comments")
        expect(page.get_by_text("0 events since")).to_be_visible()
        html = page.content()
        assert TEST_SECRET_KEY not in html
        assert METRICS_TOKEN not in html
        DOCS_DIR.mkdir(exist_ok=True)
        page.screenshot(path=DOCS_DIR / "ops.png", full_page=True)

        phone = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        site.open(phone, "/")
        log_in(phone, admin.username)
        site.open(phone, "/admin/ops")
        expect(phone.locator("h1")).to_have_text("Operations")
        assert horizontal_overflow(phone) == 0
    assert site.problems == []
    assert (DOCS_DIR / "ops.png").stat().st_size > 10_000


def test_the_operations_page_passes_wcag_21_aa(app, make_admin):
    make_admin("auditor")
    with browse(app) as site:
        page = site.new_page(bypass_csp=True)  # axe is injected as a script of the test's
        site.open(page, "/")
        log_in(page, "auditor")
        site.open(page, "/admin/ops")
        expect(page.locator("h1")).to_have_text("Operations")
        assert violations(page) == []
