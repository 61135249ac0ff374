"""Pydantic contracts: pagination, request bodies and responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

ModelT = TypeVar("ModelT", bound=BaseModel)


class Pagination(BaseModel):
    """``skip`` (>= 0) and ``limit`` (1..100) of every list, in the API and the pages."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    skip: int = Field(0, ge=0, description="How many items to skip")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many items to return")

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Pagination:
        """Parse query arguments strictly: anything but a plain integer in range is a 422."""
        values: dict[str, object] = {}
        details = []
        for name in ("skip", "limit"):
            if name not in args:
                continue
            raw = args[name].strip()
            if not (raw.isascii() and raw.lstrip("-").isdigit() and raw.count("-") <= 1):
                details.append({"field": name, "message": "must be an integer"})
            else:
                values[name] = int(raw)
        if details:
            raise ValidationFailed(details)
        return validate(cls, values)


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
    }
    build = messages.get(kind)
    return build() if build else item["msg"].removeprefix("Value error, ")


def validate(model: type[ModelT], data: object) -> ModelT:
    """Validate ``data`` against ``model``; a failure becomes a 422 naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(validation_details(error)) from None
