"""HTML form input: read the fields, validate them with the API's schemas, explain errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from app.schemas import validation_details

ModelT = TypeVar("ModelT", bound=BaseModel)
FieldErrors = dict[str, list[str]]

REQUIRED = "Please fill this in"


class FormError(Exception):
    """The form's input broke a rule; ``errors`` maps each field to its messages."""

    def __init__(self, errors: FieldErrors) -> None:
        super().__init__("form input is invalid")
        self.errors = errors


def form_values(names: Iterable[str]) -> dict[str, str]:
    """The submitted values of ``names`` exactly as typed (absent fields are left out)."""
    return {name: request.form[name] for name in names if name in request.form}


def field_errors(error: ValidationError) -> FieldErrors:
    """Messages per field, worded for a person filling in a form."""
    errors: FieldErrors = {}
    for item, detail in zip(error.errors(), validation_details(error), strict=True):
        field = str(item["loc"][0]) if item["loc"] else "form"
        errors.setdefault(field, []).append(_form_message(item, detail["message"]))
    return errors


def _form_message(item: dict, message: str) -> str:
    kind, ctx = item["type"], item.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return REQUIRED
    if kind == "string_pattern_mismatch":
        return "Must not be blank"
    return message[:1].upper() + message[1:]


def validate_form(model: type[ModelT], values: dict[str, str]) -> ModelT:
    """Validate ``values`` with ``model`` (the API's schema); FormError names each field."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise FormError(field_errors(error)) from None
