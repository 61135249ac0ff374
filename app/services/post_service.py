"""Posts: who may see and edit them, writing, publishing, soft-deleting and restoring them.

The lists of posts live in :mod:`app.services.feed_service`.
"""

from __future__ import annotations

import secrets

from slugify import slugify
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.markdown import render
from app.models import INCLUDE_DELETED, AuditEvent, Post, PostStatus, User, utcnow
from app.services import audit_service
from app.services.concurrency import (
    ExpectedVersion,
    check_version,
    record_tag,
    stale_write_error,
)
from app.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from app.services.pages import Page
from app.services.permissions import require_admin
from app.services.transactions import conflict_from, transaction, violated_field

SLUG_MAX_LENGTH = 200
#: How many numbered variants (``title-2`` ...) are tried before a random suffix is used.
SLUG_NUMBERED_VARIANTS = 20
#: Attempts at creating a post when a concurrent writer takes the same slug.
SLUG_ATTEMPTS = 3


# -- permissions and look-ups --------------------------------------------------------------


def can_view(post: Post, viewer: User | None) -> bool:
    """Published posts are public; drafts only for their author and admins."""
    return may_view(post.status, post.author_id, viewer)


def can_edit(post: Post, viewer: User | None) -> bool:
    """Authors edit their own posts; admins edit every post."""
    return may_edit(post.author_id, viewer)


def may_view(status: PostStatus, author_id: int, viewer: User | None) -> bool:
    """:func:`can_view` for a post known by its status and author only."""
    return status == PostStatus.PUBLISHED or may_edit(author_id, viewer)


def may_edit(author_id: int, viewer: User | None) -> bool:
    """:func:`can_edit` for a post known by its author only."""
    return viewer is not None and (viewer.is_admin or viewer.id == author_id)


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


def current_tag(post_id: int, viewer: User | None = None) -> str | None:
    """The post's record ETag as ``viewer`` would get it now, None for a 404; one statement.

    Reads only what the tag names (version, author shown or not) and what decides whether
    ``viewer`` may see the post, so that an unchanged post costs no full read.
    """
    row = db.session.execute(
        select(Post.version, Post.status, Post.author_id, User.id)
        .outerjoin(User, User.id == Post.author_id)
        .where(Post.id == post_id)
    ).first()
    if row is None or not may_view(row[1], row[2], viewer):
        return None
    return record_tag("post", post_id, row[0], author_shown=row[3] is not None)


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


def store_rendering(post: Post) -> None:
    """Render the body once, as it is written: pages show the stored HTML and excerpt."""
    rendering = render(post.body)
    post.body_html = rendering.html
    post.excerpt = rendering.excerpt
    post.rendered_with = rendering.rendered_with


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
        store_rendering(post)
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
                store_rendering(post)
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


# -- history -------------------------------------------------------------------------------


def post_history(post_id: int, actor: User, skip: int = 0, limit: int = 20) -> Page[AuditEvent]:
    """A post's audit events, newest first (its author or an admin; deleted posts for admins)."""
    post = _load(post_id, include_deleted=actor.is_admin)
    if post is None or not can_view(post, actor):
        raise NotFound("post", post_id)
    if not can_edit(post, actor):
        raise PermissionDenied("Only the author or an admin may see this post's history")
    return audit_service.entity_events("post", post_id, skip=skip, limit=limit)
