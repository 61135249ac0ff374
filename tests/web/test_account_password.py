"""The /account/password page, and signing out on the server."""

from __future__ import annotations

from app.auth import verify_password
from app.extensions import db
from app.models import User
from tests.api_helpers import assert_error, bearer, token_for
from tests.conftest import DEFAULT_PASSWORD
from tests.web_helpers import BROWSER, field_error, log_in, page_text, sign_in, submit

PAGE = "/account/password"
NEW = "a-brand-new-passphrase"


def change(client, current=DEFAULT_PASSWORD, new=NEW, confirm=None):
    """Fill in and send the password form."""
    fields = {
        "current_password": current,
        "new_password": new,
        "new_password_confirm": new if confirm is None else confirm,
    }
    return submit(client, PAGE, PAGE, fields)


def password_hash(app, user_id: int) -> str:
    """The stored password hash."""
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def test_the_header_links_to_the_page_when_signed_in(client, make_user):
    assert 'href="/account/password"' not in page_text(client.get("/", headers=BROWSER))
    sign_in(client, make_user())
    assert 'href="/account/password"' in page_text(client.get("/", headers=BROWSER))


def test_anonymous_visitors_go_to_login(client):
    response = client.get(PAGE, headers=BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_changing_keeps_this_session_and_ends_the_others(app, client, make_user):
    user = make_user()
    other_browser = app.test_client()
    sign_in(other_browser, user)
    token = token_for(app, user)
    sign_in(client, user)
    response = change(client)
    assert response.status_code == 302
    assert verify_password(password_hash(app, user.id), NEW)
    assert "Every other session" in page_text(client.get(response.headers["Location"]))
    assert client.get("/posts/new", headers=BROWSER).status_code == 200
    assert other_browser.get("/posts/new", headers=BROWSER).status_code == 302
    assert_error(client.get("/api/v1/auth/me", headers=bearer(token)), 401)


def test_a_wrong_current_password_is_shown_next_to_the_field(app, client, make_user):
    user = make_user()
    sign_in(client, user)
    before = password_hash(app, user.id)
    response = change(client, current="not-my-password")
    assert response.status_code == 422
    assert field_error(response, "current_password") == "This is not your current password"
    assert password_hash(app, user.id) == before


def test_the_new_password_follows_the_rules_and_must_be_repeated(client, make_user):
    sign_in(client, make_user())
    assert field_error(change(client, new="short"), "new_password")
    mismatch = change(client, confirm="something-else-entirely")
    assert field_error(mismatch, "new_password_confirm") == "The two passwords are not the same"


def test_the_form_needs_the_csrf_token(app, client, make_user):
    user = make_user()
    sign_in(client, user)
    fields = {
        "current_password": DEFAULT_PASSWORD,
        "new_password": NEW,
        "new_password_confirm": NEW,
    }
    assert client.post(PAGE, data=fields, headers=BROWSER).status_code == 400
    assert verify_password(password_hash(app, user.id), DEFAULT_PASSWORD)


def test_a_replayed_cookie_after_sign_out_signs_nobody_in(app, client, make_user):
    user = make_user()
    log_in(client, user)
    cookie = client.get_cookie("session").value
    submit(client, "/", "/logout")
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/posts/new", headers=BROWSER).status_code == 302
    assert "Sign out" not in page_text(replay.get("/", headers=BROWSER))


def test_signing_out_leaves_the_users_other_sessions_alone(app, client, make_user):
    user = make_user()
    other = app.test_client()
    sign_in(other, user)
    sign_in(client, user)
    submit(client, "/", "/logout")
    assert other.get("/posts/new", headers=BROWSER).status_code == 200
