"""Soft delete: deleted rows never leak into lists, look-ups, counts, joins or relationships,
and ORM and Core reads apply the same live-rows rule."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from app.models import INCLUDE_DELETED, Comment, Post, User
from app.models.base import DELETED_ROWS_SQL, LIVE_ROWS_SQL
from app.models.soft_delete import deleted, live, live_rows


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


# -- one rule for ORM and Core reads -------------------------------------------------------


@pytest.fixture
def vanished(db, blog, make_user, make_post, make_comment):
    """Besides ``blog``: an author whose account is soft-deleted, with a live post and comment."""
    gone_author = make_user("vanished")
    post = make_post(gone_author, title="Orphan")
    comment = make_comment(post, blog["author"])
    db.session.get(User, gone_author.id).soft_delete()
    db.session.commit()
    db.session.expunge_all()
    return {**blog, "gone_author": gone_author, "orphan": post, "orphan_comment": comment}


def core_ids(db, table) -> list[int]:
    """The ids of ``table``'s live rows, read with Core on a plain connection."""
    with db.engine.connect() as connection:
        statement = select(table.c.id).where(live_rows(table)).order_by(table.c.id)
        return list(connection.scalars(statement))


@pytest.mark.parametrize("model", [User, Post, Comment], ids=["users", "posts", "comments"])
def test_orm_and_core_reads_see_the_same_live_rows(db, vanished, model):
    orm = db.session.scalars(select(model.id).order_by(model.id)).all()
    assert orm == core_ids(db, model.__table__)
    everything = db.session.scalars(
        select(model.id).execution_options(**{INCLUDE_DELETED: True})
    ).all()
    assert len(everything) > len(orm)  # the data really holds deleted rows of this kind


def test_core_reads_hide_comments_of_deleted_posts(db, vanished):
    ids = core_ids(db, Comment.__table__)
    assert vanished["gone_comment"].id not in ids
    assert {vanished["live_comment"].id, vanished["orphan_comment"].id} <= set(ids)


def test_orm_and_core_joins_drop_a_deleted_author_alike(db, vanished):
    posts, users = Post.__table__, User.__table__
    orm = db.session.execute(
        select(Post.id, User.username).outerjoin(User, User.id == Post.author_id).order_by(Post.id)
    ).all()
    core_statement = (
        select(posts.c.id, users.c.username)
        .select_from(posts.outerjoin(users, (users.c.id == posts.c.author_id) & live_rows(users)))
        .where(live_rows(posts))
        .order_by(posts.c.id)
    )
    with db.engine.connect() as connection:
        core = connection.execute(core_statement).all()
    assert [tuple(row) for row in orm] == [tuple(row) for row in core]
    assert (vanished["orphan"].id, None) in [tuple(row) for row in core]


def test_the_api_feed_and_the_pages_feed_agree(db, vanished):
    from app.services import feed_service

    pages = feed_service.list_published_posts(0, 100)
    api = feed_service.feed_page(0, 100)
    assert [post.id for post in api.items] == [post.id for post in pages.items]
    assert api.total == pages.total == 2
    authors = {post.id: post.author and post.author.username for post in api.items}
    assert authors == {post.id: post.byline and post.byline.username for post in pages.items}
    assert authors[vanished["orphan"].id] is None


def test_the_partial_indexes_use_the_same_condition(db):
    clause = live(Post.__table__).compile(compile_kwargs={"include_table": False})
    assert str(clause) == LIVE_ROWS_SQL
    assert str(deleted(Post.__table__).compile(compile_kwargs={"include_table": False})) == (
        DELETED_ROWS_SQL
    )
    conditions = {
        str(index.dialect_options["postgresql"]["where"])
        for index in Post.__table__.indexes
        if index.dialect_options["postgresql"]["where"] is not None
    }
    assert conditions == {LIVE_ROWS_SQL, DELETED_ROWS_SQL}
