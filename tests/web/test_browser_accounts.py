"""Account lifecycle in real headless Chromium: revocation reaches open browser sessions."""

from __future__ import annotations

import pytest

from tests.browser import PHONE, browse, horizontal_overflow, log_in, sign_out

pytestmark = [pytest.mark.slow, pytest.mark.app_settings(rate_limit_requests=10_000)]
expect = pytest.importorskip("playwright.sync_api").expect

NEW_PASSWORD = "a-brand-new-passphrase"


def test_a_deactivated_users_open_session_is_sent_to_sign_in(app, make_admin, make_user):
    make_admin("editor")
    make_user("wanderer")
    with browse(app) as site:
        users_page = site.new_page()
        site.open(users_page, "/")
        log_in(users_page, "wanderer")
        expect(users_page.locator(".nav-user")).to_have_text("wanderer")

        admins_page = site.new_page()
        site.open(admins_page, "/")
        log_in(admins_page, "editor")
        admins_page.get_by_role("link", name="Users", exact=True).click()
        admins_page.get_by_role("button", name="Deactivate wanderer").click()
        expect(admins_page.locator(".flash")).to_contain_text("wanderer is deactivated")
        expect(admins_page.locator("#user-2 .user-status")).to_have_text("deactivated")

        users_page.get_by_role("link", name="New post").click()
        expect(users_page).to_have_url(f"{site.url}/login?next=/posts/new")
        expect(users_page.get_by_role("button", name="Sign in")).to_be_visible()

        admins_page.get_by_role("button", name="Activate wanderer").click()
        log_in(users_page, "wanderer")
        expect(users_page.locator(".nav-user")).to_have_text("wanderer")
    assert site.problems == []


def test_deleting_asks_first_and_the_last_admin_is_refused(app, make_admin, make_user):
    make_admin("editor")
    make_user("leaving")
    with browse(app) as site:
        page = site.new_page()
        site.open(page, "/")
        log_in(page, "editor")
        page.get_by_role("link", name="Users", exact=True).click()
        page.get_by_role("button", name="Demote editor").click()
        expect(page.locator(".flash")).to_contain_text("last active admin")
        page.get_by_role("link", name="Delete leaving").click()
        expect(page.locator("h1")).to_have_text("Delete leaving?")
        page.get_by_role("button", name="Delete account").click()
        expect(page.locator(".flash")).to_contain_text("leaving is deleted")
        page.get_by_label("Status").select_option("deleted")
        page.get_by_role("button", name="Filter").click()
        page.get_by_role("button", name="Restore leaving").click()
        expect(page.locator(".flash")).to_contain_text("leaving is restored")
    assert site.problems == []


def test_a_password_change_signs_out_a_second_browser(app, make_user):
    make_user("twofold")
    with browse(app) as site:
        laptop, phone = site.new_page(), site.new_page()
        for page in (laptop, phone):
            site.open(page, "/")
            log_in(page, "twofold")
            expect(page.locator(".nav-user")).to_have_text("twofold")

        laptop.get_by_role("link", name="Password").click()
        laptop.get_by_label("Current password").fill("correct-horse-battery")
        laptop.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        laptop.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        laptop.get_by_role("button", name="Change password").click()
        expect(laptop.locator(".flash")).to_contain_text("Your password is changed")

        phone.get_by_role("link", name="New post").click()
        expect(phone).to_have_url(f"{site.url}/login?next=/posts/new")

        laptop.get_by_role("link", name="New post").click()
        expect(laptop.get_by_label("Title")).to_be_visible()
        sign_out(laptop)
        log_in(laptop, "twofold", NEW_PASSWORD)
        expect(laptop.locator(".nav-user")).to_have_text("twofold")
    assert site.problems == []


def test_a_copy_of_the_cookie_taken_before_sign_out_signs_nobody_in(app, make_user):
    make_user("careful")
    with browse(app) as site:
        page = site.new_page()
        site.open(page, "/")
        log_in(page, "careful")
        cookies = page.context.cookies()
        sign_out(page)

        thief = site.new_page()
        thief.context.add_cookies(cookies)
        site.open(thief, "/posts/new")
        expect(thief).to_have_url(f"{site.url}/login?next=/posts/new")
    assert site.problems == []


def test_the_account_pages_fit_a_phone(app, make_admin, make_user):
    make_admin("phoneadmin")
    make_user("a_rather_long_username_here", email="a.rather.long.address@example.com")
    with browse(app) as site:
        page = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        site.open(page, "/")
        log_in(page, "phoneadmin")
        overflow = {}
        for path in ["/admin/users", "/admin/users/2/delete", "/account/password"]:
            site.open(page, path)
            overflow[path] = horizontal_overflow(page)
        assert overflow == dict.fromkeys(overflow, 0)
    assert site.problems == []
