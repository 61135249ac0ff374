"""The /admin/users page: list and filter users, and a CSRF-protected button per action."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import INCLUDE_DELETED, User
from tests.web_helpers import BROWSER, field_error, page_text, sign_in, submit

USERS = "/admin/users"


@pytest.fixture
def admin(make_admin):
    """The acting admin."""
    return make_admin("boss")


@pytest.fixture
def signed_in(client, admin):
    """The client signed in as the admin."""
    sign_in(client, admin)
    return client


def stored(app, user_id: int) -> User:
    """The user's row as stored (soft-deleted ones included)."""
    with app.app_context():
        user = db.session.scalar(
            db.select(User).where(User.id == user_id).execution_options(**{INCLUDE_DELETED: True})
        )
        db.session.expunge(user)
        return user


def act(client, user, action: str):
    """Press ``action``'s button for ``user`` on the users page."""
    return submit(client, USERS, f"{USERS}/{user.id}/{action}", {"next": USERS})


def test_anonymous_visitors_go_to_login_and_authors_get_403(client, make_user):
    assert client.get(USERS, headers=BROWSER).status_code == 302
    sign_in(client, make_user())
    assert client.get(USERS, headers=BROWSER).status_code == 403


def test_the_page_lists_users_with_their_status_and_buttons(signed_in, make_user):
    make_user("alice")
    make_user("bob", is_active=False)
    text = page_text(signed_in.get(USERS, headers=BROWSER))
    assert "alice" in text and "bob" in text
    assert 'aria-label="Deactivate alice"' in text
    assert 'aria-label="Activate bob"' in text
    assert 'aria-label="Promote alice"' in text
    assert 'aria-label="Delete alice"' in text
    assert text.count('name="csrf_token"') >= 6


@pytest.mark.parametrize(
    ("status", "shown", "hidden"),
    [("active", "alice", "bob"), ("inactive", "bob", "alice"), ("deleted", "carol", "alice")],
)
def test_the_page_filters_by_status(app, signed_in, make_user, status, shown, hidden):
    make_user("alice")
    make_user("bob", is_active=False)
    carol = make_user("carol")
    act_delete(signed_in, carol)
    text = page_text(signed_in.get(f"{USERS}?status={status}", headers=BROWSER))
    assert f">{shown}<" in text
    assert f">{hidden}<" not in text


def test_an_unknown_status_is_explained(signed_in):
    response = signed_in.get(f"{USERS}?status=banned", headers=BROWSER)
    assert response.status_code == 422
    assert field_error(response, "status")


def test_the_page_is_paginated(signed_in, make_user):
    for number in range(30):
        make_user(f"reader{number:02d}")
    first = page_text(signed_in.get(USERS, headers=BROWSER))
    second = page_text(signed_in.get(f"{USERS}?page=2", headers=BROWSER))
    assert "reader00" in first and "reader29" not in first
    assert "reader29" in second
    assert signed_in.get(f"{USERS}?page=9", headers=BROWSER).status_code == 404


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [("deactivate", "is_active", False), ("promote", "role", "admin")],
)
def test_buttons_change_the_user(app, signed_in, make_user, action, field, value):
    alice = make_user("alice")
    response = act(signed_in, alice, action)
    assert response.status_code == 302
    assert response.headers["Location"] == USERS
    assert getattr(stored(app, alice.id), field) == value


def test_activate_and_demote_undo_them(app, signed_in, make_user):
    alice = make_user("alice", is_active=False, role="admin")
    act(signed_in, alice, "activate")
    act(signed_in, alice, "demote")
    user = stored(app, alice.id)
    assert (user.is_active, user.role) == (True, "author")


def test_actions_need_the_csrf_token(app, signed_in, make_user):
    alice = make_user("alice")
    response = signed_in.post(f"{USERS}/{alice.id}/deactivate", headers=BROWSER)
    assert response.status_code == 400
    assert stored(app, alice.id).is_active is True


def act_delete(client, user):
    """Open the delete confirmation of ``user`` and confirm it."""
    page = f"{USERS}/{user.id}/delete"
    return submit(client, page, page, {"next": USERS})


def test_deleting_asks_for_confirmation_first(app, signed_in, make_user):
    alice = make_user("alice")
    confirm = signed_in.get(f"{USERS}/{alice.id}/delete", headers=BROWSER)
    assert confirm.status_code == 200
    assert "Delete account" in page_text(confirm)
    assert stored(app, alice.id).deleted_at is None
    assert act_delete(signed_in, alice).status_code == 302
    assert stored(app, alice.id).deleted_at is not None


def test_restore_brings_a_deleted_user_back(app, signed_in, make_user):
    alice = make_user("alice")
    act_delete(signed_in, alice)
    response = submit(signed_in, f"{USERS}?status=deleted", f"{USERS}/{alice.id}/restore")
    assert response.status_code == 302
    assert stored(app, alice.id).deleted_at is None


@pytest.mark.parametrize("action", ["deactivate", "demote", "delete"])
def test_the_last_admin_is_refused_with_a_clear_message(app, signed_in, admin, action):
    response = act_delete(signed_in, admin) if action == "delete" else act(signed_in, admin, action)
    assert response.status_code == 302
    text = page_text(signed_in.get(USERS, headers=BROWSER))
    assert "last active admin" in text
    user = stored(app, admin.id)
    assert (user.is_active, user.role, user.deleted_at) == (True, "admin", None)


def test_a_deactivated_users_open_session_is_sent_to_sign_in(app, signed_in, make_user):
    alice = make_user("alice")
    alices_browser = app.test_client()
    sign_in(alices_browser, alice)
    assert alices_browser.get("/posts/new", headers=BROWSER).status_code == 200
    act(signed_in, alice, "deactivate")
    response = alices_browser.get("/posts/new", headers=BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_unknown_ids_are_explained_not_crashed(signed_in):
    response = signed_in.get(f"{USERS}/999/delete", headers=BROWSER)
    assert response.status_code == 404
