"""``flask users deactivate|activate|delete|restore USERNAME``: for operators without a browser."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import INCLUDE_DELETED, SYSTEM_ACTOR_ID, AuditEvent, User
from tests.api_helpers import assert_error, bearer, token_for


def stored(app, username: str) -> User:
    """The user's row (soft-deleted ones included)."""
    with app.app_context():
        user = db.session.scalar(
            db.select(User)
            .where(User.username == username)
            .execution_options(**{INCLUDE_DELETED: True})
        )
        db.session.expunge(user)
        return user


def test_deactivate_signs_the_user_out_everywhere(app, cli, client, make_user):
    user = make_user("alice")
    token = token_for(app, user)
    result = cli("users", "deactivate", "alice")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Deactivated alice")
    assert stored(app, "alice").is_active is False
    assert_error(client.get("/api/v1/auth/me", headers=bearer(token)), 401)


def test_activate_delete_and_restore(app, cli, make_user):
    make_user("alice", is_active=False)
    assert cli("users", "activate", "ALICE").exit_code == 0
    assert stored(app, "alice").is_active is True
    assert cli("users", "delete", "alice").exit_code == 0
    assert stored(app, "alice").deleted_at is not None
    assert cli("users", "restore", "alice").exit_code == 0
    assert stored(app, "alice").deleted_at is None


def test_changes_are_audited_as_the_system(app, cli, make_user):
    user = make_user("alice")
    cli("users", "deactivate", "alice")
    with app.app_context():
        event = db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert (event.action, event.actor_id) == ("update", SYSTEM_ACTOR_ID)
        assert event.changes["is_active"] == {"old": True, "new": False}


@pytest.mark.parametrize("action", ["deactivate", "delete"])
def test_the_last_admin_is_refused(app, cli, make_admin, action):
    make_admin("chief")
    result = cli("users", action, "chief")
    assert result.exit_code == 1
    assert "last active admin" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("users", "deactivate", "nobody"), 1, "no user is called nobody"),
        (("users", "deactivate", "x"), 2, "USERNAME must be"),
        (("users", "deactivate"), 2, "Missing argument"),
        (("users", "ban", "alice"), 2, "No such command"),
        (("users", "restore", "alice"), 1, "is not deleted"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(cli, make_user, args, code, message):
    make_user("alice")
    result = cli(*args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_deleting_twice_says_the_user_is_gone(cli, make_user):
    make_user("alice")
    cli("users", "delete", "alice")
    result = cli("users", "delete", "alice")
    assert result.exit_code == 1
    assert "not found" in result.output


def test_create_admin_still_makes_the_first_admin(app, cli):
    result = cli(
        "create-admin",
        "--username",
        "first",
        "--email",
        "first@example.com",
        "--password",
        "a-long-password",
    )
    assert result.exit_code == 0, result.output
    assert stored(app, "first").role == "admin"
