"""Accounts and access tokens: register, token, me, public profiles, forged tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select

from app.auth import TOKEN_ALGORITHM
from tests.api_helpers import assert_error, assert_success, bearer, detail_fields, token_for
from tests.conftest import DEFAULT_PASSWORD, TEST_SECRET_KEY

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"
NEW_PASSWORD = "a-secret-never-echoed-42"
BAD_CREDENTIALS = "Invalid username or password"


def registration(**overrides) -> dict:
    """A valid registration body, with ``overrides``."""
    body = {"username": "newbie", "email": "newbie@example.com", "password": NEW_PASSWORD}
    body.update(overrides)
    return body


def claims_for(user_id: int, **overrides) -> dict:
    """Well-formed access-token claims for ``user_id``, with ``overrides``."""
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "type": "access", "iat": now, "exp": now + timedelta(minutes=5)}
    claims.update(overrides)
    return claims


# -- register ------------------------------------------------------------------------------


def test_register_creates_the_user_and_answers_201(client, db):
    from app.models import User

    response = client.post(REGISTER, json=registration())
    data = assert_success(response, 201)
    assert data["username"] == "newbie"
    assert data["email"] == "newbie@example.com"
    assert data["role"] == "author"
    assert response.headers["Location"].endswith("/api/v1/users/newbie")
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert user is not None and user.id == data["id"]


def test_registered_user_is_its_own_creator(client):
    data = assert_success(client.post(REGISTER, json=registration()), 201)
    assert data["added_by"] == data["updated_by"] == data["id"]
    assert data["date_added"].endswith("+00:00")


def test_register_stores_only_a_salted_hash_of_the_password(client, db):
    from app.models import User

    client.post(REGISTER, json=registration())
    stored = db.session.scalar(select(User.password_hash).where(User.username == "newbie"))
    assert NEW_PASSWORD not in stored
    assert stored.startswith("scrypt:")


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "NEWBIE"), ("email", "NewBie@Example.com")],
)
def test_register_with_a_taken_name_ignoring_case_is_409(client, make_user, field, value):
    make_user("newbie", email="newbie@example.com")
    body = registration(username="other", email="other@example.com")
    body[field] = value
    response = client.post(REGISTER, json=body)
    error = assert_error(response, 409)
    assert error["details"][0]["field"] == field


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "a" * 33}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": "émile"}, "username"),
        ({"username": 123}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"password": None}, "password"),
        ({"id": 7}, "id"),
        ({"role": "admin"}, "role"),
        ({"is_active": False}, "is_active"),
        ({"date_added": "2020-01-01T00:00:00Z"}, "date_added"),
        ({"added_by": 1}, "added_by"),
        ({"password_hash": "x"}, "password_hash"),
        ({"nickname": "bob"}, "nickname"),
    ],
)
def test_register_rejects_bad_fields_naming_them(client, db, overrides, field):
    from app.models import User

    response = client.post(REGISTER, json=registration(**overrides))
    assert_error(response, 422, "Validation failed")
    assert field in detail_fields(response)
    assert db.session.scalar(select(User.id)) is None


def test_register_names_every_missing_field(client):
    response = client.post(REGISTER, json={})
    assert_error(response, 422)
    assert detail_fields(response) == {"username", "email", "password"}


def test_register_without_json_is_415(client):
    response = client.post(REGISTER, data="username=x", content_type="text/plain")
    assert_error(response, 415)


def test_register_with_malformed_json_is_400(client):
    response = client.post(REGISTER, data="{", content_type="application/json")
    assert_error(response, 400)


# -- token ---------------------------------------------------------------------------------


@pytest.mark.parametrize("identifier", ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"])
def test_token_is_issued_for_username_or_email(client, make_user, identifier):
    make_user("alice", email="alice@example.com")
    response = client.post(TOKEN, json={"username": identifier, "password": DEFAULT_PASSWORD})
    data = assert_success(response)
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 30 * 60
    assert response.headers["Cache-Control"] == "no-store"


def test_token_carries_the_documented_claims(client, make_user):
    user = make_user("alice")
    response = client.post(TOKEN, json={"username": "alice", "password": DEFAULT_PASSWORD})
    token = assert_success(response)["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, TEST_SECRET_KEY, algorithms=["HS256"])
    assert claims["sub"] == str(user.id)
    assert claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 30 * 60


def test_token_lifetime_follows_the_setting(make_settings, database_url):
    from app import create_app
    from tests.conftest import reset_schema

    app = create_app(make_settings(database_url=database_url, access_token_expire_minutes=7))
    with app.app_context():
        reset_schema()
        from app.services import user_service

        user_service.register_user("bob", "bob@example.com", NEW_PASSWORD)
    response = app.test_client().post(TOKEN, json={"username": "bob", "password": NEW_PASSWORD})
    assert assert_success(response)["expires_in"] == 7 * 60


def test_wrong_password_and_unknown_user_get_the_same_401(client, make_user):
    make_user("alice")
    wrong = client.post(TOKEN, json={"username": "alice", "password": "wrong-password"})
    unknown = client.post(TOKEN, json={"username": "nobody", "password": "wrong-password"})
    for response in (wrong, unknown):
        assert_error(response, 401, BAD_CREDENTIALS)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_inactive_user_gets_no_token(client, make_user):
    make_user("sleepy", is_active=False)
    response = client.post(TOKEN, json={"username": "sleepy", "password": DEFAULT_PASSWORD})
    assert_error(response, 401, BAD_CREDENTIALS)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "x"}, "username"),
        ({"username": "alice"}, "password"),
        ({"username": "alice", "password": "x", "scope": "admin"}, "scope"),
        ({"username": ["alice"], "password": "x"}, "username"),
        ({"username": "", "password": "x"}, "username"),
    ],
)
def test_token_request_is_validated(client, body, field):
    response = client.post(TOKEN, json=body)
    assert_error(response, 422)
    assert field in detail_fields(response)


# -- me and profiles -----------------------------------------------------------------------


def test_me_returns_the_token_owner(app, client, make_user):
    user = make_user("alice", email="alice@example.com")
    data = assert_success(client.get(ME, headers=bearer(token_for(app, user))))
    assert data["id"] == user.id
    assert data["email"] == "alice@example.com"
    assert data["is_active"] is True


def test_me_without_a_token_is_401_with_a_bearer_challenge(client):
    response = client.get(ME)
    assert_error(response, 401, "Authentication required")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_with_another_scheme_is_401(client):
    response = client.get(ME, headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert_error(response, 401)


def test_public_profile_has_no_email(client, make_user):
    make_user("alice", email="alice@example.com")
    data = assert_success(client.get("/api/v1/users/ALICE"))
    assert data["username"] == "alice"
    assert "email" not in data
    assert "is_active" not in data


def test_unknown_profile_is_404(client):
    assert_error(client.get("/api/v1/users/nobody"), 404)


def test_deleted_user_profile_is_404(app, client, make_user):
    user = make_user("gone")
    soft_delete_user(app, user.id)
    assert_error(client.get("/api/v1/users/gone"), 404)


def soft_delete_user(app, user_id: int) -> None:
    """Soft-delete a user (there is no API for it)."""
    from app.extensions import db
    from app.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        user.soft_delete()
        db.session.commit()


# -- forged and unusable tokens ------------------------------------------------------------


def _none_token(user_id: int) -> str:
    return jwt.encode(claims_for(user_id), key=None, algorithm="none")


def _wrong_key_token(user_id: int) -> str:
    return jwt.encode(claims_for(user_id), "another-secret-key-of-sufficient-length!", "HS256")


def _expired_token(user_id: int) -> str:
    past = datetime.now(UTC) - timedelta(hours=2)
    claims = claims_for(user_id, iat=past, exp=past + timedelta(minutes=30))
    return jwt.encode(claims, TEST_SECRET_KEY, TOKEN_ALGORITHM)


def _tampered_token(user_id: int) -> str:
    token = jwt.encode(claims_for(user_id), TEST_SECRET_KEY, TOKEN_ALGORITHM)
    header, _payload, signature = token.split(".")
    forged_payload = jwt.encode(claims_for(user_id + 1), "x" * 32, TOKEN_ALGORITHM).split(".")[1]
    return f"{header}.{forged_payload}.{signature}"


def _hs512_token(user_id: int) -> str:
    return jwt.encode(claims_for(user_id), TEST_SECRET_KEY, "HS512")


def _no_type_token(user_id: int) -> str:
    claims = claims_for(user_id)
    del claims["type"]
    return jwt.encode(claims, TEST_SECRET_KEY, TOKEN_ALGORITHM)


def _refresh_type_token(user_id: int) -> str:
    return jwt.encode(claims_for(user_id, type="refresh"), TEST_SECRET_KEY, TOKEN_ALGORITHM)


def _non_numeric_subject_token(_user_id: int) -> str:
    return jwt.encode(claims_for(0, sub="alice"), TEST_SECRET_KEY, TOKEN_ALGORITHM)


def _unknown_user_token(user_id: int) -> str:
    return jwt.encode(claims_for(user_id + 1000), TEST_SECRET_KEY, TOKEN_ALGORITHM)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    "forge",
    [
        _none_token,
        _wrong_key_token,
        _expired_token,
        _tampered_token,
        _hs512_token,
        _no_type_token,
        _refresh_type_token,
        _non_numeric_subject_token,
        _unknown_user_token,
        lambda _user_id: "not-a-jwt",
        lambda _user_id: "a.b.c",
    ],
    ids=[
        "alg-none",
        "wrong-key",
        "expired",
        "tampered",
        "other-algorithm",
        "no-type",
        "refresh-type",
        "non-numeric-subject",
        "unknown-user",
        "garbage",
        "three-garbage-parts",
    ],
)
def test_unusable_token_is_401_with_a_bearer_challenge(client, make_user, forge):
    user = make_user("alice")
    response = client.get(ME, headers=bearer(forge(user.id)))
    assert_error(response, 401, "Invalid or expired token")
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert "invalid_token" in challenge


def test_token_of_an_inactive_user_is_401(app, client, make_user):
    user = make_user("sleepy", is_active=False)
    assert_error(client.get(ME, headers=bearer(token_for(app, user))), 401)


def test_token_of_a_deleted_user_is_401(app, client, make_user):
    user = make_user("gone")
    token = token_for(app, user)
    soft_delete_user(app, user.id)
    assert_error(client.get(ME, headers=bearer(token)), 401)


def test_bad_token_is_401_even_where_anonymous_reads_are_allowed(client, make_post):
    post = make_post()
    response = client.get(f"/api/v1/posts/{post.id}", headers=bearer("not-a-jwt"))
    assert_error(response, 401)


# -- the password never leaves -------------------------------------------------------------


def test_password_is_never_in_a_response_a_log_line_or_an_audit_event(app, client, db, log_path):
    from app.models import AuditEvent

    bodies = [client.post(REGISTER, json=registration()).get_data(as_text=True)]
    bodies.append(
        client.post(TOKEN, json={"username": "newbie", "password": NEW_PASSWORD}).get_data(
            as_text=True
        )
    )
    bodies.append(
        client.post(TOKEN, json={"username": "newbie", "password": NEW_PASSWORD + "x"}).get_data(
            as_text=True
        )
    )
    token = client.post(TOKEN, json={"username": "newbie", "password": NEW_PASSWORD}).get_json()
    bodies.append(
        client.get(ME, headers=bearer(token["data"]["access_token"])).get_data(as_text=True)
    )
    events = db.session.scalars(select(AuditEvent)).all()
    with open(log_path, encoding="utf-8") as handle:
        log_text = handle.read()
    assert events
    for text in [*bodies, log_text, *(str(event.changes) for event in events)]:
        assert NEW_PASSWORD not in text
        assert "scrypt:" not in text
    assert all(
        event.changes.get("password_hash", {}).get("new") in (None, "***") for event in events
    )


def test_username_with_a_nul_character_is_404(client):
    assert_error(client.get("/api/v1/users/al%00ice"), 404)


def test_token_request_with_a_nul_character_is_422(client):
    response = client.post(TOKEN, json={"username": "al\u0000ice", "password": "x"})
    assert_error(response, 422)
    assert detail_fields(response) == {"username"}


# -- the stricter limit on token requests --------------------------------------------------


@pytest.fixture
def strict_client(make_settings, database_url):
    """A client of an app that allows two token requests per minute."""
    from app import create_app
    from tests.conftest import reset_schema

    app = create_app(make_settings(database_url=database_url, auth_rate_limit="2 per minute"))
    with app.app_context():
        reset_schema()
    return app.test_client()


def test_token_requests_count_against_the_auth_rate_limit(strict_client):
    attempt = {"username": "nobody", "password": "wrong-password"}
    statuses = [strict_client.post(TOKEN, json=attempt).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_auth_rate_limit_answers_429_with_retry_after_in_the_envelope(strict_client):
    attempt = {"username": "nobody", "password": "wrong-password"}
    for _ in range(2):
        strict_client.post(TOKEN, json=attempt)
    response = strict_client.post(TOKEN, json=attempt)
    assert_error(response, 429)
    assert int(response.headers["Retry-After"]) >= 1


def test_other_endpoints_do_not_spend_the_auth_rate_limit(strict_client):
    for _ in range(3):
        strict_client.get("/api/v1/posts")
    response = strict_client.post(TOKEN, json={"username": "nobody", "password": "wrong"})
    assert response.status_code == 401
