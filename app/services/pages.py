"""Pagination: one ``skip``/``limit`` window of a list and its exact total, for every list.

:func:`read_window` is the one way a list is read, by the ORM lists (through
:func:`paginate`) and by the API's Core feed alike:

* the window's ids are picked first (``ids``), which an index covering the filter and the
  order answers with an index-only scan, and only those rows are then read (``rows``);
* the total comes from ``counter`` when one is kept (``feed_counts``), else from a COUNT,
  read in the same statement as the rows (a scalar subquery, evaluated once);
* with a counter and a reverse order, a window past the middle is walked in from the far
  end on PostgreSQL, so that the deepest page is as cheap as the first; only such a
  later window reads its total first, to know from which end to walk.

:func:`paginate_within` reads one record and a window of its children (a post and its
comments, an author and their posts) in that same one statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BindParameter,
    Connection,
    Integer,
    Row,
    Select,
    Subquery,
    bindparam,
    func,
    inspect,
    select,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import ColumnElement

from app.models import INCLUDE_DELETED

ItemT = TypeVar("ItemT")

#: The name of the window's id column, and of the total column of a first window.
WINDOW_ID = "id"
TOTAL = "total"
#: The name of the column that reads ``version`` (see read_window) with the rows.
VERSION = "content_version"


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    """``items`` of one window of a list, with ``total`` counting every match.

    ``version`` is what the ``version`` column of :func:`read_window` read, in the first
    statement of the page (None when none was asked for).
    """

    items: list[ItemT]
    total: int
    skip: int
    limit: int
    version: int | None = None

    @property
    def has_next(self) -> bool:
        """Whether items follow this page."""
        return self.skip + self.limit < self.total

    @property
    def has_prev(self) -> bool:
        """Whether items precede this page."""
        return self.skip > 0


def read_from_the_end(skip: int, total: int, dialect: str) -> bool:
    """Whether a window starting at ``skip`` of ``total`` rows is walked in from the far end.

    Past the middle an index walked backwards reaches the window sooner; only PostgreSQL
    gets such windows, whose offset from the end is computed inside the statement.
    """
    return total // 2 < skip < total and dialect == "postgresql"


def read_window(
    executor: Session | Connection,
    ids: Select[Any],
    rows: Callable[[Subquery], Select[Any]],
    *,
    order_by: Sequence[Any],
    skip: int,
    limit: int,
    counter: ColumnElement[int] | None = None,
    reverse_order_by: Sequence[Any] = (),
    execution_options: Mapping[str, Any] | None = None,
    version: ColumnElement[int] | None = None,
) -> Page[Row[Any]]:
    """One window of a list, in ``order_by`` order, and the list's exact total.

    ``ids`` selects the key of every row of the list as ``id`` (its filter included);
    ``rows(window)`` reads the rows whose ids are in the ``window`` subquery. ``counter``
    is a scalar subquery reading the total kept elsewhere; without it the total is a
    COUNT over ``ids``. The total is read with the rows, as a ``total`` column after the
    row's own, in one statement; only a window that may be walked in from the far end
    reads it first. An empty window (past the end) reads the total on its own.

    ``version``, a scalar subquery (the content's version for an ETag), is read in the
    page's first statement, as a column after the total: never after any of the rows. An
    empty window reads it with the total, after the rows, and keeps it only when that
    total agrees that the window is empty.
    """
    if skip < 0 or limit < 1:
        raise ValueError("skip must be >= 0 and limit >= 1")
    options = dict(execution_options or {})
    reversible = counter is not None and bool(reverse_order_by) and skip > 0
    if reversible and _dialect(executor) == "postgresql":
        return _read_window_from_either_end(
            executor, ids, rows, order_by, reverse_order_by, skip, limit, counter, options, version
        )
    total = counter if counter is not None else _count(ids)
    window = ids.order_by(*order_by).offset(_written(skip)).limit(_written(limit))
    window = window.subquery("window")
    statement = _with_version(rows(window).add_columns(total.label(TOTAL)), version)
    items = executor.execute(statement.order_by(*order_by).execution_options(**options)).all()
    if not items:
        found, read_version = _total(executor, ids, counter, options, version)
        if found > skip:  # rows came in between: the version, read later, cannot name them
            read_version = None
    else:
        found, read_version = items[0].total, _version_of(items[0], version)
    return Page(items=list(items), total=found, skip=skip, limit=limit, version=read_version)


def _with_version(statement: Select[Any], version: ColumnElement[int] | None) -> Select[Any]:
    """``statement`` reading ``version`` too, as its last column, if there is one."""
    return statement if version is None else statement.add_columns(version.label(VERSION))


def _version_of(row: Row[Any], version: ColumnElement[int] | None) -> int | None:
    """What ``row`` read of ``version`` (None when it was not asked for)."""
    return None if version is None else getattr(row, VERSION)


def _read_window_from_either_end(
    executor: Session | Connection,
    ids: Select[Any],
    rows: Callable[[Subquery], Select[Any]],
    order_by: Sequence[Any],
    reverse_order_by: Sequence[Any],
    skip: int,
    limit: int,
    counter: ColumnElement[int],
    options: Mapping[str, Any],
    version: ColumnElement[int] | None,
) -> Page[Row[Any]]:
    """A later window of a counted list, walked in from the nearer end (the total and the
    version first)."""
    total, read_version = _total(executor, ids, counter, options, version)
    if read_from_the_end(skip, total, _dialect(executor)):
        # The count is read again inside this statement, so it matches the snapshot the
        # ids come from: rows behind the window = count - skip - limit, exactly. The LIMIT
        # stays a constant so that the planner expects a handful of ids.
        window_ids = (
            ids.order_by(*reverse_order_by)
            .offset(func.greatest(counter - skip - limit, 0))
            .limit(_written(min(limit, total - skip)))
        )
    else:
        window_ids = ids.order_by(*order_by).offset(_written(skip)).limit(_written(limit))
    statement = rows(window_ids.subquery("window")).add_columns(counter.label(TOTAL))
    items = executor.execute(statement.order_by(*order_by).execution_options(**options)).all()
    return Page(items=list(items), total=total, skip=skip, limit=limit, version=read_version)


def _written(value: int) -> BindParameter[int]:
    """``value`` written into the statement's text rather than sent as a parameter.

    PostgreSQL plans a prepared statement once for all values (a generic plan) only when
    that plan looks as cheap as planning for each; a LIMIT it cannot see makes a window
    look expensive, so every execution was planned anew (up to 2 ms for a page, more than
    running it). With the window's bounds in the text, the usual windows (the first page,
    20 rows) are statements of their own that psycopg prepares and PostgreSQL plans once.
    """
    return bindparam(None, value, type_=Integer, literal_execute=True)


def _count(ids: Select[Any]) -> ColumnElement[int]:
    """A scalar subquery counting the rows of ``ids``."""
    return select(func.count()).select_from(ids.subquery()).scalar_subquery()


def _total(
    executor: Session | Connection,
    ids: Select[Any],
    counter: ColumnElement[int] | None,
    options: Mapping[str, Any],
    version: ColumnElement[int] | None,
) -> tuple[int, int | None]:
    """The list's exact total (read from ``counter``, else counted over ``ids``), and
    ``version`` if asked for, in one statement."""
    statement = _with_version(select(counter if counter is not None else _count(ids)), version)
    row = executor.execute(statement.execution_options(**options)).one()
    return row[0] or 0, _version_of(row, version)


def _dialect(executor: Session | Connection) -> str:
    """The name of the database dialect ``executor`` talks to."""
    if isinstance(executor, Connection):
        return executor.dialect.name
    return executor.get_bind().dialect.name


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
) -> Page[ItemT]:
    """:func:`read_window` over ORM objects of ``entity`` matching ``where``.

    The soft-delete hook filters both the ids and the rows unless ``include_deleted``;
    ``options`` (eager loads) apply to the rows.
    """
    key = inspect(entity).primary_key[0]
    ids = select(key.label(WINDOW_ID)).select_from(entity).where(*where)

    def objects(window: Subquery) -> Select[Any]:
        """The ``entity`` objects whose ids are in ``window``."""
        return select(entity).join(window, key == window.c[WINDOW_ID]).options(*options)

    page = read_window(
        session,
        ids,
        objects,
        order_by=order_by,
        skip=skip,
        limit=limit,
        counter=counter,
        reverse_order_by=reverse_order_by,
        execution_options={INCLUDE_DELETED: True} if include_deleted else None,
    )
    return replace(page, items=[row[0] for row in page.items])


def paginate_within(
    session: Session,
    parent: Select[Any],
    entity: type[ItemT],
    *,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    skip: int,
    limit: int,
    options: Sequence[ExecutableOption] = (),
    counter: ColumnElement[int] | None = None,
    reverse_order_by: Sequence[Any] = (),
    version: ColumnElement[int] | None = None,
) -> tuple[Any | None, Page[ItemT]]:
    """One record and a window of its children (``entity`` matching ``where``), in one statement.

    ``parent`` selects at most one ORM object (its eager loads included); the window's
    rows are outer-joined to it, so a parent without children still comes back. The
    parent is None when ``parent`` finds nothing (the page is then empty).
    """
    key = inspect(entity).primary_key[0]
    ids = select(key.label(WINDOW_ID)).select_from(entity).where(*where)
    parent_entity = parent.column_descriptions[0]["entity"]

    def parent_and_children(window: Subquery) -> Select[Any]:
        """The parent, joined to each ``entity`` object whose id is in ``window``."""
        return (
            parent.add_columns(entity)
            .outerjoin_from(parent_entity, window, true())
            .outerjoin(entity, key == window.c[WINDOW_ID])
            .options(*options)
        )

    page = read_window(
        session,
        ids,
        parent_and_children,
        order_by=order_by,
        skip=skip,
        limit=limit,
        counter=counter,
        reverse_order_by=reverse_order_by,
        version=version,
    )
    record = page.items[0][0] if page.items else None
    return record, replace(page, items=[row[1] for row in page.items if row[1] is not None])
