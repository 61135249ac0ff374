"""Comments: adding, soft-deleting and restoring them, and listing a post's comments."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.markdown import render
from app.models import INCLUDE_DELETED, Comment, Post, User
from app.models.soft_delete import deleted
from app.services.audit_service import CONTENT_VERSION
from app.services.concurrency import (
    ExpectedVersion,
    check_version,
    record_tag,
    stale_write_error,
)
from app.services.errors import Conflict, NotFound, PermissionDenied, StaleVersion
from app.services.pages import Page, paginate, paginate_within
from app.services.permissions import require_admin
from app.services.post_service import can_view, get_post, may_view
from app.services.transactions import transaction


def can_delete(comment: Comment, actor: User | None) -> bool:
    """The comment's author, the post's author and admins may delete a comment."""
    return actor is not None and (
        actor.is_admin or actor.id in (comment.author_id, comment.post.author_id)
    )


def _load(comment_id: int, *, include_deleted: bool = False) -> Comment | None:
    """The comment with ``comment_id`` freshly read, with author and post; None if absent."""
    statement = (
        select(Comment)
        .where(Comment.id == comment_id)
        .options(joinedload(Comment.author), joinedload(Comment.post))
        .execution_options(populate_existing=True)
    )
    if include_deleted:
        statement = statement.execution_options(**{INCLUDE_DELETED: True})
    return db.session.scalar(statement)


def get_comment(comment_id: int, viewer: User | None = None) -> Comment:
    """A visible comment (not deleted, on a post ``viewer`` may see); else NotFound."""
    comment = _load(comment_id)
    if comment is None:
        raise NotFound("comment", comment_id)
    get_post(comment.post_id, viewer)  # a comment is only as visible as its post
    return comment


def current_tag(comment_id: int, viewer: User | None = None) -> str | None:
    """The comment's record ETag as ``viewer`` would get it now, None for a 404; one statement.

    A comment is as visible as its post, so the post's status and author are read too.
    """
    row = db.session.execute(
        select(Comment.version, User.id, Post.status, Post.author_id)
        .join(Post, Post.id == Comment.post_id)
        .outerjoin(User, User.id == Comment.author_id)
        .where(Comment.id == comment_id)
    ).first()
    if row is None or not may_view(row[2], row[3], viewer):
        return None
    return record_tag("comment", comment_id, row[0], author_shown=row[1] is not None)


def add_comment(post_id: int, author: User, body: str) -> Comment:
    """Comment on a post the author can see."""
    with transaction(author.id) as session:
        post = get_post(post_id, author)
        rendering = render(body)  # once, as it is written: pages show the stored HTML
        comment = Comment(
            post_id=post.id,
            author_id=author.id,
            body=body,
            body_html=rendering.html,
            rendered_with=rendering.rendered_with,
        )
        session.add(comment)
    return comment


def delete_comment(
    comment_id: int, actor: User, expected_version: ExpectedVersion = None
) -> Comment:
    """Soft-delete a comment (its author, the post's author or an admin)."""
    try:
        with transaction(actor.id) as session:
            comment = get_comment(comment_id, actor)
            if not can_delete(comment, actor):
                raise PermissionDenied(
                    "Only the comment's author, the post's author or an admin may delete it"
                )
            check_version("comment", comment, expected_version)
            comment.soft_delete()
            session.flush()
    except StaleDataError:
        raise stale_write_error("comment", comment_id, expected_version) from None
    return comment


def restore_comment(comment_id: int, actor: User) -> Comment:
    """Undo a comment's soft delete (admins only)."""
    require_admin(actor)
    try:
        with transaction(actor.id) as session:
            comment = _load(comment_id, include_deleted=True)
            if comment is None:
                raise NotFound("comment", comment_id)
            if not comment.is_deleted:
                raise Conflict(f"Comment {comment_id} is not deleted")
            comment.restore()
            session.flush()
    except StaleDataError:
        raise StaleVersion("comment", comment_id) from None
    return comment


def post_with_comments(
    post_id: int, skip: int = 0, limit: int = 20, viewer: User | None = None
) -> tuple[Post, Page[Comment]]:
    """A visible post and a page of its live comments (oldest first), authors loaded.

    One statement reads the post, the window of comments and their total.
    """
    post, comments = paginate_within(
        db.session,
        select(Post).where(Post.id == post_id).options(joinedload(Post.author)),
        Comment,
        where=[Comment.post_id == post_id],
        order_by=(Comment.id.asc(),),
        skip=skip,
        limit=limit,
        options=[joinedload(Comment.author)],
        version=CONTENT_VERSION,
    )
    if post is None or not can_view(post, viewer):
        raise NotFound("post", post_id)
    return post, comments


def list_post_comments(
    post_id: int, skip: int = 0, limit: int = 20, viewer: User | None = None
) -> Page[Comment]:
    """A visible post's live comments, oldest first, with their authors loaded."""
    return post_with_comments(post_id, skip, limit, viewer)[1]


def list_deleted_comments(actor: User, skip: int = 0, limit: int = 20) -> Page[Comment]:
    """Soft-deleted comments, most recently deleted first (admins only)."""
    require_admin(actor)
    return paginate(
        db.session,
        Comment,
        where=[deleted(Comment)],
        order_by=(Comment.deleted_at.desc(), Comment.id.desc()),
        skip=skip,
        limit=limit,
        options=[joinedload(Comment.author), joinedload(Comment.post).joinedload(Post.author)],
        include_deleted=True,
    )
