"""The audit trail's integrity: walking the hash chain and anchoring its head outside.

How events are appended and hashed lives with the model, in
:mod:`app.models.audit_event`; this module checks a stored chain end to end
(``flask audit verify``) and keeps anchors, copies of the chain's head written to an
append-only file outside the database (``flask audit anchor``). The chain alone shows any
change inside the trail; the anchors also show its newest events removed, or the whole
trail rewritten, after they were taken.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from app.models.audit_event import GENESIS_HASH, AuditEvent, chain_head, event_hash
from app.models.base import utcnow

VERIFY_BATCH_SIZE = 5000


class AnchorFileError(Exception):
    """The anchor file has a line that is not an anchor."""


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment: the newest event's id and hash (0 and genesis if empty)."""

    event_id: int
    hash: str
    anchored_at: str
    line: int = 0

    def to_line(self) -> str:
        """The anchor as one JSON line of the anchor file."""
        record = {"event_id": self.event_id, "hash": self.hash, "anchored_at": self.anchored_at}
        return json.dumps(record, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain walk: events checked, and the first break or failed anchor."""

    checked: int
    broken_event_id: int | None = None
    reason: str | None = None
    failed_anchor: Anchor | None = None
    anchors_checked: int = 0

    @property
    def intact(self) -> bool:
        """Whether every event matched its hash and link, and every anchor still holds."""
        return self.broken_event_id is None and self.failed_anchor is None


def verify_chain(connection: Connection, anchors: list[Anchor] | None = None) -> ChainReport:
    """Walk every event in order; report the first broken link, gap or anchor."""
    anchors = anchors or []
    wanted = {anchor.event_id for anchor in anchors}
    seen: dict[int, str] = {0: GENESIS_HASH}
    table = AuditEvent.__table__
    rows = connection.execution_options(yield_per=VERIFY_BATCH_SIZE).execute(
        select(table).order_by(table.c.id)
    )
    previous, expected_id, checked = GENESIS_HASH, 1, 0
    for row in rows.mappings():
        if row["id"] != expected_id:
            missing = (
                f"{expected_id}"
                if row["id"] == expected_id + 1
                else (f"{expected_id} to {row['id'] - 1}")
            )
            return ChainReport(checked, row["id"], f"the events before it ({missing}) are missing")
        if row["prev_hash"] != previous:
            return ChainReport(
                checked, row["id"], "its prev_hash does not match the hash of the event before it"
            )
        if event_hash(row) != row["hash"]:
            return ChainReport(checked, row["id"], "its content does not match its stored hash")
        if row["id"] in wanted:
            seen[row["id"]] = row["hash"]
        previous, expected_id, checked = row["hash"], expected_id + 1, checked + 1
    for number, anchor in enumerate(anchors):
        if anchor.event_id not in seen:
            reason = f"it names event {anchor.event_id}, which is no longer in the trail"
            return ChainReport(checked, None, reason, anchor, number)
        if seen[anchor.event_id] != anchor.hash:
            reason = f"event {anchor.event_id} no longer has the hash anchored for it"
            return ChainReport(checked, None, reason, anchor, number)
    return ChainReport(checked, anchors_checked=len(anchors))


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in the file at ``path`` (none when it does not exist yet)."""
    if not path.exists():
        return []
    anchors = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                anchor = Anchor(
                    event_id=int(record["event_id"]),
                    hash=str(record["hash"]),
                    anchored_at=str(record["anchored_at"]),
                    line=number,
                )
            except (ValueError, KeyError, TypeError):
                raise AnchorFileError(f"line {number} of {path} is not an anchor") from None
            anchors.append(anchor)
    return anchors


def anchor_head(connection: Connection, path: Path) -> Anchor:
    """Append the chain's current head to the anchor file at ``path``.

    The file is opened for appending and locked while the line is written, and the write
    reaches the disk (fsync) before this returns: concurrent runs (cron overlapping a manual
    run) each add one whole line, and an anchor reported written survives a crash.
    """
    event_id, head_hash = chain_head(connection)
    anchor = Anchor(event_id, head_hash, utcnow().isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, anchor.to_line().encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:  # make the new file's directory entry durable too
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return anchor
