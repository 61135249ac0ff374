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


def field_errors(error: ValidationError, values: dict[str, str] | None = None) -> FieldErrors:
    """Messages per field, worded for a person filling in a form.

    A field left empty (or only spaces) gets one "please fill this in", whatever rule of
    length or format its emptiness broke.
    """
    errors: FieldErrors = {}
    for item, detail in zip(error.errors(), validation_details(error), strict=True):
        field = str(item["loc"][0]) if item["loc"] else "form"
        blank = values is not None and not values.get(field, "").strip()
        message = REQUIRED if blank or item["type"] == "missing" else _sentence(detail["message"])
        if message not in errors.get(field, []):
            errors.setdefault(field, []).append(message)
    return errors


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def validate_form(model: type[ModelT], values: dict[str, str]) -> ModelT:
    """Validate ``values`` with ``model`` (the API's schema); FormError names each field."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise FormError(field_errors(error, values)) from None
