"""Revocation: signing out ends a token at once, ``all`` ends every token and session."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth import create_access_token
from app.extensions import db
from app.models import RevokedCredential, User, utcnow
from app.services import user_service
from tests.api_helpers import assert_error, assert_success, bearer, token_for
from tests.web_helpers import BROWSER, sign_in

ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"


def test_logout_ends_the_presented_token_at_once(app, client, make_user):
    token = token_for(app, make_user())
    assert_success(client.get(ME, headers=bearer(token)))
    assert_success(client.post(LOGOUT, headers=bearer(token)))
    assert_error(client.get(ME, headers=bearer(token)), 401)


def test_logout_leaves_the_users_other_tokens_alone(app, client, make_user):
    user = make_user()
    kept, ended = token_for(app, user), token_for(app, user)
    assert_success(client.post(LOGOUT, headers=bearer(ended)))
    assert_success(client.get(ME, headers=bearer(kept)))


def test_a_revoked_token_is_refused_on_public_endpoints_too(app, client, make_user):
    token = token_for(app, make_user())
    client.post(LOGOUT, headers=bearer(token))
    assert_error(client.get("/api/v1/posts", headers=bearer(token)), 401)


def test_logout_all_ends_every_token_and_page_session(app, client, make_user):
    user = make_user()
    first, second = token_for(app, user), token_for(app, user)
    browser = app.test_client()
    sign_in(browser, user)
    assert "Sign out" in browser.get("/", headers=BROWSER).get_data(as_text=True)
    assert_success(client.post(LOGOUT, json={"all": True}, headers=bearer(first)))
    assert_error(client.get(ME, headers=bearer(first)), 401)
    assert_error(client.get(ME, headers=bearer(second)), 401)
    assert "Sign out" not in browser.get("/", headers=BROWSER).get_data(as_text=True)


def test_logout_all_is_audited_as_the_users_own_change(app, client, make_user):
    user = make_user()
    client.post(LOGOUT, json={"all": True}, headers=bearer(token_for(app, user)))
    admin_token = token_for(app, _admin(app))
    events = assert_success(
        client.get(
            f"/api/v1/audit?entity_type=user&entity_id={user.id}", headers=bearer(admin_token)
        )
    )
    assert events[0]["actor_id"] == user.id
    assert events[0]["changes"]["credentials_version"] == {"old": 1, "new": 2}


def _admin(app):
    """A fresh admin (for reading the audit trail)."""
    from app.models import Role

    with app.app_context():
        admin = user_service.create_user("auditor", "auditor@example.com", "x", role=Role.ADMIN)
        db.session.refresh(admin)
        db.session.expunge(admin)
        return admin


def test_a_new_sign_in_after_logout_all_works(app, client, make_user):
    user = make_user()
    client.post(LOGOUT, json={"all": True}, headers=bearer(token_for(app, user)))
    response = client.post(
        "/api/v1/auth/token",
        json={"username": user.username, "password": "correct-horse-battery"},
    )
    token = assert_success(response)["access_token"]
    assert assert_success(client.get(ME, headers=bearer(token)))["id"] == user.id


@pytest.mark.parametrize("body", [{"all": "yes"}, {"all": 1}, {"everything": True}, []])
def test_logout_refuses_a_malformed_body(app, client, make_user, body):
    token = token_for(app, make_user())
    response = client.post(LOGOUT, json=body, headers=bearer(token))
    assert response.status_code in (400, 422)
    assert_success(client.get(ME, headers=bearer(token)))


def test_logout_needs_a_token(client):
    assert_error(client.post(LOGOUT), 401)


def test_a_token_from_an_older_credentials_version_is_refused(app, client, make_user):
    user = make_user()
    with app.app_context():
        stale = create_access_token(user.id, user.credentials_version)[0]
        user_service.end_all_credentials(user.id)
        fresh = create_access_token(user.id, user.credentials_version + 1)[0]
    assert_error(client.get(ME, headers=bearer(stale)), 401)
    assert_success(client.get(ME, headers=bearer(fresh)))


def test_a_token_without_an_id_or_version_is_refused(app, client, make_user):
    import jwt

    user = make_user()
    secret = app.extensions["inkwell.settings"].secret_key.get_secret_value()
    now = int(utcnow().timestamp())
    claims = {"sub": str(user.id), "type": "access", "iat": now, "exp": now + 600}
    for extra in ({}, {"jti": "abc"}, {"ver": 1}, {"jti": "a b", "ver": 1}, {"jti": "a", "ver": 0}):
        token = jwt.encode({**claims, **extra}, secret, algorithm="HS256")
        assert_error(client.get(ME, headers=bearer(token)), 401)


def test_revoking_deletes_rows_of_expired_credentials(app, make_user):
    from datetime import timedelta

    user = make_user()
    with app.app_context():
        past = utcnow() - timedelta(minutes=1)
        user_service.revoke_credential("old-token", user.id, past)
        user_service.revoke_credential("new-token", user.id, utcnow() + timedelta(hours=1))
        ids = set(db.session.scalars(select(RevokedCredential.id)))
    assert ids == {"new-token"}


def test_revoking_the_same_credential_twice_keeps_one_row(app, make_user):
    from datetime import timedelta

    user = make_user()
    with app.app_context():
        later = utcnow() + timedelta(hours=1)
        user_service.revoke_credential("same", user.id, later)
        user_service.revoke_credential("same", user.id, later)
        count = db.session.scalar(select(func.count()).select_from(RevokedCredential))
    assert count == 1


def test_revocation_survives_a_restart(app, make_settings, database_url, client, make_user):
    from app import create_app

    token = token_for(app, make_user())
    client.post(LOGOUT, headers=bearer(token))
    restarted = create_app(make_settings(database_url=database_url))
    assert_error(restarted.test_client().get(ME, headers=bearer(token)), 401)
    with restarted.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_user_load_reads_the_revocation_in_the_same_statement(app, make_user):
    user = make_user()
    with app.app_context():
        statement = str(user_service.user_load_statement(user.id, "some-id"))
    assert "EXISTS" in statement.upper()
    assert "revoked_credentials" in statement
    assert statement.upper().count("SELECT") == 2  # the user's row and the subquery
    assert User.__tablename__ in statement
