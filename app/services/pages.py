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
    total: int | None = None,
    deferred_join: bool = False,
) -> Page[ItemT]:
    """One window of ``entity`` rows matching ``where`` in ``order_by`` order, and their count.

    ``total``, when the caller knows it exactly (e.g. from ``feed_counts``), saves the
    COUNT. ``deferred_join`` first picks the window's ids alone, which an index covering
    ``where`` and ``order_by`` answers with an index-only scan however deep ``skip`` goes,
    and only then reads those rows.
    """
    if skip < 0 or limit < 1:
        raise ValueError("skip must be >= 0 and limit >= 1")
    execution_options = {INCLUDE_DELETED: True} if include_deleted else {}
    if total is None:
        total = session.scalar(
            select(func.count())
            .select_from(entity)
            .where(*where)
            .execution_options(**execution_options)
        )
    if deferred_join:
        key = inspect(entity).primary_key[0]
        window = (
            select(key.label("id"))
            .select_from(entity)
            .where(*where)
            .order_by(*order_by)
            .offset(skip)
            .limit(limit)
            .subquery("window")
        )
        statement = select(entity).join(window, key == window.c.id)
    else:
        statement = select(entity).where(*where).offset(skip).limit(limit)
    items = session.scalars(
        statement.order_by(*order_by).options(*options).execution_options(**execution_options)
    ).all()
    return Page(items=list(items), total=total or 0, skip=skip, limit=limit)
