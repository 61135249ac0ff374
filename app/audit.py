"""The audit trail's integrity: walking the hash chain (``flask audit verify``).

How events are appended and hashed lives with the model, in
:mod:`app.models.audit_event`; this module checks a stored chain end to end.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from app.models.audit_event import GENESIS_HASH, AuditEvent, event_hash

VERIFY_BATCH_SIZE = 5000


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain walk: how many events were checked and the first break."""

    checked: int
    broken_event_id: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        """Whether every event matched its hash and linked to the one before."""
        return self.broken_event_id is None


def verify_chain(connection: Connection) -> ChainReport:
    """Walk every event in order; report the first whose link or hash does not match."""
    table = AuditEvent.__table__
    rows = connection.execution_options(yield_per=VERIFY_BATCH_SIZE).execute(
        select(table).order_by(table.c.id)
    )
    previous = GENESIS_HASH
    checked = 0
    for row in rows.mappings():
        if row["prev_hash"] != previous:
            return ChainReport(
                checked, row["id"], "its prev_hash does not match the hash of the event before it"
            )
        if event_hash(row) != row["hash"]:
            return ChainReport(checked, row["id"], "its content does not match its stored hash")
        previous = row["hash"]
        checked += 1
    return ChainReport(checked)
