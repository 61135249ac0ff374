"""Pydantic contracts: pagination, request bodies and responses.

Request models forbid unknown fields, so read-only fields (``id``, ``role``, the audit
fields) are refused with a 422 like any other unknown field. Response models forbid
extra fields too: their JSON schemas, published in the OpenAPI document, promise that
nothing else (a password hash, an email on a public profile) is ever sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Generic, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from app.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Record ids are 32-bit integer columns and offsets 64-bit: a larger number can match
# nothing, and PostgreSQL would refuse it as a query parameter.
MAX_ID = 2**31 - 1
MAX_SKIP = 2**63 - 1

USERNAME_PATTERN = r"^[A-Za-z0-9_-]+$"
USERNAME_MIN, USERNAME_MAX = 3, 32
EMAIL_MAX = 254
PASSWORD_MIN, PASSWORD_MAX = 8, 128
TITLE_MAX = 200
POST_BODY_MAX = 100_000
COMMENT_BODY_MAX = 5_000
# A text that is not blank: at least one character that is not whitespace.
NOT_BLANK_PATTERN = r"\S"

ModelT = TypeVar("ModelT", bound=BaseModel)
DataT = TypeVar("DataT")

_INTEGER = re.compile(r"-?[0-9]+")


def _integer_from_query(value: object) -> object:
    """Accept only plain decimal integers from a query string ("1e3", "5.0", "" are not)."""
    if isinstance(value, str):
        raw = value.strip()
        if not _INTEGER.fullmatch(raw):
            raise ValueError("must be an integer")
        return int(raw)
    return value


def _utc_zones() -> frozenset[tzinfo]:
    """The time zones that are UTC under another name (PostgreSQL answers in ``Etc/UTC``)."""
    zones: set[tzinfo] = {UTC}
    for name in ("UTC", "Etc/UTC"):
        # Without a time zone database these stay out, and conversions still work.
        with suppress(ZoneInfoNotFoundError):
            zones.add(ZoneInfo(name))
    return frozenset(zones)


_UTC_ZONES = _utc_zones()


def _utc_isoformat(value: datetime) -> str:
    """ISO 8601 in UTC with an explicit offset, e.g. ``2024-05-01T12:00:00+00:00``."""
    if value.tzinfo in _UTC_ZONES:  # no conversion needed: the common case, made cheap
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


QueryInt = Annotated[int, BeforeValidator(_integer_from_query)]
UtcDatetime = Annotated[
    datetime,
    PlainSerializer(_utc_isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
OptionalUtcDatetime = Annotated[
    datetime | None,
    PlainSerializer(
        lambda value: None if value is None else _utc_isoformat(value),
        return_type=str | None,
        when_used="json",
    ),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        mode="serialization",
    ),
]


def _no_nul_characters(value: object) -> object:
    """Refuse NUL characters, which no text column can store (PostgreSQL rejects them)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _drop_null_defaults(schema: dict[str, Any]) -> None:
    """Optional inputs default to "not given", which the schema need not spell as null."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


# ---------------------------------------------------------------------------
# Query strings
# ---------------------------------------------------------------------------


class QueryModel(BaseModel):
    """Base of query-string models: unknown parameters are ignored, integers are strict."""

    model_config = ConfigDict(extra="ignore", frozen=True, json_schema_extra=_drop_null_defaults)

    _text_without_nul = field_validator("*", mode="after")(_no_nul_characters)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Self:
        """Parse query arguments strictly: anything out of range or malformed is a 422."""
        values = {name: args[name] for name in cls.model_fields if name in args}
        return validate(cls, values)


class Pagination(QueryModel):
    """``skip`` (>= 0) and ``limit`` (1..100) of every list, in the API and the pages."""

    skip: QueryInt = Field(0, ge=0, le=MAX_SKIP, description="How many items to skip")
    limit: QueryInt = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many items to return (1..100)"
    )


class RecordQuery(QueryModel):
    """Options of a single-record lookup."""

    include_deleted: bool = Field(
        False, description="Admins only: find the record even when it is soft-deleted"
    )


class PostListQuery(Pagination):
    """The published-posts list: pagination and an optional author filter."""

    author: str = Field(
        None,
        min_length=1,
        max_length=USERNAME_MAX,
        description="Only posts by this username (ignoring case)",
    )


class AuditQuery(Pagination):
    """The audit trail: pagination and optional filters."""

    entity_type: Literal["user", "post", "comment"] = Field(
        None, description="Only events about this kind of record"
    )
    entity_id: QueryInt = Field(None, ge=1, le=MAX_ID, description="Only events about this id")
    actor: QueryInt = Field(
        None, ge=0, le=MAX_ID, description="Only events by this user id (0 = the system)"
    )


# ---------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------


class RequestModel(BaseModel):
    """Base of request bodies: unknown and read-only fields are refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_defaults)

    _text_without_nul = field_validator("*", mode="after")(_no_nul_characters)


Username = Annotated[
    str,
    Field(
        min_length=USERNAME_MIN,
        max_length=USERNAME_MAX,
        json_schema_extra={"pattern": USERNAME_PATTERN},
        description="3-32 letters, digits, '_' or '-'; unique ignoring case",
    ),
]
Password = Annotated[
    str,
    Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX, description="8-128 characters"),
]
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
CommentBody = Annotated[
    str,
    Field(
        min_length=1,
        max_length=COMMENT_BODY_MAX,
        pattern=NOT_BLANK_PATTERN,
        description="1-5,000 characters, not blank",
    ),
]


class UserCreate(RequestModel):
    """Registration: a new account."""

    username: Username
    email: EmailStr = Field(max_length=EMAIL_MAX, description="Unique ignoring case")
    password: Password

    @field_validator("username")
    @classmethod
    def _username_characters(cls, value: str) -> str:
        if not re.fullmatch(USERNAME_PATTERN, value):
            raise ValueError("may contain only letters, digits, '_' and '-'")
        return value


class TokenRequest(RequestModel):
    """Credentials exchanged for an access token."""

    username: str = Field(
        min_length=1, max_length=EMAIL_MAX, description="The username or the email address"
    )
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


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


class CommentCreate(RequestModel):
    """A new comment."""

    body: CommentBody


# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------


class ResponseModel(BaseModel):
    """Base of response bodies: read from ORM objects; nothing beyond the declared fields."""

    model_config = ConfigDict(
        from_attributes=True,
        extra="forbid",
        json_schema_serialization_defaults_required=True,
    )

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict of this response."""
        return self.model_dump(mode="json")


class AuditFields(ResponseModel):
    """Who created and last changed a record, and when (set by the server only)."""

    date_added: UtcDatetime
    date_updated: UtcDatetime
    added_by: int = Field(description="User id of the creator (0 = the system)")
    updated_by: int = Field(description="User id of the last writer (0 = the system)")


class PublicUserResponse(AuditFields):
    """A public profile: never the email address."""

    id: int
    username: str
    role: Literal["author", "admin"]


class UserResponse(PublicUserResponse):
    """The account of the signed-in user."""

    email: str
    is_active: bool


class TokenResponse(ResponseModel):
    """A bearer access token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Lifetime in seconds")


class AuthorSummary(ResponseModel):
    """Who wrote a post or comment."""

    id: int
    username: str


class PostResponse(AuditFields):
    """A post as the API shows it."""

    id: int
    title: str
    slug: str
    body: str
    status: PostStatusField
    published_at: OptionalUtcDatetime
    author: AuthorSummary
    version: int = Field(description="Changes with every write; the ETag is derived from it")
    deleted_at: OptionalUtcDatetime = None


#: What :func:`post_list_item` takes, in this order: a post's fields, its author's flattened.
POST_LIST_ROW = (
    "date_added",
    "date_updated",
    "added_by",
    "updated_by",
    "id",
    "title",
    "slug",
    "body",
    "status",
    "published_at",
    "author_id",
    "author_username",
    "version",
    "deleted_at",
)


def post_list_item(row: Sequence[Any]) -> dict[str, Any]:
    """A post of the feed as ``PostResponse`` renders it, from a plain row, without validation.

    The feed's hot path: ``row`` holds the values named by :data:`POST_LIST_ROW`, in that
    order (anything after them is ignored). The keys, their order and the formats are
    those of ``PostResponse.model_validate(post).to_json()``; a test holds the two equal.
    """
    (
        date_added,
        date_updated,
        added_by,
        updated_by,
        post_id,
        title,
        slug,
        body,
        status,
        published_at,
        author_id,
        author_username,
        version,
        deleted_at,
        *_,
    ) = row
    if author_username is None:
        # PostResponse requires an author, so a post whose author is soft-deleted fails
        # here as validating it would, rather than going out without one.
        raise LookupError(f"post {post_id} has no live author")
    return {
        "date_added": _utc_isoformat(date_added),
        "date_updated": _utc_isoformat(date_updated),
        "added_by": added_by,
        "updated_by": updated_by,
        "id": post_id,
        "title": title,
        "slug": slug,
        "body": body,
        "status": str(status),
        "published_at": None if published_at is None else _utc_isoformat(published_at),
        "author": {"id": author_id, "username": author_username},
        "version": version,
        "deleted_at": None if deleted_at is None else _utc_isoformat(deleted_at),
    }


class CommentResponse(AuditFields):
    """A comment as the API shows it."""

    id: int
    post_id: int
    body: str
    author: AuthorSummary
    version: int
    deleted_at: OptionalUtcDatetime = None


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


class ApiInfo(ResponseModel):
    """What this API is."""

    name: str
    version: str
    openapi: str


# ---------------------------------------------------------------------------
# Envelopes
# ---------------------------------------------------------------------------


class SuccessEnvelope(ResponseModel, Generic[DataT]):
    """``{success: true, message, data}``."""

    success: Literal[True]
    message: str
    data: DataT


class PageInfo(ResponseModel):
    """Where a page of a list starts, its size and how many items there are in all."""

    skip: int
    limit: int
    total: int


class ListEnvelope(ResponseModel, Generic[DataT]):
    """``{success: true, message, data: [...], pagination}``."""

    success: Literal[True]
    message: str
    data: list[DataT]
    pagination: PageInfo


class ErrorDetail(ResponseModel):
    """One offending field and what is wrong with it."""

    field: str
    message: str


class ErrorEnvelope(ResponseModel):
    """``{success: false, message, status_code, details, request_id}``."""

    success: Literal[False]
    message: str
    status_code: int
    details: list[ErrorDetail] | None
    request_id: str


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def validation_details(error: ValidationError) -> list[dict[str, str]]:
    """Turn a pydantic error into the envelope's ``details``: one entry per field."""
    details = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "body"
        details.append({"field": field, "message": _friendly_message(item)})
    return details


def _friendly_message(item: dict) -> str:
    kind, ctx = item["type"], item.get("ctx") or {}
    messages = {
        "less_than_equal": lambda: f"must be <= {ctx.get('le')}",
        "greater_than_equal": lambda: f"must be >= {ctx.get('ge')}",
        "less_than": lambda: f"must be < {ctx.get('lt')}",
        "greater_than": lambda: f"must be > {ctx.get('gt')}",
        "int_parsing": lambda: "must be an integer",
        "int_type": lambda: "must be an integer",
        "string_type": lambda: "must be a string",
        "bool_type": lambda: "must be a boolean",
        "missing": lambda: "is required",
        "extra_forbidden": lambda: "is not an accepted field",
        "string_too_short": lambda: f"must be at least {ctx.get('min_length')} characters",
        "string_too_long": lambda: f"must be at most {ctx.get('max_length')} characters",
        # The only ``pattern`` pydantic itself checks is NOT_BLANK_PATTERN.
        "string_pattern_mismatch": lambda: "must not be blank",
        "literal_error": lambda: f"must be one of {ctx.get('expected')}",
        "model_type": lambda: "must be a JSON object",
    }
    build = messages.get(kind)
    return build() if build else item["msg"].removeprefix("Value error, ")


def validate(model: type[ModelT], data: object) -> ModelT:
    """Validate ``data`` against ``model``; a failure becomes a 422 naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(validation_details(error)) from None
