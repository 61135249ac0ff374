"""Changing the password through the API: the proof, the rules and the fresh token."""

from __future__ import annotations

import pytest

from app.auth import verify_password
from app.extensions import db
from app.models import User
from tests.api_helpers import assert_error, assert_success, bearer, detail_fields, token_for
from tests.conftest import DEFAULT_PASSWORD
from tests.web_helpers import BROWSER, sign_in

PASSWORD = "/api/v1/auth/password"
ME = "/api/v1/auth/me"
NEW = "a-brand-new-passphrase"


def change(client, token, current=DEFAULT_PASSWORD, new=NEW):
    """Ask to change the password."""
    return client.post(
        PASSWORD, json={"current_password": current, "new_password": new}, headers=bearer(token)
    )


def stored_hash(app, user_id: int) -> str:
    """The user's stored password hash."""
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def test_password_change_answers_a_fresh_working_token(app, client, make_user):
    user = make_user()
    data = assert_success(change(client, token_for(app, user)))
    assert data["token_type"] == "bearer"
    assert data["expires_in"] > 0
    assert assert_success(client.get(ME, headers=bearer(data["access_token"])))["id"] == user.id
    assert verify_password(stored_hash(app, user.id), NEW)


def test_password_change_ends_every_earlier_token_and_session(app, client, make_user):
    user = make_user()
    presented, other = token_for(app, user), token_for(app, user)
    browser = app.test_client()
    sign_in(browser, user)
    assert_success(change(client, presented))
    assert_error(client.get(ME, headers=bearer(presented)), 401)
    assert_error(client.get(ME, headers=bearer(other)), 401)
    assert "Sign out" not in browser.get("/", headers=BROWSER).get_data(as_text=True)


def test_signing_in_takes_the_new_password_only(app, client, make_user):
    user = make_user()
    change(client, token_for(app, user))
    old = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert_error(old, 401)
    new = client.post("/api/v1/auth/token", json={"username": user.username, "password": NEW})
    assert_success(new)


def test_a_wrong_current_password_is_403_and_changes_nothing(app, client, make_user):
    user = make_user()
    token = token_for(app, user)
    before = stored_hash(app, user.id)
    assert_error(
        change(client, token, current="not-my-password"), 403, "The current password is wrong"
    )
    assert stored_hash(app, user.id) == before
    assert_success(client.get(ME, headers=bearer(token)))


def test_wrong_current_passwords_count_against_the_account(make_settings, database_url):
    from app import create_app
    from app.services import user_service
    from tests.conftest import reset_schema

    app = create_app(
        make_settings(database_url=database_url, auth_account_rate_limit="2 per minute")
    )
    with app.app_context():
        reset_schema()
        user = user_service.register_user("locked", "locked@example.com", DEFAULT_PASSWORD)
        db.session.refresh(user)
        db.session.expunge(user)
    client = app.test_client()
    token = token_for(app, user)
    statuses = [change(client, token, current="wrong-password").status_code for _ in range(3)]
    assert statuses == [403, 403, 429]
    locked = change(client, token)  # even the right password waits for the window to end
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"current_password": DEFAULT_PASSWORD, "new_password": "short"}, "new_password"),
        ({"current_password": DEFAULT_PASSWORD, "new_password": "x" * 129}, "new_password"),
        ({"current_password": DEFAULT_PASSWORD}, "new_password"),
        ({"new_password": NEW}, "current_password"),
        ({"current_password": DEFAULT_PASSWORD, "new_password": NEW, "role": "admin"}, "role"),
    ],
)
def test_password_change_validates_like_registration(app, client, make_user, body, field):
    response = client.post(PASSWORD, json=body, headers=bearer(token_for(app, make_user())))
    assert_error(response, 422)
    assert field in detail_fields(response)


def test_password_change_needs_a_token(client):
    assert_error(client.post(PASSWORD, json={"current_password": "a", "new_password": NEW}), 401)
