"""Read-only look-ups the HTML pages need beyond the API's: an author's drafts, actor names."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import INCLUDE_DELETED, Post, PostStatus, User
from app.services.pages import Page, paginate


def list_drafts(author: User, skip: int = 0, limit: int = 20) -> Page[Post]:
    """``author``'s own live drafts, most recently changed first."""
    return paginate(
        db.session,
        Post,
        where=[Post.author_id == author.id, Post.status == PostStatus.DRAFT],
        order_by=(Post.date_updated.desc(), Post.id.desc()),
        skip=skip,
        limit=limit,
        options=[joinedload(Post.author)],
    )


def usernames_by_id(user_ids: Iterable[int]) -> dict[int, str]:
    """The usernames of ``user_ids`` (deleted accounts included), in one query."""
    wanted = {user_id for user_id in user_ids if user_id}
    if not wanted:
        return {}
    rows = db.session.execute(
        select(User.id, User.username)
        .where(User.id.in_(wanted))
        .execution_options(**{INCLUDE_DELETED: True})
    )
    return {user_id: username for user_id, username in rows}
