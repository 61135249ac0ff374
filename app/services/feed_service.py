"""The lists of posts: the public feed (plain Core rows, for the API and the home page), an
author's posts and the admins' list of deleted posts (ORM objects).

Every list is read by :func:`app.services.pages.read_window`. The feed's exact totals
come from ``feed_counts`` (kept by triggers, see :mod:`app.models.feed_count`), so no
list counts every published post.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, Subquery, func, select
from sqlalchemy.orm import defer, joinedload
from sqlalchemy.sql.elements import ColumnElement

from app.database import read_connection
from app.extensions import db
from app.models import FeedCount, Post, PostStatus, User
from app.models.feed_count import FEED_ALL
from app.models.soft_delete import deleted, live_rows
from app.services.audit_service import CONTENT_VERSION
from app.services.errors import NotFound
from app.services.pages import (
    WINDOW_ID,
    ItemT,
    Page,
    paginate,
    paginate_within,
    read_window,
)
from app.services.permissions import require_admin

FEED_ORDER = (Post.published_at.desc(), Post.id.desc())
#: The feed read from its far end (oldest first), for windows past its middle.
FEED_ORDER_REVERSED = (Post.published_at.asc(), Post.id.asc())

#: The pages' lists show titles and excerpts: the Markdown and its HTML (up to 100,000
#: characters each) stay in the database until something asks for them.
SUMMARY_OPTIONS = (defer(Post.body), defer(Post.body_html), joinedload(Post.author))

_POSTS, _USERS = Post.__table__, User.__table__
_CORE_FEED_ORDER = (_POSTS.c.published_at.desc(), _POSTS.c.id.desc())
_CORE_FEED_ORDER_REVERSED = (_POSTS.c.published_at.asc(), _POSTS.c.id.asc())
#: The post columns a feed item carries; the author comes as ``author_username``.
_FEED_POST_COLUMNS = (
    "id",
    "title",
    "slug",
    "body",
    "status",
    "published_at",
    "author_id",
    "version",
    "deleted_at",
    "date_added",
    "date_updated",
    "added_by",
    "updated_by",
)

#: The post columns a page's list shows (:class:`FeedSummary`).
_FEED_SUMMARY_COLUMNS = ("id", "title", "excerpt", "published_at", "date_updated")


@dataclass(frozen=True, slots=True)
class FeedAuthor:
    """Who wrote a post of the feed."""

    id: int
    username: str


@dataclass(frozen=True, slots=True)
class FeedPost:
    """A post of the API's feed, read as a plain row rather than an ORM object.

    It has a post's attributes, so whatever renders a :class:`~app.models.Post` renders
    it too; ``author`` is None when the author's account is soft-deleted.
    """

    id: int
    title: str
    slug: str
    body: str
    status: PostStatus
    published_at: datetime | None
    author_id: int
    version: int
    deleted_at: datetime | None
    date_added: datetime
    date_updated: datetime
    added_by: int
    updated_by: int
    author: FeedAuthor | None


@dataclass(frozen=True, slots=True)
class FeedSummary:
    """A post of the pages' feed, as a list shows it (no body), read as a plain row.

    It has the attributes the pages read of a :class:`~app.models.Post` in a list;
    ``byline`` is None when the author's account is soft-deleted.
    """

    id: int
    title: str
    excerpt: str
    published_at: datetime | None
    date_updated: datetime
    byline: FeedAuthor | None


def feed_counter(author_id: int | ColumnElement[int] | None = None) -> ColumnElement[int]:
    """A subquery reading the exact number of live published posts (of one author or all)."""
    scope = FEED_ALL if author_id is None else author_id
    return func.coalesce(
        select(FeedCount.published).where(FeedCount.author_id == scope).scalar_subquery(), 0
    )


# -- the pages' lists: ORM objects -------------------------------------------------------


def list_user_posts(
    user_id: int, skip: int = 0, limit: int = 20, *, include_drafts: bool = False
) -> Page[Post]:
    """A user's posts, newest first; drafts only when asked (the author's own view)."""
    where = [Post.author_id == user_id]
    if include_drafts:
        return paginate(
            db.session,
            Post,
            where=where,
            order_by=(Post.id.desc(),),
            skip=skip,
            limit=limit,
            options=[joinedload(Post.author)],
        )
    where.append(Post.status == PostStatus.PUBLISHED)
    return paginate(
        db.session,
        Post,
        where=where,
        order_by=FEED_ORDER,
        skip=skip,
        limit=limit,
        options=[joinedload(Post.author)],
        counter=feed_counter(user_id),
        reverse_order_by=FEED_ORDER_REVERSED,
    )


def author_with_posts(username: str, skip: int = 0, limit: int = 20) -> tuple[User, Page[Post]]:
    """The live user called ``username`` (ignoring case) and a page of their published posts.

    One statement reads the author, the window of posts and the total (a later window on
    PostgreSQL reads the total first); NotFound when there is no such live user.
    """
    named = func.lower(User.username) == func.lower(username)
    author_id = select(User.id).where(named).scalar_subquery()
    author, posts = paginate_within(
        db.session,
        select(User).where(named),
        Post,
        where=[Post.author_id == author_id, Post.status == PostStatus.PUBLISHED],
        order_by=FEED_ORDER,
        skip=skip,
        limit=limit,
        options=SUMMARY_OPTIONS,
        counter=feed_counter(author_id),
        reverse_order_by=FEED_ORDER_REVERSED,
        version=CONTENT_VERSION,
    )
    if author is None:
        raise NotFound("user", username)
    return author, posts


def list_deleted_posts(actor: User, skip: int = 0, limit: int = 20) -> Page[Post]:
    """Soft-deleted posts, most recently deleted first (admins only)."""
    require_admin(actor)
    return paginate(
        db.session,
        Post,
        where=[deleted(Post)],
        order_by=(Post.deleted_at.desc(), Post.id.desc()),
        skip=skip,
        limit=limit,
        options=[joinedload(Post.author)],
        include_deleted=True,
    )


# -- the feed as plain rows (the API's and the home page's): Core, no ORM objects -----------


def feed_page(skip: int = 0, limit: int = 20, author_username: str | None = None) -> Page[FeedPost]:
    """The API's feed: published live posts newest first, as :class:`FeedPost`, and the total.

    A window reads the total in the same statement; a later window on PostgreSQL reads it
    first, to know whether to walk in from the far end. The statements are Core, so the
    ORM's soft-delete hook does not see them: they apply :func:`live_rows` themselves.
    """
    with read_connection(db) as connection:
        return _feed_window(
            connection, skip, limit, author_username, _FEED_POST_COLUMNS, _feed_post
        )


def list_published_posts(
    skip: int = 0, limit: int = 20, author_username: str | None = None
) -> Page[FeedSummary]:
    """The pages' feed: published live posts newest first, as :class:`FeedSummary` (what a
    list shows: no body), and the total; read like :func:`feed_page`."""
    with read_connection(db) as connection:
        return _feed_window(
            connection, skip, limit, author_username, _FEED_SUMMARY_COLUMNS, _feed_summary
        )


def _feed_window(
    connection: Connection,
    skip: int,
    limit: int,
    author_username: str | None,
    columns: tuple[str, ...],
    item: Callable[[tuple], ItemT],
) -> Page[ItemT]:
    """A window of the feed on ``connection``, each row (``columns`` of a post, its live
    author's id and username) made an item by ``item``, and the total."""
    if skip < 0 or limit < 1:
        raise ValueError("skip must be >= 0 and limit >= 1")
    where = [_POSTS.c.status == PostStatus.PUBLISHED, live_rows(_POSTS)]
    author_id, version, read_before = None, CONTENT_VERSION, None
    if author_username is not None:
        # The first statement reads the version; the page after it cannot be older.
        author_id, read_before = connection.execute(_live_author_id(author_username)).one()
        if author_id is None:
            return Page(items=[], total=0, skip=skip, limit=limit, version=read_before)
        where.append(_POSTS.c.author_id == author_id)
        version = None
    page = read_window(
        connection,
        select(_POSTS.c.id.label(WINDOW_ID)).where(*where),
        lambda window: _feed_rows(window, columns),
        order_by=_CORE_FEED_ORDER,
        skip=skip,
        limit=limit,
        counter=feed_counter(author_id),
        reverse_order_by=_CORE_FEED_ORDER_REVERSED,
        version=version,
    )
    return Page(
        items=[item(row) for row in page.items],
        total=page.total,
        skip=skip,
        limit=limit,
        version=page.version if read_before is None else read_before,
    )


def _live_author_id(username: str) -> Select[tuple[int | None, int]]:
    """One row: the id of the live user called ``username`` (ignoring case; None if there
    is none) and the content's version."""
    author_id = select(_USERS.c.id).where(
        func.lower(_USERS.c.username) == func.lower(username), live_rows(_USERS)
    )
    return select(author_id.scalar_subquery(), CONTENT_VERSION)


def _feed_rows(window: Subquery, columns: tuple[str, ...]) -> Select[tuple]:
    """``columns`` of the posts whose ids are in ``window``, with the id and username of
    their live author."""
    live_author = (_USERS.c.id == _POSTS.c.author_id) & live_rows(_USERS)
    return (
        select(*(_POSTS.c[name] for name in columns), _USERS.c.id, _USERS.c.username)
        .select_from(
            _POSTS.join(window, _POSTS.c.id == window.c[WINDOW_ID]).outerjoin(_USERS, live_author)
        )
        .where(live_rows(_POSTS))
    )


def _feed_post(row: tuple) -> FeedPost:
    """A :class:`FeedPost` from a row of :func:`_feed_rows` (a trailing total is ignored)."""
    values = dict(zip(_FEED_POST_COLUMNS, row, strict=False))
    return FeedPost(**values, author=_feed_author(row, len(_FEED_POST_COLUMNS)))


def _feed_summary(row: tuple) -> FeedSummary:
    """A :class:`FeedSummary` from a row of :func:`_feed_rows` (a trailing total is ignored)."""
    values = dict(zip(_FEED_SUMMARY_COLUMNS, row, strict=False))
    return FeedSummary(**values, byline=_feed_author(row, len(_FEED_SUMMARY_COLUMNS)))


def _feed_author(row: tuple, at: int) -> FeedAuthor | None:
    """The live author whose id and username a feed row holds from ``at`` on, if any."""
    author_id, username = row[at], row[at + 1]
    return None if author_id is None else FeedAuthor(author_id, username)
