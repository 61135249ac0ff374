"""Reading the audit trail: filtered lists for admins and an entity's history."""

from __future__ import annotations

from sqlalchemy import func, select

from app.database import read_connection
from app.extensions import db
from app.models import AuditEvent, User
from app.models.audit_event import chain_head
from app.services.pages import Page, paginate
from app.services.permissions import require_admin

ENTITY_TYPES = ("user", "post", "comment")
NEWEST_FIRST = (AuditEvent.id.desc(),)
_EVENTS = AuditEvent.__table__
#: :func:`latest_event_id` as a scalar subquery, to read in the same statement as the
#: content it versions (one index probe, no round trip of its own).
CONTENT_VERSION = func.coalesce(
    select(_EVENTS.c.id).order_by(_EVENTS.c.id.desc()).limit(1).scalar_subquery(), 0
)


def list_audit_events(
    actor: User,
    skip: int = 0,
    limit: int = 20,
    *,
    entity_type: str | None = None,
    entity_id: int | None = None,
    actor_id: int | None = None,
) -> Page[AuditEvent]:
    """Audit events newest first, filtered by entity type, entity id and actor (admins only)."""
    require_admin(actor)
    where = []
    if entity_type is not None:
        where.append(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        where.append(AuditEvent.entity_id == entity_id)
    if actor_id is not None:
        where.append(AuditEvent.actor_id == actor_id)
    return paginate(
        db.session, AuditEvent, where=where, order_by=NEWEST_FIRST, skip=skip, limit=limit
    )


def entity_events(
    entity_type: str, entity_id: int, skip: int = 0, limit: int = 20
) -> Page[AuditEvent]:
    """One entity's audit events, newest first (callers check who may see them)."""
    return paginate(
        db.session,
        AuditEvent,
        where=[AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id],
        order_by=NEWEST_FIRST,
        skip=skip,
        limit=limit,
    )


def latest_event_id() -> int:
    """The id of the newest audit event (0 for an empty trail): one index read.

    Every create, change, delete and restore appends an event, so this number changes
    with every write to the content, on every worker and host alike.
    """
    with read_connection(db) as connection:
        return chain_head(connection)[0]
