"""Declarative base, the audit columns every model carries, and who is acting.

The audit columns (``date_added``, ``date_updated``, ``added_by``, ``updated_by``,
``deleted_at``, ``deleted_by``) are stamped in one place, :mod:`app.models.listeners`,
for unit-of-work flushes and for ORM bulk ``insert()`` / ``update()`` statements alike.
Models and views never assign them.

Actors are plain user ids. Outside a request (CLI commands, migrations, tests without a
request) the actor is :data:`SYSTEM_ACTOR_ID`; the actor columns have no foreign key so
that this system actor needs no row in ``users``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from flask import g, has_app_context
from sqlalchemy import DateTime, Dialect, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The actor of writes made outside a request: CLI commands, migrations, maintenance.
SYSTEM_ACTOR_ID: Final = 0


class _SelfActor:
    """Marker: each row created is its own actor (self-registration)."""

    def __repr__(self) -> str:
        return "ACTOR_SELF"


#: Pass to :func:`acting_as` when a new user registers: the new row's own id becomes
#: ``added_by``/``updated_by`` and the actor of its audit event once the id is known.
ACTOR_SELF: Final = _SelfActor()

Actor = int | _SelfActor

_acting_as: ContextVar[Actor | None] = ContextVar("inkwell_acting_as", default=None)


def utcnow() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """Attribute every write inside the block to ``actor`` (a user id or ACTOR_SELF)."""
    token = _acting_as.set(actor)
    try:
        yield
    finally:
        _acting_as.reset(token)


def current_actor() -> Actor:
    """Who is acting: ``acting_as``, else ``g.user_id`` of the request, else the system."""
    actor = _acting_as.get()
    if actor is not None:
        return actor
    if has_app_context():
        user_id = g.get("user_id")
        if isinstance(user_id, int):
            return user_id
    return SYSTEM_ACTOR_ID


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC-aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Always hand back UTC-aware datetimes."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of all models, with constraint names that migrations can rely on."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class AuditMixin:
    """Who created, changed and soft-deleted a row, and when (stamped by the listener)."""

    #: Name of the entity in audit events, e.g. ``"post"``.
    __audit_entity__: ClassVar[str]
    #: Columns whose values never reach the audit trail (shown as ``MASKED``).
    __audit_masked__: ClassVar[frozenset[str]] = frozenset()

    date_added: Mapped[datetime] = mapped_column(nullable=False)
    date_updated: Mapped[datetime] = mapped_column(nullable=False)
    added_by: Mapped[int] = mapped_column(nullable=False)
    updated_by: Mapped[int] = mapped_column(nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_by: Mapped[int | None] = mapped_column(default=None)

    @property
    def is_deleted(self) -> bool:
        """Whether the row is soft-deleted."""
        return self.deleted_at is not None

    def soft_delete(self) -> None:
        """Mark the row deleted; the listener records who and when at the next flush."""
        if self.deleted_at is None:
            self.deleted_at = utcnow()

    def restore(self) -> None:
        """Undo a soft delete."""
        self.deleted_at = None


class AuditedModel(AuditMixin, Base):
    """Abstract base of every audited, soft-deletable model."""

    __abstract__ = True


class VersionedMixin:
    """An optimistic-concurrency counter (the mapper's ``version_id_col``) and its ETag."""

    version: Mapped[int] = mapped_column(nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - a declared_attr gets the class
        """Let SQLAlchemy bump ``version`` and refuse stale UPDATEs."""
        return {"version_id_col": cls.version}

    @property
    def etag(self) -> str:
        """A strong entity tag that changes with every committed write."""
        entity = getattr(self, "__audit_entity__", type(self).__name__.lower())
        return f'"{entity}-{self.id}-v{self.version}"'  # type: ignore[attr-defined]
