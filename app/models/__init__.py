"""Domain models; importing this package registers every table and every model-wide hook.

The hooks, one module per job: :mod:`~app.models.stamping` (audit columns on flushes),
:mod:`~app.models.audit_listener` (audit events from flushes),
:mod:`~app.models.soft_delete` (the live-rows rule on every ORM read) and
:mod:`~app.models.bulk` (stamping and auditing of bulk statements).
"""

from app.models import audit_listener, bulk, soft_delete, stamping  # noqa: F401 - the hooks
from app.models.audit_event import AuditEvent
from app.models.base import (
    ACTOR_SELF,
    SYSTEM_ACTOR_ID,
    AuditedModel,
    AuditMixin,
    Base,
    acting_as,
    current_actor,
    utcnow,
)
from app.models.bulk import BULK_COPY, reserve_ids
from app.models.comment import Comment
from app.models.errors import (
    AuditTrailImmutableError,
    BulkWriteUnsupportedError,
    HardDeleteRefusedError,
)
from app.models.feed_count import FeedCount
from app.models.post import Post, PostStatus
from app.models.revoked_credential import RevokedCredential
from app.models.soft_delete import INCLUDE_DELETED, live_rows
from app.models.user import Role, User

__all__ = [
    "ACTOR_SELF",
    "BULK_COPY",
    "INCLUDE_DELETED",
    "SYSTEM_ACTOR_ID",
    "AuditEvent",
    "AuditMixin",
    "AuditTrailImmutableError",
    "AuditedModel",
    "Base",
    "BulkWriteUnsupportedError",
    "Comment",
    "FeedCount",
    "HardDeleteRefusedError",
    "Post",
    "PostStatus",
    "RevokedCredential",
    "Role",
    "User",
    "acting_as",
    "current_actor",
    "live_rows",
    "reserve_ids",
    "utcnow",
]
