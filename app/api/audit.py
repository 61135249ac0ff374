"""The audit trail, for administrators."""

from __future__ import annotations

from flask import Response, request

from app.api import bp
from app.helpers import list_response
from app.identity import current_user, require_role
from app.openapi import api_operation
from app.schemas import AuditEventResponse, AuditQuery
from app.services import audit_service


@bp.get("/audit")
@api_operation(
    "Audit events, newest first (admins)",
    tag="audit",
    response=AuditEventResponse,
    many=True,
    query=AuditQuery,
    auth="admin",
)
@require_role("admin")
def list_audit_events() -> Response:
    """One page of the audit trail, filtered by entity type, entity id and actor."""
    query = AuditQuery.from_args(request.args)
    page = audit_service.list_audit_events(
        current_user(),
        query.skip,
        query.limit,
        entity_type=query.entity_type,
        entity_id=query.entity_id,
        actor_id=query.actor,
    )
    items = [AuditEventResponse.model_validate(event).to_json() for event in page.items]
    return list_response(items, page.skip, page.limit, page.total)
