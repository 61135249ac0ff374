"""The command line: create-admin, seed and audit verify (CONTRACT section 8)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import SYSTEM_ACTOR_ID, AuditEvent, Comment, Post, Role, User
from app.services import user_service


def test_create_admin_creates_an_admin(app, cli):
    result = cli(
        "create-admin",
        "--username",
        "root",
        "--email",
        "root@example.com",
        "--password",
        "admin-password",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin root" in result.output
    with app.app_context():
        user = user_service.find_user_by_username("root")
        assert user.role is Role.ADMIN
        assert user_service.authenticate("root", "admin-password") is not None


def test_cli_writes_are_stamped_and_audited_as_the_system_actor(app, cli):
    cli(
        "create-admin",
        "--username",
        "root",
        "--email",
        "root@example.com",
        "--password",
        "admin-password",
    )
    with app.app_context():
        user = user_service.find_user_by_username("root")
        event = db.session.scalar(select(AuditEvent))
        assert (user.added_by, user.updated_by) == (SYSTEM_ACTOR_ID, SYSTEM_ACTOR_ID)
        assert (event.action, event.entity_id, event.actor_id) == ("create", user.id, 0)


def test_create_admin_promotes_an_existing_user(app, cli, make_user):
    user = make_user("alice")
    result = cli("create-admin", "--username", "alice", "--email", "alice@example.com")
    assert result.exit_code == 0, result.output
    assert f"Promoted alice (id {user.id}) to admin" in result.output
    with app.app_context():
        promoted = user_service.get_user(user.id)
        assert promoted.role is Role.ADMIN
        assert promoted.updated_by == SYSTEM_ACTOR_ID


def test_create_admin_prompts_for_a_missing_password(app, cli):
    result = cli(
        "create-admin",
        "--username",
        "root",
        "--email",
        "root@example.com",
        input="typed-password\ntyped-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    with app.app_context():
        assert user_service.authenticate("root", "typed-password") is not None


def test_create_admin_with_a_taken_email_fails_in_one_line(cli, make_user):
    make_user("alice", email="alice@example.com")
    result = cli(
        "create-admin",
        "--username",
        "root",
        "--email",
        "ALICE@example.com",
        "--password",
        "admin-password",
    )
    assert result.exit_code == 1
    assert result.output.strip() == "Error: This email is already registered"


@pytest.mark.parametrize(
    "args",
    [
        [
            "create-admin",
            "--username",
            "x",
            "--email",
            "x@example.com",
            "--password",
            "long-enough",
        ],
        ["create-admin", "--username", "bad name", "--email", "x@example.com"],
        [
            "create-admin",
            "--username",
            "root",
            "--email",
            "not-an-email",
            "--password",
            "long-enough",
        ],
        ["create-admin", "--username", "root", "--email", "x@example.com", "--password", "short"],
        ["create-admin", "--email", "x@example.com"],
        ["seed", "--posts", "abc"],
        ["seed", "--posts", "-1"],
        ["seed", "--users", "0"],
        ["seed", "--unknown"],
        ["audit", "frobnicate"],
    ],
    ids=[
        "short-username",
        "username-with-space",
        "bad-email",
        "short-password",
        "missing-username",
        "posts-not-a-number",
        "negative-posts",
        "no-users",
        "unknown-option",
        "unknown-audit-command",
    ],
)
def test_bad_arguments_exit_2_with_one_line(cli, args):
    result = cli(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")


def test_seed_creates_users_posts_and_comments(app, cli):
    result = cli("seed", "--posts", "30", "--users", "3", "--comments-per-post", "2")
    assert result.exit_code == 0, result.output
    assert "Seeded 3 users, 30 posts and" in result.output
    with app.app_context():

        def count(model) -> int:
            """How many live rows ``model`` has."""
            return db.session.scalar(select(func.count()).select_from(model))

        assert (count(User), count(Post)) == (3, 30)
        assert count(Comment) > 0
        published = db.session.scalar(
            select(func.count()).select_from(Post).where(Post.published_at.is_not(None))
        )
        assert published > 0


def test_seed_writes_an_audit_event_for_every_row(app, cli):
    cli("seed", "--posts", "25", "--users", "2")
    with app.app_context():
        for model, entity in ((User, "user"), (Post, "post"), (Comment, "comment")):
            ids = set(db.session.scalars(select(model.id)))
            audited = set(
                db.session.scalars(
                    select(AuditEvent.entity_id).where(
                        AuditEvent.entity_type == entity, AuditEvent.action == "create"
                    )
                )
            )
            assert audited == ids


def test_seed_stamps_rows_as_the_system_actor(app, cli):
    cli("seed", "--posts", "5", "--users", "1")
    with app.app_context():
        stamps = set(db.session.execute(select(Post.added_by, Post.updated_by, Post.version)))
        assert stamps == {(SYSTEM_ACTOR_ID, SYSTEM_ACTOR_ID, 1)}


def test_seeded_demo_users_can_sign_in(app, cli):
    cli("seed", "--posts", "1", "--users", "1")
    with app.app_context():
        username = db.session.scalar(select(User.username))
        from app.seed import DEMO_PASSWORD

        assert user_service.authenticate(username, DEMO_PASSWORD) is not None


def test_seed_twice_does_not_collide(cli):
    assert cli("seed", "--posts", "3", "--users", "2").exit_code == 0
    assert cli("seed", "--posts", "3", "--users", "2").exit_code == 0


# -- audit verify --------------------------------------------------------------------------


def tamper(statement: str, params: dict) -> None:
    """Change the audit table behind the application's back (the trigger is bypassed)."""
    with db.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(text(statement), params)
        if postgres:
            connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def test_verify_passes_on_an_empty_trail(cli):
    result = cli("audit", "verify")
    assert result.exit_code == 0
    assert "Audit trail intact: 0 events verified" in result.output


def test_verify_passes_on_an_intact_trail(cli):
    cli("seed", "--posts", "10", "--users", "2")
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "Audit trail intact" in result.output


def test_verify_fails_naming_an_altered_event(app, cli):
    cli("seed", "--posts", "10", "--users", "2")
    assert cli("audit", "verify").exit_code == 0
    with app.app_context():
        tamper("UPDATE audit_events SET actor_id = 999 WHERE id = :id", {"id": 5})
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "Audit trail broken at event 5: its content does not match its stored hash" in (
        result.output
    )


def test_verify_fails_naming_the_event_after_a_removed_one(app, cli):
    cli("seed", "--posts", "10", "--users", "2")
    with app.app_context():
        tamper("DELETE FROM audit_events WHERE id = :id", {"id": 4})
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "Audit trail broken at event 5: the events before it (4) are missing" in result.output


def test_verify_fails_when_an_events_hash_is_rewritten(app, cli):
    cli("seed", "--posts", "3", "--users", "1")
    with app.app_context():
        tamper("UPDATE audit_events SET hash = :fake WHERE id = :id", {"fake": "f" * 64, "id": 2})
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "Audit trail broken at event 2" in result.output
