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
from json.encoder import encode_basestring  # type: ignore[attr-defined]
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

from app.context import NO_REQUEST_ID, current_request_id
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
#: From this many events at once (bulk writes such as ``flask seed``), PostgreSQL appends
#: them with COPY rather than INSERT.
COPY_THRESHOLD = 100


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


def _dumps(value: Any) -> str:
    """Compact JSON with sorted keys: the form hashed and stored for ``changes``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _scalar(value: Any) -> str:
    """A JSON scalar, without json.dumps's per-call set-up (this runs for every event)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _dumps(value)


def _canonical(
    event: Mapping[str, Any], changes_json: str, occurred_json: str, request_json: str
) -> bytes:
    """Canonical bytes from an event and its pre-serialised parts (see canonical_content)."""
    return (
        f'{{"action":{_scalar(event["action"])},"actor_id":{_scalar(event["actor_id"])},'
        f'"entity_id":{_scalar(event["entity_id"])},'
        f'"entity_type":{_scalar(event["entity_type"])},"occurred_at":{occurred_json},'
        f'"prev_hash":{_scalar(event["prev_hash"])},"request_id":{request_json},'
        f'"changes":{changes_json}}}'
    ).encode()


def canonical_content(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: one compact JSON object of its hashed fields.

    Keys in a fixed order with ``changes`` last; ``changes`` itself is compact JSON with
    sorted keys, so the same event always gives the same bytes.
    """
    return _canonical(
        event,
        _dumps(event["changes"]),
        _scalar(event["occurred_at"].isoformat()),
        _scalar(event["request_id"]),
    )


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


#: The newest event's id and hash; built once, as every write and every conditional read
#: asks for it (a statement is immutable, and building one costs more than running it).
_CHAIN_HEAD = (
    select(AuditEvent.__table__.c.id, AuditEvent.__table__.c.hash)
    .order_by(AuditEvent.__table__.c.id.desc())
    .limit(1)
)


def chain_head(connection: Connection) -> tuple[int, str]:
    """The id and hash of the newest event, or ``(0, GENESIS_HASH)`` for an empty trail."""
    newest = connection.execute(_CHAIN_HEAD).first()
    return (newest.id, newest.hash) if newest is not None else (0, GENESIS_HASH)


def append_events(connection: Connection, events: Sequence[PendingEvent]) -> None:
    """Append ``events`` to the chain in the connection's transaction.

    Ids are numbered on from the newest event under the chain's lock, not taken from a
    sequence: a rolled-back write then leaves no gap, so ``verify`` can treat any gap in
    the ids as events removed.
    """
    if not events:
        return
    lock_audit_chain(connection)
    occurred_at = utcnow()
    request_id = current_request_id()
    request_id = None if request_id == NO_REQUEST_ID else request_id
    last_id, previous = chain_head(connection)
    occurred_json, request_json = _scalar(occurred_at.isoformat()), _scalar(request_id)
    rows = []
    for number, pending in enumerate(events, start=last_id + 1):
        row = {
            "id": number,
            "occurred_at": occurred_at,
            "entity_type": pending.entity_type,
            "entity_id": pending.entity_id,
            "action": pending.action,
            "changes": pending.changes,
            "actor_id": pending.actor_id,
            "request_id": request_id,
            "prev_hash": previous,
        }
        changes_json = _dumps(pending.changes)
        content = _canonical(row, changes_json, occurred_json, request_json)
        row["hash"] = previous = hashlib.sha256(content).hexdigest()
        rows.append((row, changes_json))
    if connection.dialect.driver == "psycopg" and len(rows) >= COPY_THRESHOLD:
        _copy_rows(connection, rows)
    else:
        connection.execute(insert(AuditEvent.__table__), [row for row, _json in rows])


def _copy_rows(connection: Connection, rows: list[tuple[dict[str, Any], str]]) -> None:
    """Append many events with PostgreSQL's COPY, in the connection's transaction."""
    columns = ["id", *HASHED_FIELDS, "hash"]
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY audit_events ({', '.join(columns)}) FROM STDIN") as copy:
        for row, changes_json in rows:
            copy.write_row([changes_json if name == "changes" else row[name] for name in columns])
