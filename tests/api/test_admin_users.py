"""Admins manage users: list by status, (de)activate, promote, demote, delete, restore."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent
from tests.api_helpers import assert_error, assert_success, auth_headers, bearer, token_for

USERS = "/api/v1/admin/users"


def user_url(user_id: int, suffix: str = "") -> str:
    """The admin URL of one user."""
    return f"{USERS}/{user_id}{suffix}"


@pytest.fixture
def admin(make_admin):
    """The acting admin."""
    return make_admin("boss")


@pytest.fixture
def as_admin(app, admin):
    """The acting admin's Authorization header."""
    return auth_headers(app, admin)


def usernames(response) -> list[str]:
    """The usernames of a list response."""
    return [user["username"] for user in assert_success(response)]


def test_list_shows_users_that_are_not_deleted_by_id(client, as_admin, make_user):
    make_user("alice")
    make_user("bob", is_active=False)
    response = client.get(USERS, headers=as_admin)
    assert usernames(response) == ["boss", "alice", "bob"]
    assert response.get_json()["pagination"] == {"skip": 0, "limit": 20, "total": 3}


@pytest.mark.parametrize(
    ("status", "expected"),
    [("active", ["boss", "alice"]), ("inactive", ["bob"]), ("deleted", ["carol"])],
)
def test_list_filters_by_status(client, as_admin, make_user, status, expected):
    make_user("alice")
    make_user("bob", is_active=False)
    carol = make_user("carol")
    assert_success(client.delete(user_url(carol.id), headers=as_admin))
    assert usernames(client.get(f"{USERS}?status={status}", headers=as_admin)) == expected


def test_list_paginates(client, as_admin, make_user):
    for number in range(4):
        make_user(f"reader{number}")
    response = client.get(f"{USERS}?skip=2&limit=2", headers=as_admin)
    assert usernames(response) == ["reader1", "reader2"]
    assert response.get_json()["pagination"]["total"] == 5
    assert 'rel="next"' in response.headers["Link"]


def test_list_refuses_an_unknown_status(client, as_admin):
    assert_error(client.get(f"{USERS}?status=banned", headers=as_admin), 422)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", "/1"), ("delete", "/1"), ("post", "/1/restore")],
)
def test_only_admins_manage_users(app, client, make_user, method, suffix):
    author = make_user()
    kwargs = {"json": {"is_active": False}} if method == "patch" else {}
    response = getattr(client, method)(USERS + suffix, headers=auth_headers(app, author), **kwargs)
    assert_error(response, 403)
    assert_error(getattr(client, method)(USERS + suffix, **kwargs), 401)


def test_deactivating_ends_every_token_and_the_user_cannot_sign_in(
    app, client, as_admin, make_user
):
    alice = make_user("alice")
    token = token_for(app, alice)
    data = assert_success(
        client.patch(user_url(alice.id), json={"is_active": False}, headers=as_admin)
    )
    assert data["is_active"] is False
    assert_error(client.get("/api/v1/auth/me", headers=bearer(token)), 401)
    sign_in = client.post(
        "/api/v1/auth/token", json={"username": "alice", "password": "correct-horse-battery"}
    )
    assert_error(sign_in, 401)


def test_activating_lets_the_user_sign_in_again(client, as_admin, make_user):
    alice = make_user("alice", is_active=False)
    data = assert_success(
        client.patch(user_url(alice.id), json={"is_active": True}, headers=as_admin)
    )
    assert data["is_active"] is True
    sign_in = client.post(
        "/api/v1/auth/token", json={"username": "alice", "password": "correct-horse-battery"}
    )
    assert_success(sign_in)


def test_promoting_and_demoting_change_the_role(app, client, as_admin, make_user):
    alice = make_user("alice")
    promoted = client.patch(user_url(alice.id), json={"is_admin": True}, headers=as_admin)
    assert assert_success(promoted)["role"] == "admin"
    assert_success(client.get(USERS, headers=auth_headers(app, alice)))
    demoted = client.patch(user_url(alice.id), json={"is_admin": False}, headers=as_admin)
    assert assert_success(demoted)["role"] == "author"
    assert_error(client.get(USERS, headers=auth_headers(app, alice)), 403)


def test_both_fields_change_in_one_request(client, as_admin, make_user):
    alice = make_user("alice", is_active=False)
    body = {"is_active": True, "is_admin": True}
    data = assert_success(client.patch(user_url(alice.id), json=body, headers=as_admin))
    assert (data["is_active"], data["role"]) == (True, "admin")


@pytest.mark.parametrize(
    "body", [{}, {"is_active": None}, {"is_active": "false"}, {"role": "admin"}, {"is_admin": 0}]
)
def test_update_refuses_malformed_changes(client, as_admin, make_user, body):
    alice = make_user("alice")
    assert_error(client.patch(user_url(alice.id), json=body, headers=as_admin), 422)


@pytest.mark.parametrize("body", [{"is_active": False}, {"is_admin": False}])
def test_the_last_active_admin_cannot_be_deactivated_or_demoted(client, admin, as_admin, body):
    response = client.patch(user_url(admin.id), json=body, headers=as_admin)
    assert "last active admin" in assert_error(response, 409)["message"]
    assert_success(client.get(USERS, headers=as_admin))


def test_the_last_active_admin_cannot_be_deleted(client, admin, as_admin, make_user):
    make_user("helper", is_active=False, role="admin")  # an inactive admin does not count
    assert_error(client.delete(user_url(admin.id), headers=as_admin), 409)


def test_an_admin_may_step_down_while_another_admin_is_active(client, admin, as_admin, make_admin):
    make_admin("deputy")
    response = client.patch(user_url(admin.id), json={"is_admin": False}, headers=as_admin)
    assert assert_success(response)["role"] == "author"


def test_deleting_hides_the_user_and_ends_their_tokens(app, client, as_admin, make_user):
    alice = make_user("alice")
    token = token_for(app, alice)
    assert_success(client.delete(user_url(alice.id), headers=as_admin))
    assert_error(client.get("/api/v1/auth/me", headers=bearer(token)), 401)
    assert_error(client.get("/api/v1/users/alice"), 404)
    assert_error(client.patch(user_url(alice.id), json={"is_active": True}, headers=as_admin), 404)
    assert_error(client.delete(user_url(alice.id), headers=as_admin), 404)


def test_restoring_brings_the_user_back_but_not_their_old_tokens(app, client, as_admin, make_user):
    alice = make_user("alice")
    token = token_for(app, alice)
    client.delete(user_url(alice.id), headers=as_admin)
    data = assert_success(client.post(user_url(alice.id, "/restore"), headers=as_admin))
    assert data["deleted_at"] is None
    assert_success(client.get("/api/v1/users/alice"))
    assert_error(client.get("/api/v1/auth/me", headers=bearer(token)), 401)


def test_restoring_a_user_that_is_not_deleted_is_409(client, as_admin, make_user):
    alice = make_user("alice")
    assert_error(client.post(user_url(alice.id, "/restore"), headers=as_admin), 409)


def test_unknown_users_are_404(client, as_admin):
    assert_error(client.patch(user_url(999), json={"is_active": False}, headers=as_admin), 404)
    assert_error(client.delete(user_url(999), headers=as_admin), 404)
    assert_error(client.post(user_url(999, "/restore"), headers=as_admin), 404)


def test_every_change_is_audited_with_old_and_new_values_and_the_admin(
    app, client, admin, as_admin, make_user
):
    alice = make_user("alice")
    client.patch(user_url(alice.id), json={"is_active": False, "is_admin": True}, headers=as_admin)
    client.delete(user_url(alice.id), headers=as_admin)
    client.post(user_url(alice.id, "/restore"), headers=as_admin)
    with app.app_context():
        events = (
            db.session.query(AuditEvent)
            .filter_by(entity_type="user", entity_id=alice.id)
            .order_by(AuditEvent.id)
            .all()
        )
        rows = [(event.action, event.actor_id, event.changes) for event in events]
    assert [action for action, _, _ in rows] == ["create", "update", "delete", "restore"]
    assert {actor for _, actor, _ in rows[1:]} == {admin.id}
    update = rows[1][2]
    assert update["is_active"] == {"old": True, "new": False}
    assert update["role"] == {"old": "author", "new": "admin"}
    assert update["credentials_version"] == {"old": 1, "new": 2}
    assert rows[2][2]["deleted_at"]["old"] is None
    assert rows[3][2]["deleted_at"]["new"] is None
