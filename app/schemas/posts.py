"""Posts: what an author writes, the feed's query, and a post as the API shows it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, TypeAdapter

from app.schemas.common import NOT_BLANK_PATTERN, AuditFields, OptionalUtcDatetime, RequestModel
from app.schemas.pagination import Pagination
from app.schemas.users import USERNAME_MAX, AuthorField

TITLE_MAX = 200
POST_BODY_MAX = 100_000


class PostListQuery(Pagination):
    """The published-posts list: pagination and an optional author filter."""

    author: str = Field(
        None,
        min_length=1,
        max_length=USERNAME_MAX,
        description="Only posts by this username (ignoring case)",
    )


PostTitle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX),
    Field(
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
        description="1-200 characters after trimming surrounding whitespace",
    ),
]
PostBody = Annotated[
    str,
    Field(
        min_length=1,
        max_length=POST_BODY_MAX,
        pattern=NOT_BLANK_PATTERN,
        description="Markdown, 1-100,000 characters, not blank",
    ),
]
PostStatusField = Literal["draft", "published"]


class PostBase(RequestModel):
    """Fields a post's author writes."""

    title: PostTitle
    body: PostBody
    status: PostStatusField = Field(
        "draft", description="'draft' (only the author and admins see it) or 'published'"
    )


class PostCreate(PostBase):
    """A new post."""


class PostUpdate(RequestModel):
    """A partial update of a post: only the fields sent change; none may be null."""

    title: PostTitle = None
    body: PostBody = None
    status: PostStatusField = None

    def changes(self) -> dict[str, Any]:
        """The fields the client sent."""
        return self.model_dump(exclude_unset=True)


class PostResponse(AuditFields):
    """A post as the API shows it."""

    id: int
    title: str
    slug: str
    body: str
    status: PostStatusField
    published_at: OptionalUtcDatetime
    author: AuthorField
    version: int = Field(description="Changes with every write; the ETag is derived from it")
    deleted_at: OptionalUtcDatetime = None


#: Renders a list of posts, ORM objects or the feed's plain rows alike, as PostResponse does.
POST_LIST = TypeAdapter(list[PostResponse])
