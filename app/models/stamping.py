"""Audit-column stamping for unit-of-work flushes: one listener for every model.

``before_flush`` stamps ``date_added``/``date_updated``, ``added_by``/``updated_by`` and
``deleted_at``/``deleted_by`` on every new or changed audited object, with the actor of
:mod:`app.context`. It also refuses what a flush must never do: hard-delete an audited
row, or add, change or delete an audit event. Rows created as ``ACTOR_SELF`` (a
self-registration) become their own actor in ``after_flush``, once their id is known.
Bulk statements are stamped in :mod:`app.models.bulk`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.models.audit_event import AuditEvent, lock_audit_chain
from app.models.base import ACTOR_SELF, SYSTEM_ACTOR_ID, Actor, AuditMixin, current_actor, utcnow
from app.models.errors import AuditTrailImmutableError, HardDeleteRefusedError

#: Session-info key of the objects created as ACTOR_SELF in the current flush.
SELF_STAMPED = "inkwell.self_stamped"


def stamp_actor(actor: Actor, obj: AuditMixin) -> int:
    """The user id to stamp for ``actor`` on ``obj`` (ACTOR_SELF resolves to the row itself)."""
    if actor is ACTOR_SELF:
        return getattr(obj, "id", None) or SYSTEM_ACTOR_ID
    return int(actor)  # type: ignore[arg-type]


def soft_delete_transition(obj: AuditMixin) -> str | None:
    """'delete' or 'restore' when ``deleted_at`` is changing in this flush, else None."""
    history = inspect(obj).attrs.deleted_at.history
    if not history.added:
        return None
    old = history.deleted[0] if history.deleted else None
    new = history.added[0]
    if old is None and new is not None:
        return "delete"
    if old is not None and new is None:
        return "restore"
    return None


def _refuse_forbidden_changes(session: Session) -> list[Any]:
    """Raise for hard deletes and audit-event writes; return the objects really changed."""
    for obj in session.deleted:
        if isinstance(obj, AuditMixin):
            raise HardDeleteRefusedError(
                f"{type(obj).__name__} rows are soft-deleted with soft_delete(), not deleted"
            )
        if isinstance(obj, AuditEvent):
            raise AuditTrailImmutableError("audit events cannot be deleted")
    for obj in session.new:
        if isinstance(obj, AuditEvent):
            raise AuditTrailImmutableError("audit events are appended by app.audit, not the ORM")
    changed = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    if any(isinstance(obj, AuditEvent) for obj in changed):
        raise AuditTrailImmutableError("audit events cannot be changed")
    return changed


@event.listens_for(Session, "before_flush")
def stamp_audit_columns(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Stamp ``date_*``, ``*_by`` and ``deleted_*`` on every new or changed audited object."""
    changed = _refuse_forbidden_changes(session)
    created = [obj for obj in session.new if isinstance(obj, AuditMixin)]
    changed = [obj for obj in changed if isinstance(obj, AuditMixin)]
    if not created and not changed:
        return
    # Take the audit chain's lock before any row lock, so writers never deadlock on it.
    lock_audit_chain(session.connection())
    actor = current_actor()
    now = utcnow()
    for obj in created:
        stamped_by = stamp_actor(actor, obj)
        obj.date_added = obj.date_updated = now
        obj.added_by = obj.updated_by = stamped_by
        if obj.deleted_at is not None:
            obj.deleted_at, obj.deleted_by = now, stamped_by
        if actor is ACTOR_SELF:
            session.info.setdefault(SELF_STAMPED, []).append(obj)
    for obj in changed:
        stamped_by = stamp_actor(actor, obj)
        obj.date_updated = now
        obj.updated_by = stamped_by
        transition = soft_delete_transition(obj)
        if transition == "delete":
            obj.deleted_at, obj.deleted_by = now, stamped_by
        elif transition == "restore":
            obj.deleted_by = None


@event.listens_for(Session, "after_flush")
def stamp_self_created_rows(session: Session, _flush_context: Any) -> None:
    """Rows created under ACTOR_SELF: their id is known now, so they become their own actor."""
    for obj in session.info.pop(SELF_STAMPED, []):
        table = inspect(obj).mapper.local_table
        session.connection().execute(
            update(table).where(table.c.id == obj.id).values(added_by=obj.id, updated_by=obj.id)
        )
        set_committed_value(obj, "added_by", obj.id)
        set_committed_value(obj, "updated_by", obj.id)
