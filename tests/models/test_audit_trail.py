"""The audit trail: one event per write, in the same transaction, append-only and chained."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from app.models import (
    AuditEvent,
    AuditTrailImmutableError,
    HardDeleteRefusedError,
    Post,
    User,
    acting_as,
)
from app.models.audit_event import GENESIS_HASH, MASKED, event_hash
from app.services import post_service, user_service


def events(db, **filters) -> list[AuditEvent]:
    """Audit events in chain order, optionally filtered by column values."""
    statement = select(AuditEvent).filter_by(**filters).order_by(AuditEvent.id)
    return list(db.session.scalars(statement))


def test_registration_appends_a_create_event_by_the_new_user(db):
    user = user_service.register_user("alice", "alice@example.com", "password-123")
    [event] = events(db, entity_type="user")
    assert (event.action, event.entity_id, event.actor_id) == ("create", user.id, user.id)
    assert event.changes["username"] == {"old": None, "new": "alice"}
    assert event.changes["role"] == {"old": None, "new": "author"}


def test_password_hashes_are_masked_in_events(db):
    user = user_service.register_user("alice", "alice@example.com", "password-123")
    with acting_as(user.id):
        user.password_hash = "another-hash"
        db.session.commit()
    created, changed = events(db, entity_type="user")
    assert created.changes["password_hash"] == {"old": None, "new": MASKED}
    assert changed.changes == {"password_hash": {"old": MASKED, "new": MASKED}}
    assert user.password_hash not in str(created.changes)


def test_update_event_holds_only_changed_fields(db, make_user, make_post):
    author = make_user()
    post = make_post(author, title="Before")
    post_service.update_post(post.id, author, title="After")
    last = events(db, entity_type="post")[-1]
    assert last.action == "update"
    assert last.changes == {"title": {"old": "Before", "new": "After"}}
    assert last.actor_id == author.id


def test_soft_delete_and_restore_append_their_own_actions(db, make_user, make_admin, make_post):
    author, admin = make_user(), make_admin()
    post = make_post(author)
    post_service.delete_post(post.id, author)
    post_service.restore_post(post.id, admin)
    actions = [(event.action, event.actor_id) for event in events(db, entity_type="post")]
    assert actions == [("create", author.id), ("delete", author.id), ("restore", admin.id)]
    deleted = events(db, entity_type="post", action="delete")[0]
    assert deleted.changes["deleted_by"] == {"old": None, "new": author.id}
    assert deleted.changes["deleted_at"]["old"] is None


def test_event_records_the_request_id(db, client):
    response = client.post(
        "/api/v1/auth/register",
        json={"username": "alice", "email": "alice@example.com", "password": "password-123"},
        headers={"X-Request-ID": "req-123"},
    )
    assert response.status_code == 201
    assert events(db)[0].request_id == "req-123"


def test_event_outside_a_request_has_no_request_id(db):
    user_service.register_user("alice", "alice@example.com", "password-123")
    assert events(db)[0].request_id is None


def test_rolled_back_change_leaves_no_event(db):
    db.session.add(User(username="ghost", email="ghost@example.com", password_hash="x"))
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_bulk_insert_appends_one_event_per_row(db, make_user):
    author = make_user()
    from sqlalchemy import insert

    db.session.execute(
        insert(Post),
        [
            {
                "title": f"T{i}",
                "slug": f"t{i}",
                "body": "B",
                "author_id": author.id,
                "body_html": "<p>B</p>\n",
                "excerpt": "B",
                "rendered_with": "test",
            }
            for i in range(3)
        ],
    )
    db.session.commit()
    post_ids = set(db.session.scalars(select(Post.id)))
    created = events(db, entity_type="post", action="create")
    assert {event.entity_id for event in created} == post_ids


def test_bulk_update_appends_an_event_per_changed_row(db, make_user, make_post):
    author = make_user()
    first, second = make_post(author, title="One"), make_post(author, title="Two")
    db.session.execute(update(Post).where(Post.author_id == author.id).values(title="Same"))
    db.session.commit()
    updates = events(db, entity_type="post", action="update")
    assert {event.entity_id for event in updates} == {first.id, second.id}
    assert {event.changes["title"]["old"] for event in updates} == {"One", "Two"}


def test_chain_links_each_event_to_the_one_before(db, make_user, make_post):
    make_post(make_user())
    chain = events(db)
    assert chain[0].prev_hash == GENESIS_HASH
    for previous, current in itertools.pairwise(chain):
        assert current.prev_hash == previous.hash
    for event in chain:
        assert event.hash == event_hash(event.__dict__)


def test_orm_refuses_to_update_an_event(db, make_user):
    make_user()
    event = events(db)[0]
    event.action = "update"
    with pytest.raises(AuditTrailImmutableError):
        db.session.commit()
    db.session.rollback()


def test_orm_refuses_to_delete_an_event(db, make_user):
    make_user()
    db.session.delete(events(db)[0])
    with pytest.raises(AuditTrailImmutableError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        lambda: update(AuditEvent).values(actor_id=1),
        lambda: delete(AuditEvent),
        lambda: update(AuditEvent.__table__).values(actor_id=1),
        lambda: delete(AuditEvent.__table__),
    ],
    ids=["orm-update", "orm-delete", "table-update", "table-delete"],
)
def test_orm_refuses_bulk_changes_to_events(db, make_user, statement):
    make_user()
    with pytest.raises(AuditTrailImmutableError):
        db.session.execute(statement())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_orm_refuses_to_add_events_directly(db):
    db.session.add(
        AuditEvent(entity_type="user", entity_id=1, action="create", changes={}, actor_id=0)
    )
    with pytest.raises(AuditTrailImmutableError):
        db.session.commit()
    db.session.rollback()


def test_orm_refuses_to_hard_delete_audited_rows(db, make_user):
    user = db.session.get(User, make_user().id)
    db.session.delete(user)
    with pytest.raises(HardDeleteRefusedError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET actor_id = 99", "DELETE FROM audit_events"],
    ids=["update", "delete"],
)
def test_postgresql_trigger_rejects_changes_to_events(db, make_user, statement):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    make_user()
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text(statement))
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    assert db.session.scalar(select(AuditEvent.actor_id)) != 99
