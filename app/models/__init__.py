"""Domain models; importing this package registers every table and the audit listeners."""

from app.models import listeners  # noqa: F401 - installs the stamping, soft-delete and audit hooks
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
from app.models.comment import Comment
from app.models.feed_count import FeedCount
from app.models.post import Post, PostStatus
from app.models.user import Role, User

__all__ = [
    "ACTOR_SELF",
    "SYSTEM_ACTOR_ID",
    "AuditEvent",
    "AuditMixin",
    "AuditedModel",
    "Base",
    "Comment",
    "FeedCount",
    "Post",
    "PostStatus",
    "Role",
    "User",
    "acting_as",
    "current_actor",
    "utcnow",
]
