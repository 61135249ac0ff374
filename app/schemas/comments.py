"""Comments: a new comment and a comment as the API shows it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.schemas.common import NOT_BLANK_PATTERN, AuditFields, OptionalUtcDatetime, RequestModel
from app.schemas.users import AuthorField

COMMENT_BODY_MAX = 5_000


CommentBody = Annotated[
    str,
    Field(
        min_length=1,
        max_length=COMMENT_BODY_MAX,
        pattern=NOT_BLANK_PATTERN,
        description="1-5,000 characters, not blank",
    ),
]


class CommentCreate(RequestModel):
    """A new comment."""

    body: CommentBody


class CommentResponse(AuditFields):
    """A comment as the API shows it."""

    id: int
    post_id: int
    body: str
    author: AuthorField
    version: int
    deleted_at: OptionalUtcDatetime = None
