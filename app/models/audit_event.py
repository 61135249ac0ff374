"""The append-only audit trail, chained by SHA-256 hashes.

Each event stores ``hash``, the SHA-256 of its canonical content (:func:`canonical_content`),
which includes ``prev_hash``, the hash of the event before it; the first event's
``prev_hash`` is :data:`GENESIS_HASH`. Changing, removing or reordering any event breaks
the chain, which ``flask audit verify`` detects (:mod:`app.audit`).

Appends are serialised so that concurrent writers never fork the chain: on PostgreSQL a
transaction-scoped advisory lock is held from the first audited write to commit; SQLite
allows one writer at a time anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Connection,
    Index,
    Integer,
    String,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.logging import current_request_id
from app.models.base import Base, utcnow

AUDIT_ACTIONS: Final = ("create", "update", "delete", "restore")
GENESIS_HASH: Final = "0" * 64
#: What the trail shows instead of a secret's value (password hashes and the like).
MASKED: Final = "***"
#: Key of the PostgreSQL advisory lock that serialises appends to the chain.
AUDIT_CHAIN_LOCK_KEY: Final = 0x1A7D_C4A1
HASHED_FIELDS: Final = (
    "occurred_at",
    "entity_type",
    "entity_id",
    "action",
    "changes",
    "actor_id",
    "request_id",
    "prev_hash",
)
_LOCK_HELD = "inkwell.audit_chain_locked"


class AuditEvent(Base):
    """One create, update, soft delete or restore of an entity; never changed afterwards."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[int] = mapped_column(nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), nullable=False
    )
    actor_id: Mapped[int] = mapped_column(nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (
        Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),
        Index("ix_audit_events_actor_id", "actor_id", "id"),
        CheckConstraint("action IN ('create', 'update', 'delete', 'restore')", name="action"),
    )

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.entity_type}:{self.entity_id}>"


@dataclass(frozen=True)
class PendingEvent:
    """An audit event about to be appended (time, request id and hashes are added then)."""

    entity_type: str
    entity_id: int
    action: str
    changes: dict[str, Any]
    actor_id: int


def canonical_content(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: its hashed fields as sorted, compact JSON."""
    content = {field: event[field] for field in HASHED_FIELDS}
    content["occurred_at"] = content["occurred_at"].isoformat()
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an event's canonical content."""
    return hashlib.sha256(canonical_content(event)).hexdigest()


def lock_audit_chain(connection: Connection) -> None:
    """Hold the chain's lock until the transaction ends (PostgreSQL; a no-op on SQLite)."""
    if connection.dialect.name != "postgresql":
        return
    transaction = connection.get_transaction()
    if transaction is not None and connection.info.get(_LOCK_HELD) is transaction:
        return
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK_KEY})
    connection.info[_LOCK_HELD] = connection.get_transaction()


def latest_hash(connection: Connection) -> str:
    """The hash of the newest event, or the genesis hash of an empty trail."""
    table = AuditEvent.__table__
    newest = connection.execute(select(table.c.hash).order_by(table.c.id.desc()).limit(1))
    return newest.scalar() or GENESIS_HASH


def append_events(connection: Connection, events: Sequence[PendingEvent]) -> None:
    """Append ``events`` to the chain in the connection's transaction."""
    if not events:
        return
    lock_audit_chain(connection)
    occurred_at = utcnow()
    request_id = current_request_id()
    request_id = None if request_id == "-" else request_id
    previous = latest_hash(connection)
    rows = []
    for pending in events:
        row = {
            "occurred_at": occurred_at,
            "entity_type": pending.entity_type,
            "entity_id": pending.entity_id,
            "action": pending.action,
            "changes": pending.changes,
            "actor_id": pending.actor_id,
            "request_id": request_id,
            "prev_hash": previous,
        }
        row["hash"] = previous = event_hash(row)
        rows.append(row)
    connection.execute(insert(AuditEvent.__table__), rows)
