"""Audit columns: stamped by one listener for every model, flushes and bulk statements alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from app.models import (
    ACTOR_SELF,
    SYSTEM_ACTOR_ID,
    Comment,
    Post,
    PostStatus,
    User,
    acting_as,
    current_actor,
)
from app.services.concurrency import etag_for


def new_user(db, username: str = "alice") -> User:
    """A user added and committed directly through the ORM."""
    user = User(username=username, email=f"{username}@example.com", password_hash="x")
    db.session.add(user)
    db.session.commit()
    return user


#: The stored rendering a model-level test gives its rows (the services render bodies).
RENDERED = {"body_html": "<p>Body</p>\n", "rendered_with": "test"}
RENDERED_POST = {**RENDERED, "excerpt": "Body"}


def new_post(db, author: User, title: str = "Hello") -> Post:
    """A draft post added and committed directly through the ORM."""
    post = Post(title=title, slug=title.lower(), body="Body", author_id=author.id, **RENDERED_POST)
    db.session.add(post)
    db.session.commit()
    return post


def test_create_stamps_times_and_actor(db):
    before = datetime.now(UTC)
    with acting_as(42):
        user = new_user(db)
    assert user.added_by == 42
    assert user.updated_by == 42
    assert before <= user.date_added <= datetime.now(UTC)
    assert user.date_updated == user.date_added
    assert user.deleted_at is None
    assert user.deleted_by is None


def test_timestamps_are_utc_aware_after_reload(db):
    user = new_user(db)
    db.session.expire_all()
    reloaded = db.session.get(User, user.id)
    assert reloaded.date_added.tzinfo is not None
    assert reloaded.date_added.utcoffset() == timedelta(0)


def test_update_stamps_updater_and_keeps_creation(db):
    with acting_as(7):
        user = new_user(db)
    added, date_added = user.added_by, user.date_added
    with acting_as(8):
        user.email = "new@example.com"
        db.session.commit()
    assert user.added_by == added == 7
    assert user.date_added == date_added
    assert user.updated_by == 8
    assert user.date_updated > date_added


def test_assigning_the_same_value_is_not_an_update(db):
    user = new_user(db)
    stamped = user.date_updated
    with acting_as(9):
        user.email = user.email
        db.session.commit()
    assert user.date_updated == stamped
    assert user.updated_by != 9


def test_values_given_for_audit_columns_are_overwritten(db):
    forged = datetime(2000, 1, 1, tzinfo=UTC)
    user = User(
        username="mallory",
        email="m@example.com",
        password_hash="x",
        date_added=forged,
        added_by=999,
    )
    with acting_as(5):
        db.session.add(user)
        db.session.commit()
    assert user.date_added != forged
    assert user.added_by == 5


def test_outside_a_request_the_actor_is_the_system(db):
    assert current_actor() == SYSTEM_ACTOR_ID
    user = new_user(db)
    assert user.added_by == SYSTEM_ACTOR_ID == 0


def test_acting_as_names_the_actor(db):
    with acting_as(31):
        user = new_user(db)
    assert user.added_by == 31


def test_the_innermost_acting_as_wins(db):
    with acting_as(31), acting_as(32):
        user = new_user(db)
    assert user.added_by == 32


def test_self_actor_makes_a_new_user_its_own_creator(db):
    with acting_as(ACTOR_SELF):
        user = new_user(db)
    db.session.expire_all()
    assert user.added_by == user.id
    assert user.updated_by == user.id


def test_soft_delete_stamps_who_and_when(db):
    user = new_user(db)
    post = new_post(db, user)
    with acting_as(user.id):
        post.soft_delete()
        db.session.commit()
    assert post.deleted_at is not None
    assert post.deleted_by == user.id
    assert post.deleted_at == post.date_updated


def test_restore_clears_who_deleted(db):
    user = new_user(db)
    post = new_post(db, user)
    post.soft_delete()
    db.session.commit()
    post.restore()
    db.session.commit()
    assert post.deleted_at is None
    assert post.deleted_by is None


def test_bulk_update_stamps_every_row(db):
    user = new_user(db)
    posts = [new_post(db, user, f"Post{i}") for i in range(3)]
    before = {post.id: post.date_updated for post in posts}
    with acting_as(77):
        db.session.execute(update(Post).where(Post.author_id == user.id).values(body="Changed"))
        db.session.commit()
    db.session.expire_all()
    for post in db.session.scalars(select(Post)):
        assert post.body == "Changed"
        assert post.updated_by == 77
        assert post.date_updated > before[post.id]
        assert post.added_by == SYSTEM_ACTOR_ID


def test_bulk_update_bumps_versions(db):
    user = new_user(db)
    post = new_post(db, user)
    version = post.version
    db.session.execute(update(Post).where(Post.id == post.id).values(title="Bulk"))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Post, post.id).version == version + 1


def test_bulk_update_by_primary_key_stamps_rows(db):
    user = new_user(db)
    post = new_post(db, user)
    with acting_as(78):
        db.session.execute(update(Post), [{"id": post.id, "title": "By key"}])
        db.session.commit()
    db.session.expire_all()
    reloaded = db.session.get(Post, post.id)
    assert reloaded.title == "By key"
    assert reloaded.updated_by == 78


def test_bulk_soft_delete_stamps_deleted_by(db):
    user = new_user(db)
    post = new_post(db, user)
    with acting_as(79):
        db.session.execute(
            update(Post).where(Post.id == post.id).values(deleted_at=datetime.now(UTC))
        )
        db.session.commit()
    row = db.session.execute(
        select(Post.deleted_by).where(Post.id == post.id).execution_options(include_deleted=True)
    ).one()
    assert row.deleted_by == 79


def test_bulk_insert_stamps_every_row(db):
    user = new_user(db)
    with acting_as(55):
        db.session.execute(
            insert(Post),
            [
                {"title": f"T{i}", "slug": f"t{i}", "body": "B", "author_id": user.id}
                | RENDERED_POST
                for i in range(3)
            ],
        )
        db.session.commit()
    posts = db.session.scalars(select(Post)).all()
    assert len(posts) == 3
    assert {(post.added_by, post.updated_by, post.version) for post in posts} == {(55, 55, 1)}
    assert all(post.date_added is not None for post in posts)


def test_audit_times_are_not_null_in_the_database(db):
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (username, email, password_hash, role, is_active,"
                " added_by, updated_by) VALUES ('x', 'x@example.com', 'h', 'author',"
                " true, 0, 0)"
            )
        )


@pytest.mark.parametrize(
    ("column", "value"),
    [("username", "ALICE"), ("email", "Alice@Example.COM")],
)
def test_username_and_email_are_unique_ignoring_case_in_the_database(db, column, value):
    new_user(db, "alice")
    other = {"username": "bob", "email": "bob@example.com", column: value}
    db.session.add(User(password_hash="x", **other))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_versions_count_committed_writes(db):
    user = new_user(db)
    post = new_post(db, user)
    assert post.version == 1
    post.title = "Again"
    db.session.commit()
    assert post.version == 2
    assert etag_for(post) == f'"post-{post.id}-v2"'


def test_stale_write_is_refused(app, db):
    user = new_user(db)
    post = new_post(db, user)
    post_id = post.id
    with app.app_context():  # a second session reads the same version, then writes first
        from app.extensions import db as other_db

        other = other_db.session.get(Post, post_id)
        other.title = "Theirs"
        other_db.session.commit()
    from sqlalchemy.orm.exc import StaleDataError

    post.title = "Mine"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()


def test_comment_is_versioned_and_stamped(db):
    user = new_user(db)
    post = new_post(db, user)
    with acting_as(user.id):
        comment = Comment(post_id=post.id, author_id=user.id, body="Hi", **RENDERED)
        db.session.add(comment)
        db.session.commit()
    assert comment.version == 1
    assert comment.added_by == user.id
    assert inspect(Comment).version_id_col is not None


def test_status_enum_is_stored_as_its_value(db):
    user = new_user(db)
    post = new_post(db, user)
    assert post.status is PostStatus.DRAFT
    stored = db.session.execute(text("SELECT status FROM posts WHERE id = :id"), {"id": post.id})
    assert stored.scalar() == "draft"
