"""Session sign-in: registering, logging in and out, cookies and redirects back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import create_app
from app.auth import SESSION_USER_KEY, verify_password
from app.extensions import db as _db
from app.models import AuditEvent, User
from tests.conftest import DEFAULT_PASSWORD, reset_schema
from tests.web_helpers import (
    BROWSER,
    csrf_token,
    field_error,
    field_value,
    log_in,
    page_text,
    sign_in,
    submit,
)

NEW_ACCOUNT = {
    "username": "newcomer",
    "email": "newcomer@example.com",
    "password": "a-long-password",
    "password_confirm": "a-long-password",
}


def register(client, next_page: str = "", **changes):
    """Fill in the registration form."""
    return submit(client, "/register", "/register", {**NEW_ACCOUNT, "next": next_page, **changes})


def session_user_id(client) -> int | None:
    """The user id the client's session cookie carries."""
    with client.session_transaction() as session:
        return session.get(SESSION_USER_KEY)


@pytest.mark.parametrize("path", ["/login", "/register"])
def test_sign_in_forms_are_shown(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert 'name="csrf_token"' in page_text(response)


def test_registering_creates_the_account_with_a_hashed_password(app, client):
    register(client)
    with app.app_context():
        from app.extensions import db

        user = db.session.scalar(select(User).where(User.username == "newcomer"))
        assert user.email == "newcomer@example.com"
        assert user.password_hash != "a-long-password"
        assert verify_password(user.password_hash, "a-long-password")


def test_registering_signs_the_new_user_in(app, client):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert session_user_id(client) is not None
    assert "newcomer" in page_text(client.get("/"))


def test_registering_is_audited_as_the_new_user_themselves(app, client):
    register(client)
    with app.app_context():
        from app.extensions import db

        user = db.session.scalar(select(User).where(User.username == "newcomer"))
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "user"))
        assert (user.added_by, user.updated_by) == (user.id, user.id)
        assert event.actor_id == user.id
        assert event.changes["password_hash"]["new"] != user.password_hash


def test_registering_goes_back_to_where_the_user_was(client, make_post):
    post = make_post()
    response = register(client, next_page=f"/posts/{post.id}")
    assert response.headers["Location"] == f"/posts/{post.id}"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": "ab"}, "username", "Must be at least 3 characters"),
        ({"username": "bad name!"}, "username", "May contain only letters, digits, '_' and '-'"),
        ({"username": ""}, "username", "Please fill this in"),
        ({"email": "not-an-email"}, "email", None),
        ({"password": "short", "password_confirm": "short"}, "password", None),
        ({"password_confirm": "something-else"}, "password_confirm", "not the same"),
    ],
)
def test_registration_errors_are_shown_next_to_the_field(client, changes, field, message):
    response = register(client, **changes)
    assert response.status_code == 422
    error = field_error(response, field)
    assert error
    if message:
        assert message in error
    assert session_user_id(client) is None


def test_registration_errors_keep_what_was_typed_except_passwords(client):
    response = register(client, username="x", email="kept@example.com")
    assert field_value(response, "username") == "x"
    assert field_value(response, "email") == "kept@example.com"
    assert field_value(response, "password") == ""
    assert "a-long-password" not in page_text(response)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"username": "TAKEN"}, "username"), ({"email": "Taken@Example.com"}, "email")],
)
def test_taken_usernames_and_emails_are_refused(client, make_user, changes, field):
    make_user("taken", email="taken@example.com")
    response = register(client, **changes)
    assert response.status_code == 409
    assert "already" in field_error(response, field)


@pytest.mark.parametrize("identifier", ["alice", "ALICE", "alice@example.com"])
def test_login_accepts_username_or_email(client, make_user, identifier):
    user = make_user("alice")
    response = submit(
        client, "/login", "/login", {"username": identifier, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert session_user_id(client) == user.id


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong-password"), ("nobody", DEFAULT_PASSWORD)],
)
def test_failed_login_gives_one_message_and_keeps_the_username(
    client, make_user, username, password
):
    make_user("alice")
    response = submit(client, "/login", "/login", {"username": username, "password": password})
    assert response.status_code == 422
    assert "Unknown username or email, or wrong password" in page_text(response)
    assert field_value(response, "username") == username
    assert field_value(response, "password") == ""
    assert session_user_id(client) is None


def test_login_with_empty_fields_names_them(client):
    response = submit(client, "/login", "/login", {"username": "", "password": ""})
    assert response.status_code == 422
    assert field_error(response, "username") == "Please fill this in"
    assert field_error(response, "password") == "Please fill this in"


def test_inactive_users_cannot_log_in(client, make_user):
    make_user("sleeper", is_active=False)
    response = submit(
        client, "/login", "/login", {"username": "sleeper", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 422


def test_login_goes_back_to_where_the_user_was(client, make_user):
    make_user("alice")
    response = submit(
        client,
        "/login?next=/u/alice",
        "/login",
        {"username": "alice", "password": DEFAULT_PASSWORD, "next": "/u/alice?page=1"},
    )
    assert response.headers["Location"] == "/u/alice?page=1"


def test_login_form_carries_the_next_page(client):
    html = page_text(client.get("/login?next=/posts/new"))
    assert 'name="next" value="/posts/new"' in html


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/ok\r\nSet-Cookie: x=1",
    ],
)
def test_login_never_redirects_off_site(client, make_user, target):
    make_user("alice")
    response = submit(
        client,
        "/login",
        "/login",
        {"username": "alice", "password": DEFAULT_PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("path", ["/login", "/register"])
def test_signed_in_users_opening_sign_in_forms_go_on(client, make_user, path):
    sign_in(client, make_user())
    response = client.get(f"{path}?next=/posts/new")
    assert response.status_code == 302
    assert response.headers["Location"] == "/posts/new"


def test_login_replaces_the_session_against_fixation(client, make_user):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    log_in(client, make_user())
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_ends_the_session(client, make_user):
    sign_in(client, make_user())
    response = submit(client, "/", "/logout")
    assert response.status_code == 302
    assert session_user_id(client) is None
    assert 'action="/logout"' not in page_text(client.get("/"))


def test_logout_needs_a_post(client, make_user):
    sign_in(client, make_user())
    assert client.get("/logout", headers=BROWSER).status_code == 405
    assert session_user_id(client) is not None


def test_session_of_a_deactivated_user_is_dropped(app, client, make_user):
    user = make_user()
    sign_in(client, user)
    with app.app_context():
        from app.extensions import db

        db.session.get(User, user.id).is_active = False
        db.session.commit()
    response = client.get("/posts/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert session_user_id(client) is None


def test_a_new_secret_key_ends_sessions_signed_with_the_old_one(app, client, make_user):
    log_in(client, make_user())
    assert 'action="/logout"' in page_text(client.get("/"))
    app.secret_key = "another-secret-key-that-is-long-enough-0123456789"
    assert 'action="/logout"' not in page_text(client.get("/"))


def test_a_rotated_secret_key_in_the_fallbacks_keeps_sessions(app, client, make_user):
    log_in(client, make_user())
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "another-secret-key-that-is-long-enough-0123456789"
    assert 'action="/logout"' in page_text(client.get("/"))


def test_anonymous_visitors_get_no_session_cookie(client):
    response = client.get("/", headers=BROWSER)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_anonymous_api_answers_do_not_vary_on_the_cookie(client):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    response = log_in(client, make_user())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_over_https(app, make_user):
    user = make_user()
    client = app.test_client()
    token = csrf_token(client, "https://localhost/login")
    response = client.post(
        "https://localhost/login",
        data={"csrf_token": token, "username": user.username, "password": DEFAULT_PASSWORD},
        headers={**BROWSER, "Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_signed_in_requests_log_the_user_id(client, make_user, log_path):
    user = make_user()
    sign_in(client, user)
    client.get("/")
    with open(log_path, encoding="utf-8") as handle:
        lines = [line for line in handle if "GET / 200" in line]
    assert lines[-1].rstrip().endswith(f"user={user.id}")


@pytest.fixture
def strict_client(make_settings, database_url):
    """A client of an app that allows two sign-in attempts per minute."""
    app = create_app(make_settings(database_url=database_url, auth_rate_limit="2 per minute"))
    with app.app_context():
        reset_schema()
    yield app.test_client()
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_login_attempts_count_against_the_auth_rate_limit(strict_client):
    attempt = {"username": "nobody", "password": "wrong-password"}
    for _ in range(2):
        assert submit(strict_client, "/login", "/login", attempt).status_code == 422
    response = submit(strict_client, "/login", "/login", attempt)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in page_text(response)
    assert int(response.headers["Retry-After"]) >= 1


def test_opening_the_login_form_does_not_count_as_an_attempt(strict_client):
    for _ in range(3):
        assert strict_client.get("/login").status_code == 200
    attempt = {"username": "nobody", "password": "wrong-password"}
    assert submit(strict_client, "/login", "/login", attempt).status_code == 422
