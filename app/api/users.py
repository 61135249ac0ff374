"""Public profiles."""

from __future__ import annotations

from flask import Response
from werkzeug.exceptions import NotFound

from app.api import bp
from app.conditional import conditional, content_read_at
from app.helpers import success_response
from app.openapi import api_operation
from app.schemas import PublicUserResponse
from app.services import user_service


@bp.get("/users/<username>")
@api_operation(
    "A user's public profile (never the email)", tag="users", response=PublicUserResponse
)
@conditional
def user_profile(username: str) -> Response:
    """The public profile of ``username`` (ignoring case)."""
    if "\x00" in username:  # no username has one, and PostgreSQL refuses it in a query
        raise NotFound("User not found")
    profile = user_service.public_profile(username)
    content_read_at(profile.content_version)
    return success_response(PublicUserResponse.model_validate(profile).to_json())
