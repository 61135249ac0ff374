"""Declarative base, the audit columns every model carries, and who is acting.

The audit columns (``date_added``, ``date_updated``, ``added_by``, ``updated_by``,
``deleted_at``, ``deleted_by``) are stamped in one place, :mod:`app.models.stamping`
for unit-of-work flushes and :mod:`app.models.bulk` for ORM bulk ``insert()`` /
``update()`` statements. Models and views never assign them. Which rows are live is
decided in :mod:`app.models.soft_delete`.

Actors are plain user ids, taken from :mod:`app.context` (``acting_as``); outside such a
block (CLI commands, migrations, maintenance) the actor is :data:`SYSTEM_ACTOR_ID`. The
actor columns have no foreign key so that this system actor needs no row in ``users``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import DateTime, Dialect, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry
from sqlalchemy.types import TypeDecorator

from app.context import ACTOR_SELF, SYSTEM_ACTOR_ID, Actor, acting_as, current_actor

__all__ = [
    "ACTOR_SELF",
    "DELETED_ROWS_SQL",
    "LIVE_ROWS_SQL",
    "SYSTEM_ACTOR_ID",
    "Actor",
    "AuditMixin",
    "AuditedModel",
    "Base",
    "UTCDateTime",
    "VersionedMixin",
    "acting_as",
    "attribution",
    "current_actor",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The live-rows condition as SQL text, for partial indexes; :func:`app.models.soft_delete.live`
#: is the same condition as an expression (a test holds the two equal).
LIVE_ROWS_SQL = "deleted_at IS NULL"
#: Its opposite, for the admins' indexes of soft-deleted rows.
DELETED_ROWS_SQL = "deleted_at IS NOT NULL"


def utcnow() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


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
    #: Derived columns: computed from the row's content (a stored rendering), not content
    #: themselves. They never appear in audit events, and recomputing them is no write.
    __audit_derived__: ClassVar[frozenset[str]] = frozenset()

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


AccountT = TypeVar("AccountT", bound=AuditMixin)


def attribution(author: AccountT | None) -> AccountT | None:
    """Who a post or comment is shown as written by: nobody once the account is deleted.

    The one rule for every reader (the API's ``author: null``, the pages' "deleted user"):
    a relationship loaded with ``INCLUDE_DELETED`` (admin views) may still hold a deleted
    account, and this hides it there too. A deactivated account is shown as usual.
    """
    return None if author is None or author.is_deleted else author


class AuditedModel(AuditMixin, Base):
    """Abstract base of every audited, soft-deletable model."""

    __abstract__ = True


class VersionedMixin:
    """An optimistic-concurrency counter (the mapper's ``version_id_col``)."""

    version: Mapped[int] = mapped_column(nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - a declared_attr gets the class
        """Let SQLAlchemy bump ``version`` and refuse stale UPDATEs."""
        return {"version_id_col": cls.version}
