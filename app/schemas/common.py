"""Shared pieces of the pydantic contracts: base models, strict query integers, UTC
timestamps, and validation that turns pydantic errors into the API's 422 details.

Request models forbid unknown fields, so read-only fields (``id``, ``role``, the audit
fields) are refused with a 422 like any other unknown field. Response models forbid
extra fields too: their JSON schemas, published in the OpenAPI document, promise that
nothing else (a password hash, an email on a public profile) is ever sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from app.errors import ValidationFailed

# Record ids are 32-bit integer columns and offsets 64-bit: a larger number can match
# nothing, and PostgreSQL would refuse it as a query parameter.
MAX_ID = 2**31 - 1
MAX_SKIP = 2**63 - 1

# A text that is not blank: at least one character that is not whitespace.
NOT_BLANK_PATTERN = r"\S"

ModelT = TypeVar("ModelT", bound=BaseModel)

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


def utc_isoformat(value: datetime) -> str:
    """ISO 8601 in UTC with an explicit offset, e.g. ``2024-05-01T12:00:00+00:00``."""
    if value.tzinfo in _UTC_ZONES:  # no conversion needed: the common case, made cheap
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


QueryInt = Annotated[int, BeforeValidator(_integer_from_query)]
UtcDatetime = Annotated[
    datetime,
    PlainSerializer(utc_isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
OptionalUtcDatetime = Annotated[
    datetime | None,
    PlainSerializer(
        lambda value: None if value is None else utc_isoformat(value),
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


class QueryModel(BaseModel):
    """Base of query-string models: unknown parameters are ignored, integers are strict."""

    model_config = ConfigDict(extra="ignore", frozen=True, json_schema_extra=_drop_null_defaults)

    _text_without_nul = field_validator("*", mode="after")(_no_nul_characters)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Self:
        """Parse query arguments strictly: anything out of range or malformed is a 422."""
        values = {name: args[name] for name in cls.model_fields if name in args}
        return validate(cls, values)


class RecordQuery(QueryModel):
    """Options of a single-record lookup."""

    include_deleted: bool = Field(
        False, description="Admins only: find the record even when it is soft-deleted"
    )


class RequestModel(BaseModel):
    """Base of request bodies: unknown and read-only fields are refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_defaults)

    _text_without_nul = field_validator("*", mode="after")(_no_nul_characters)


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
