"""A page of results: the items of one ``skip``/``limit`` window and the exact total."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import ColumnElement

from app.models.listeners import INCLUDE_DELETED

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    """``items`` of one window of a list, with ``total`` counting every match."""

    items: list[ItemT]
    total: int
    skip: int
    limit: int

    @property
    def has_next(self) -> bool:
        """Whether items follow this page."""
        return self.skip + self.limit < self.total

    @property
    def has_prev(self) -> bool:
        """Whether items precede this page."""
        return self.skip > 0


def paginate(
    session: Session,
    entity: type[ItemT],
    *,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    skip: int,
    limit: int,
    options: Sequence[ExecutableOption] = (),
    include_deleted: bool = False,
    counter: ColumnElement[int] | None = None,
    reverse_order_by: Sequence[Any] = (),
    deferred_join: bool = False,
) -> Page[ItemT]:
    """One window of ``entity`` rows matching ``where`` in ``order_by`` order, and their count.

    ``counter``, a subquery reading the exact count kept elsewhere (``feed_counts``),
    saves the COUNT. ``deferred_join`` first picks the window's ids alone, which an index
    covering ``where`` and ``order_by`` answers with an index-only scan, and only then
    reads those rows. With ``counter`` and ``reverse_order_by`` too, a window past the
    middle is walked in from the far end on PostgreSQL, so the deepest page is as cheap
    as the first.
    """
    if skip < 0 or limit < 1:
        raise ValueError("skip must be >= 0 and limit >= 1")
    execution_options = {INCLUDE_DELETED: True} if include_deleted else {}
    if counter is not None:
        total = session.scalar(select(counter)) or 0
    else:
        total = session.scalar(
            select(func.count())
            .select_from(entity)
            .where(*where)
            .execution_options(**execution_options)
        )
    if deferred_join:
        key = inspect(entity).primary_key[0]
        ids = select(key.label("id")).select_from(entity).where(*where)
        from_the_end = (
            counter is not None
            and reverse_order_by
            and read_from_the_end(skip, total, session.get_bind().dialect.name)
        )
        if from_the_end:
            # The count is read again inside this statement, so it matches the snapshot
            # the ids come from: rows behind the window = count - skip - limit, exactly.
            # The LIMIT stays a constant so that the planner expects a handful of ids.
            ids = (
                ids.order_by(*reverse_order_by)
                .offset(func.greatest(counter - skip - limit, 0))
                .limit(min(limit, total - skip))
            )
        else:
            ids = ids.order_by(*order_by).offset(skip).limit(limit)
        window = ids.subquery("window")
        statement = select(entity).join(window, key == window.c.id)
    else:
        statement = select(entity).where(*where).offset(skip).limit(limit)
    items = session.scalars(
        statement.order_by(*order_by).options(*options).execution_options(**execution_options)
    ).all()
    return Page(items=list(items), total=total or 0, skip=skip, limit=limit)


def read_from_the_end(skip: int, total: int, dialect: str) -> bool:
    """Whether a window starting at ``skip`` of ``total`` rows is walked in from the far end.

    Past the middle an index walked backwards reaches the window sooner; only PostgreSQL
    gets such windows, whose offset from the end is computed inside the statement.
    """
    return total // 2 < skip < total and dialect == "postgresql"
