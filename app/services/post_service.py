"""Posts: writing, publishing, soft-deleting and restoring them, and the lists that show them."""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

from slugify import slugify
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Integer,
    Row,
    Select,
    String,
    bindparam,
    func,
    select,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from app.database import read_connection
from app.extensions import db
from app.models import AuditEvent, FeedCount, Post, PostStatus, User, utcnow
from app.models.base import UTCDateTime
from app.models.feed_count import FEED_ALL
from app.models.listeners import INCLUDE_DELETED
from app.schemas import POST_LIST_ROW
from app.services import audit_service
from app.services._transaction import conflict_from, transaction, violated_field
from app.services.concurrency import ExpectedVersion, check_version, stale_write_error
from app.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from app.services.pages import Page, paginate, read_from_the_end
from app.services.permissions import require_admin

SLUG_MAX_LENGTH = 200
#: How many numbered variants (``title-2`` ...) are tried before a random suffix is used.
SLUG_NUMBERED_VARIANTS = 20
#: Attempts at creating a post when a concurrent writer takes the same slug.
SLUG_ATTEMPTS = 3
FEED_ORDER = (Post.published_at.desc(), Post.id.desc())
#: The feed read from its far end (oldest first), for windows past its middle.
FEED_ORDER_REVERSED = (Post.published_at.asc(), Post.id.asc())
_POSTS, _USERS, _FEED_COUNTS = Post.__table__, User.__table__, FeedCount.__table__
_FEED_ORDER_CORE = (_POSTS.c.published_at.desc(), _POSTS.c.id.desc())
_FEED_ORDER_REVERSED_CORE = (_POSTS.c.published_at.asc(), _POSTS.c.id.asc())


def _feed_column(name: str) -> ColumnElement[Any]:
    """The column behind one value of a feed row.

    Timestamps and the status come as the driver gives them: ``post_list_item`` renders
    them itself (timestamps in UTC, the status as its text), so the model's conversions to
    UTC and to ``PostStatus`` would only be undone again.
    """
    if name == "author_username":
        return _USERS.c.username.label(name)
    column = _POSTS.c[name]
    if isinstance(column.type, UTCDateTime):
        return type_coerce(column, DateTime(timezone=True)).label(name)
    if name == "status":
        return type_coerce(column, String()).label(name)
    return column


#: What the API shows of a post in a list, in the order ``post_list_item`` reads it.
FEED_COLUMNS = tuple(_feed_column(name) for name in POST_LIST_ROW)


# -- permissions and look-ups --------------------------------------------------------------


def can_view(post: Post, viewer: User | None) -> bool:
    """Published posts are public; drafts only for their author and admins."""
    return post.is_published or can_edit(post, viewer)


def can_edit(post: Post, viewer: User | None) -> bool:
    """Authors edit their own posts; admins edit every post."""
    return viewer is not None and (viewer.is_admin or viewer.id == post.author_id)


def _load(post_id: int, *, include_deleted: bool = False) -> Post | None:
    """The post with ``post_id`` freshly read, with its author; None if not found."""
    statement = (
        select(Post)
        .where(Post.id == post_id)
        .options(joinedload(Post.author))
        .execution_options(populate_existing=True)
    )
    if include_deleted:
        statement = statement.execution_options(**{INCLUDE_DELETED: True})
    return db.session.scalar(statement)


def get_post(post_id: int, viewer: User | None = None) -> Post:
    """The post if it exists, is not deleted, and ``viewer`` may see it; else NotFound."""
    post = _load(post_id)
    if post is None or not can_view(post, viewer):
        raise NotFound("post", post_id)
    return post


def get_post_by_slug(slug: str, viewer: User | None = None) -> Post:
    """Like :func:`get_post`, by slug."""
    post = db.session.scalar(select(Post).where(Post.slug == slug).options(joinedload(Post.author)))
    if post is None or not can_view(post, viewer):
        raise NotFound("post", slug)
    return post


def get_deleted_post(post_id: int, actor: User) -> Post:
    """A post whether deleted or not, for admins (restore, review); else NotFound/403."""
    require_admin(actor)
    post = _load(post_id, include_deleted=True)
    if post is None:
        raise NotFound("post", post_id)
    return post


# -- slugs ---------------------------------------------------------------------------------


def base_slug(title: str) -> str:
    """A URL-safe slug for ``title`` (``post`` when the title has no usable characters)."""
    return slugify(title, max_length=SLUG_MAX_LENGTH - 10, word_boundary=True) or "post"


def unique_slug(title: str) -> str:
    """A slug for ``title`` that no post (deleted ones included) uses yet."""
    base = base_slug(title)
    candidates = [base] + [f"{base}-{n}" for n in range(2, SLUG_NUMBERED_VARIANTS + 2)]
    taken = set(
        db.session.scalars(
            select(Post.slug)
            .where(Post.slug.in_(candidates))
            .execution_options(**{INCLUDE_DELETED: True})
        )
    )
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    return f"{base}-{secrets.token_hex(4)}"


# -- writes --------------------------------------------------------------------------------


def create_post(
    author: User, title: str, body: str, status: PostStatus | str = PostStatus.DRAFT
) -> Post:
    """Write a new post with a unique slug; ``published_at`` is set if it is published."""
    status = PostStatus(status)
    title = title.strip()
    for attempt in range(SLUG_ATTEMPTS):
        post = Post(
            title=title,
            slug=unique_slug(title),
            body=body,
            status=status,
            published_at=utcnow() if status is PostStatus.PUBLISHED else None,
            author_id=author.id,
        )
        try:
            with transaction(author.id) as session:
                session.add(post)
        except IntegrityError as error:
            # Another writer took the slug between our check and our insert: pick again.
            if violated_field(error) == "slug" and attempt + 1 < SLUG_ATTEMPTS:
                continue
            raise (conflict_from(error) or error) from None
        return post
    raise Conflict("Could not find a free slug for this title", field="slug")  # pragma: no cover


def update_post(
    post_id: int,
    actor: User,
    *,
    title: str | None = None,
    body: str | None = None,
    status: PostStatus | str | None = None,
    expected_version: ExpectedVersion = None,
) -> Post:
    """Change a post's title, body or status (author or admin); keeps its slug stable.

    Publishing sets ``published_at`` to now; returning to draft clears it.
    """
    try:
        with transaction(actor.id) as session:
            post = get_post(post_id, actor)
            if not can_edit(post, actor):
                raise PermissionDenied("Only the author or an admin may edit this post")
            check_version("post", post, expected_version)
            if title is not None:
                post.title = title.strip()
            if body is not None:
                post.body = body
            if status is not None:
                _set_status(post, PostStatus(status))
            session.flush()
    except StaleDataError:
        raise stale_write_error("post", post_id, expected_version) from None
    return post


def _set_status(post: Post, status: PostStatus) -> None:
    """Change the status; publishing stamps ``published_at``, unpublishing clears it."""
    if status is post.status:
        return
    post.status = status
    post.published_at = utcnow() if status is PostStatus.PUBLISHED else None


def publish_post(post_id: int, actor: User, expected_version: ExpectedVersion = None) -> Post:
    """Make a draft public."""
    return update_post(
        post_id, actor, status=PostStatus.PUBLISHED, expected_version=expected_version
    )


def delete_post(post_id: int, actor: User, expected_version: ExpectedVersion = None) -> Post:
    """Soft-delete a post (author or admin); its comments disappear with it."""
    try:
        with transaction(actor.id) as session:
            post = get_post(post_id, actor)
            if not can_edit(post, actor):
                raise PermissionDenied("Only the author or an admin may delete this post")
            check_version("post", post, expected_version)
            post.soft_delete()
            session.flush()
    except StaleDataError:
        raise stale_write_error("post", post_id, expected_version) from None
    return post


def restore_post(post_id: int, actor: User) -> Post:
    """Undo a soft delete (admins only); the post's comments come back with it."""
    try:
        with transaction(actor.id) as session:
            post = get_deleted_post(post_id, actor)
            if not post.is_deleted:
                raise Conflict(f"Post {post_id} is not deleted")
            post.restore()
            session.flush()
    except StaleDataError:
        raise StaleVersion("post", post_id) from None
    return post


# -- lists ---------------------------------------------------------------------------------


def list_published_posts(
    skip: int = 0, limit: int = 20, author_username: str | None = None
) -> Page[Post]:
    """Published posts, newest first (``published_at`` desc, id desc), with authors loaded."""
    where = [Post.status == PostStatus.PUBLISHED]
    author_id = None
    if author_username is not None:
        author_id = db.session.scalar(
            select(User.id).where(func.lower(User.username) == func.lower(author_username))
        )
        if author_id is None:
            return Page(items=[], total=0, skip=skip, limit=limit)
        where.append(Post.author_id == author_id)
    return paginate(
        db.session,
        Post,
        where=where,
        order_by=FEED_ORDER,
        skip=skip,
        limit=limit,
        options=[joinedload(Post.author)],
        counter=feed_counter(author_id),
        reverse_order_by=FEED_ORDER_REVERSED,
        deferred_join=True,
    )


# -- the API's feed: Core rows, no ORM objects ---------------------------------------------


def feed_page(skip: int = 0, limit: int = 20, author_username: str | None = None) -> Page[Row]:
    """The API's feed: published live posts newest first, as plain rows, and the exact total.

    Each row holds the columns of :data:`FEED_COLUMNS`. The first window reads the total
    in the same statement; a later window reads it first, to know whether to walk in from
    the far end (see :func:`paginate`). The statements are Core, so the global soft-delete
    hook does not see them: they exclude deleted posts and authors themselves.
    """
    if skip < 0 or limit < 1:
        raise ValueError("skip must be >= 0 and limit >= 1")
    with read_connection(db) as connection:
        return _feed_window(connection, skip, limit, author_username)


def _feed_window(
    connection: Connection, skip: int, limit: int, author_username: str | None
) -> Page[Row]:
    """:func:`feed_page` on ``connection``."""
    params: dict[str, Any] = {"skip": skip, "limit": limit}
    by_author = author_username is not None
    if by_author:
        author_id = connection.scalar(_live_author_id(), {"username": author_username})
        if author_id is None:
            return Page(items=[], total=0, skip=skip, limit=limit)
        params["author_id"] = author_id
    if skip == 0:
        rows = connection.execute(_feed_rows(by_author, with_total=True), params).all()
        total = rows[0].total if rows else _read_feed_total(connection, params, by_author)
        return Page(items=rows, total=total, skip=skip, limit=limit)
    total = _read_feed_total(connection, params, by_author)
    far_end = read_from_the_end(skip, total, connection.dialect.name)
    if far_end:
        params["far_limit"] = min(limit, total - skip)
    rows = connection.execute(_feed_rows(by_author, far_end=far_end), params).all()
    return Page(items=rows, total=total, skip=skip, limit=limit)


@cache
def _live_author_id() -> Select[tuple[int]]:
    """The id of the live user named ``:username`` (ignoring case)."""
    return select(_USERS.c.id).where(
        func.lower(_USERS.c.username) == func.lower(bindparam("username", type_=String)),
        _USERS.c.deleted_at.is_(None),
    )


def _feed_counter_core(by_author: bool) -> ColumnElement[int]:
    """:func:`feed_counter` for Core statements: of ``:author_id``, or of the whole feed."""
    scope = bindparam("author_id", type_=Integer) if by_author else FEED_ALL
    counts = _FEED_COUNTS.c
    return func.coalesce(
        select(counts.published).where(counts.author_id == scope).scalar_subquery(), 0
    )


@cache
def _feed_total(by_author: bool) -> Select[tuple[int]]:
    """The exact feed total, of ``:author_id`` or of everyone."""
    return select(_feed_counter_core(by_author))


def _read_feed_total(connection: Connection, params: dict[str, Any], by_author: bool) -> int:
    """The exact feed total (of ``params["author_id"]`` when ``by_author``) on ``connection``."""
    return connection.scalar(_feed_total(by_author), params) or 0


@cache
def _feed_rows(by_author: bool, *, with_total: bool = False, far_end: bool = False) -> Select[Any]:
    """The rows of one feed window, ``:skip`` and ``:limit``, built once per shape.

    The window's ids come first (an index-only scan of ``ix_posts_feed``), then only those
    rows are read. ``far_end`` walks the index backwards: ``:far_limit`` ids ending
    ``:skip`` rows from the newest, offset computed from the counter inside the statement
    so that it matches the snapshot. ``with_total`` adds the total as a column.
    """
    where = [_POSTS.c.status == PostStatus.PUBLISHED, _POSTS.c.deleted_at.is_(None)]
    if by_author:
        where.append(_POSTS.c.author_id == bindparam("author_id", type_=Integer))
    counter = _feed_counter_core(by_author)
    # Offsets reach 2**63 - 1 (see Pagination): 64-bit parameters, as the ORM would pick.
    skip, limit = bindparam("skip", type_=BigInteger), bindparam("limit", type_=BigInteger)
    ids = select(_POSTS.c.id).where(*where)
    if far_end:
        ids = (
            ids.order_by(*_FEED_ORDER_REVERSED_CORE)
            .offset(func.greatest(counter - skip - limit, 0))
            .limit(bindparam("far_limit", type_=BigInteger))
        )
    else:
        ids = ids.order_by(*_FEED_ORDER_CORE).offset(skip).limit(limit)
    window = ids.subquery("window")
    live_author = (_USERS.c.id == _POSTS.c.author_id) & _USERS.c.deleted_at.is_(None)
    columns = [*FEED_COLUMNS, counter.label("total")] if with_total else FEED_COLUMNS
    return (
        select(*columns)
        .select_from(_POSTS.join(window, _POSTS.c.id == window.c.id).outerjoin(_USERS, live_author))
        .where(_POSTS.c.deleted_at.is_(None))
        .order_by(*_FEED_ORDER_CORE)
    )


def feed_counter(author_id: int | None = None) -> ColumnElement[int]:
    """A subquery reading the exact number of live published posts (of one author or all)."""
    scope = FEED_ALL if author_id is None else author_id
    return func.coalesce(
        select(FeedCount.published).where(FeedCount.author_id == scope).scalar_subquery(), 0
    )


def feed_total(author_id: int | None = None) -> int:
    """Live published posts, of one author or of all: exact, read from ``feed_counts``."""
    return db.session.scalar(select(feed_counter(author_id))) or 0


def list_user_posts(
    user_id: int, skip: int = 0, limit: int = 20, *, include_drafts: bool = False
) -> Page[Post]:
    """A user's posts, newest first; drafts only when asked (the author's own view)."""
    where = [Post.author_id == user_id]
    if include_drafts:
        order_by, counter, reverse = (Post.id.desc(),), None, ()
    else:
        where.append(Post.status == PostStatus.PUBLISHED)
        order_by, counter, reverse = FEED_ORDER, feed_counter(user_id), FEED_ORDER_REVERSED
    return paginate(
        db.session,
        Post,
        where=where,
        order_by=order_by,
        skip=skip,
        limit=limit,
        options=[joinedload(Post.author)],
        counter=counter,
        reverse_order_by=reverse,
        deferred_join=True,
    )


def list_deleted_posts(actor: User, skip: int = 0, limit: int = 20) -> Page[Post]:
    """Soft-deleted posts, most recently deleted first (admins only)."""
    require_admin(actor)
    return paginate(
        db.session,
        Post,
        where=[Post.deleted_at.is_not(None)],
        order_by=(Post.deleted_at.desc(), Post.id.desc()),
        skip=skip,
        limit=limit,
        options=[joinedload(Post.author)],
        include_deleted=True,
    )


def post_history(post_id: int, actor: User, skip: int = 0, limit: int = 20) -> Page[AuditEvent]:
    """A post's audit events, newest first (its author or an admin; deleted posts for admins)."""
    post = _load(post_id, include_deleted=actor.is_admin)
    if post is None or not can_view(post, actor):
        raise NotFound("post", post_id)
    if not can_edit(post, actor):
        raise PermissionDenied("Only the author or an admin may see this post's history")
    return audit_service.entity_events("post", post_id, skip=skip, limit=limit)
