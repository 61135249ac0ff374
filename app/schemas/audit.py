"""The audit trail: its query filters and one event as the API shows it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.schemas.common import MAX_ID, QueryInt, ResponseModel, UtcDatetime
from app.schemas.pagination import Pagination


class AuditQuery(Pagination):
    """The audit trail: pagination and optional filters."""

    entity_type: Literal["user", "post", "comment"] = Field(
        None, description="Only events about this kind of record"
    )
    entity_id: QueryInt = Field(None, ge=1, le=MAX_ID, description="Only events about this id")
    actor: QueryInt = Field(
        None, ge=0, le=MAX_ID, description="Only events by this user id (0 = the system)"
    )


class AuditEventResponse(ResponseModel):
    """One immutable audit-trail event."""

    id: int
    occurred_at: UtcDatetime
    entity_type: str
    entity_id: int
    action: Literal["create", "update", "delete", "restore"]
    changes: dict[str, Any] = Field(description="Changed fields with old and new values")
    actor_id: int = Field(description="User id of the actor (0 = the system)")
    request_id: str | None
    prev_hash: str
    hash: str
