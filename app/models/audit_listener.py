"""Audit events from unit-of-work flushes: one ``after_flush`` listener for every model.

Every audited object a flush creates, changes, soft-deletes or restores gets one event
in the flush's own transaction, with the fields that changed (old and new values,
secrets masked). Bulk statements get theirs in :mod:`app.models.bulk`, built with the
same helpers.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, Session

from app.models.audit_event import MASKED, PendingEvent, append_events
from app.models.base import AuditMixin, current_actor
from app.models.stamping import soft_delete_transition, stamp_actor

#: Columns that never appear in an event's ``changes``: the event itself says who and when.
UNAUDITED_COLUMNS = frozenset(
    {"id", "date_added", "date_updated", "added_by", "updated_by", "version"}
)
SOFT_DELETE_COLUMNS = frozenset({"deleted_at", "deleted_by"})


def audit_value(value: Any) -> Any:
    """A JSON-ready form of a column value for the audit trail."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def masked(model: type, key: str, value: Any) -> Any:
    """The audit form of a value, or MASKED for the model's secret columns."""
    if key in model.__audit_masked__:  # type: ignore[attr-defined]
        return MASKED
    return audit_value(value)


def derived_keys(mapper: Mapper) -> frozenset[str]:
    """The model's derived columns (``__audit_derived__``): computed from content, not content."""
    return getattr(mapper.class_, "__audit_derived__", frozenset())


def audited_keys(mapper: Mapper, *, soft_delete: bool) -> list[str]:
    """Column attributes that appear in ``changes`` (soft-delete columns only when asked).

    Derived columns never do: an event records what was written, and the rendering of a
    body follows from the body it already records.
    """
    skipped = UNAUDITED_COLUMNS if soft_delete else UNAUDITED_COLUMNS | SOFT_DELETE_COLUMNS
    skipped = skipped | derived_keys(mapper)
    return [attr.key for attr in mapper.column_attrs if attr.key not in skipped]


def _keep_old_value(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
    """A no-op 'set' listener whose only job is to make SQLAlchemy load the old value."""
    return value


@event.listens_for(AuditMixin, "mapper_configured", propagate=True)
def track_old_values(mapper: Mapper, _class: type) -> None:
    """Load a column's old value before it is overwritten, so audit events can show it."""
    derived = derived_keys(mapper)
    for attr in mapper.column_attrs:
        if attr.key in derived:
            continue  # never in an event, so its old value is never needed
        event.listen(attr.class_attribute, "set", _keep_old_value, active_history=True, retval=True)


def _creation_changes(obj: AuditMixin) -> dict[str, dict[str, Any]]:
    """``changes`` of a 'create' event: every audited field, old None."""
    model = type(obj)
    return {
        key: {"old": None, "new": masked(model, key, getattr(obj, key))}
        for key in audited_keys(inspect(model), soft_delete=False)
    }


def _update_changes(obj: AuditMixin) -> dict[str, dict[str, Any]]:
    """``changes`` of an update, delete or restore: the fields this flush changes."""
    model, state = type(obj), inspect(obj)
    changes = {}
    for key in audited_keys(state.mapper, soft_delete=True):
        history = state.attrs[key].history
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        changes[key] = {"old": masked(model, key, old), "new": masked(model, key, new)}
    return changes


def _event(obj: AuditMixin, action: str, changes: dict, actor: int) -> PendingEvent:
    """A pending audit event about ``obj``."""
    return PendingEvent(
        entity_type=type(obj).__audit_entity__,
        entity_id=obj.id,  # type: ignore[attr-defined]
        action=action,
        changes=changes,
        actor_id=actor,
    )


@event.listens_for(Session, "after_flush")
def record_audit_events(session: Session, _flush_context: Any) -> None:
    """Append an audit event for every audited object this flush created or changed."""
    events: list[PendingEvent] = []
    actor = current_actor()
    for obj in session.new:
        if isinstance(obj, AuditMixin):
            events.append(_event(obj, "create", _creation_changes(obj), stamp_actor(actor, obj)))
    for obj in session.dirty:
        if not isinstance(obj, AuditMixin) or not session.is_modified(
            obj, include_collections=False
        ):
            continue
        action = soft_delete_transition(obj) or "update"
        changes = _update_changes(obj)
        if changes:
            events.append(_event(obj, action, changes, stamp_actor(actor, obj)))
    if events:
        append_events(session.connection(), events)
