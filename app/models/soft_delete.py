"""Soft delete: the one live-rows rule, and the hook that applies it to every ORM read.

A row is live while its ``deleted_at`` is NULL; a comment is live only while its post is
live too. :func:`live_rows` spells that rule for an ORM entity (or an alias of one) and
for a Core table alike, so the ORM's global criteria and the Core statements of the
feed cannot drift apart. The partial indexes carry the same condition as text
(:data:`~app.models.base.LIVE_ROWS_SQL`).

Every ORM SELECT, relationship loads included, gets the rule through the
``do_orm_execute`` hook below unless it opts out with ``INCLUDE_DELETED`` (admin views,
restore, uniqueness checks). Core statements do not pass through that hook: they call
:func:`live_rows` themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import FromClause, and_, event, exists, inspect
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement

from app.models.base import AuditMixin
from app.models.comment import Comment
from app.models.post import Post

#: Execution option that lets a statement see soft-deleted rows (admin views, restore).
INCLUDE_DELETED = "include_deleted"

_POSTS = Post.__table__
_COMMENTS = Comment.__table__


def _column(source: Any, name: str) -> ColumnElement[Any]:
    """Column ``name`` of a Core table (or alias) or of an ORM entity (or alias)."""
    if isinstance(source, FromClause):
        return source.c[name]
    return getattr(source, name)


def _is_comments(source: Any) -> bool:
    """Whether ``source`` reads the comments table (as a table, an entity or an alias)."""
    if isinstance(source, FromClause):
        return source.is_derived_from(_COMMENTS)
    return issubclass(inspect(source).mapper.class_, Comment)


def live(source: Any) -> ColumnElement[bool]:
    """``deleted_at IS NULL`` for ``source``: the row itself is not soft-deleted."""
    return _column(source, "deleted_at").is_(None)


def deleted(source: Any) -> ColumnElement[bool]:
    """``deleted_at IS NOT NULL`` for ``source``: the row itself is soft-deleted."""
    return _column(source, "deleted_at").is_not(None)


def on_live_post(comments: Any) -> ColumnElement[bool]:
    """The comment's post exists and is live: comments disappear with their post."""
    return (
        exists()
        .where(_POSTS.c.id == _column(comments, "post_id"), live(_POSTS))
        .correlate_except(_POSTS)
    )


def live_rows(source: Any) -> ColumnElement[bool]:
    """Everything a row of ``source`` must meet to be shown: live, and for comments a live post."""
    if _is_comments(source):
        return and_(live(source), on_live_post(source))
    return live(source)


#: :func:`live_rows` as loader criteria, aliases included: :func:`live` for every audited
#: model and :func:`on_live_post` for comments. Two options rather than one call of
#: ``live_rows``: SQLAlchemy traces these lambdas with a stand-in for the entity, which
#: cannot tell a comment from a post.
_HIDE_DELETED = (
    with_loader_criteria(AuditMixin, lambda cls: live(cls), include_aliases=True),
    with_loader_criteria(Comment, lambda cls: on_live_post(cls), include_aliases=True),
)


@event.listens_for(Session, "do_orm_execute")
def hide_deleted_rows(state: ORMExecuteState) -> None:
    """Add the live-rows criteria to every ORM SELECT that does not opt out."""
    if (
        state.is_select
        and not state.is_column_load
        and not state.execution_options.get(INCLUDE_DELETED)
    ):
        state.statement = state.statement.options(*_HIDE_DELETED)
