"""Soft delete: deleted rows never leak into lists, look-ups, counts, joins or relationships."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from app.models import Comment, Post, User
from app.models.listeners import INCLUDE_DELETED


@pytest.fixture
def blog(db, make_user, make_post, make_comment):
    """A live post and a deleted post by the same author, each with one comment."""
    author = make_user("writer")
    live = make_post(author, title="Live")
    gone = make_post(author, title="Gone")
    live_comment = make_comment(live, author)
    gone_comment = make_comment(gone, author)
    post = db.session.get(Post, gone.id)
    post.soft_delete()
    db.session.commit()
    db.session.expunge_all()
    return {
        "author": author,
        "live": live,
        "gone": gone,
        "live_comment": live_comment,
        "gone_comment": gone_comment,
    }


def test_deleted_rows_are_absent_from_lists(db, blog):
    titles = db.session.scalars(select(Post.title)).all()
    assert titles == ["Live"]


def test_deleted_rows_are_absent_from_lookups_by_id(db, blog):
    assert db.session.get(Post, blog["gone"].id) is None
    assert db.session.scalar(select(Post).where(Post.id == blog["gone"].id)) is None


@pytest.mark.parametrize(
    "count",
    [
        lambda: select(func.count()).select_from(Post),
        lambda: select(func.count(Post.id)),
    ],
    ids=["count-star", "count-column"],
)
def test_deleted_rows_are_absent_from_counts(db, blog, count):
    assert db.session.scalar(count()) == 1


def test_deleted_rows_are_absent_from_joins(db, blog):
    rows = db.session.execute(
        select(User.username, Post.title).join(Post, Post.author_id == User.id)
    ).all()
    assert [row.title for row in rows] == ["Live"]


def test_deleted_rows_are_absent_from_aliased_joins(db, blog):
    other = aliased(Post)
    rows = db.session.scalars(select(other.title).join(User, other.author_id == User.id)).all()
    assert rows == ["Live"]


def test_deleted_rows_are_absent_from_lazy_relationship_loads(db, blog):
    author = db.session.get(User, blog["author"].id)
    assert [post.title for post in author.posts] == ["Live"]


@pytest.mark.parametrize("loader", [selectinload, joinedload], ids=["selectin", "joined"])
def test_deleted_rows_are_absent_from_eager_relationship_loads(db, blog, loader):
    author = db.session.scalar(
        select(User).where(User.id == blog["author"].id).options(loader(User.posts))
    )
    assert [post.title for post in author.posts] == ["Live"]


def test_comments_of_a_deleted_post_are_hidden(db, blog):
    comments = db.session.scalars(select(Comment)).all()
    assert [comment.id for comment in comments] == [blog["live_comment"].id]
    assert db.session.get(Comment, blog["gone_comment"].id) is None


def test_comments_of_a_deleted_post_are_not_counted(db, blog):
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 1


def test_deleted_comments_are_absent_from_a_posts_comments(db, blog, make_comment):
    extra = make_comment(blog["live"], blog["author"])
    comment = db.session.get(Comment, extra.id)
    comment.soft_delete()
    db.session.commit()
    db.session.expunge_all()
    post = db.session.get(Post, blog["live"].id)
    assert [comment.id for comment in post.comments] == [blog["live_comment"].id]


def test_opt_out_shows_deleted_rows(db, blog):
    titles = db.session.scalars(
        select(Post.title).order_by(Post.id).execution_options(**{INCLUDE_DELETED: True})
    ).all()
    assert titles == ["Live", "Gone"]


def test_opt_out_shows_comments_of_deleted_posts(db, blog):
    count = db.session.scalar(
        select(func.count()).select_from(Comment).execution_options(**{INCLUDE_DELETED: True})
    )
    assert count == 2


def test_a_deleted_object_already_loaded_can_still_be_read(db, blog):
    post = db.session.scalar(
        select(Post).where(Post.id == blog["gone"].id).execution_options(**{INCLUDE_DELETED: True})
    )
    db.session.expire(post)
    assert post.title == "Gone"  # refreshing a loaded object is not filtered


def test_restore_brings_the_row_and_its_comments_back(db, blog):
    post = db.session.scalar(
        select(Post).where(Post.id == blog["gone"].id).execution_options(**{INCLUDE_DELETED: True})
    )
    post.restore()
    db.session.commit()
    db.session.expunge_all()
    assert db.session.get(Post, blog["gone"].id) is not None
    assert db.session.get(Comment, blog["gone_comment"].id) is not None
    assert db.session.scalar(select(func.count()).select_from(Post)) == 2
