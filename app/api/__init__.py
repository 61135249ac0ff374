"""The JSON API blueprint, mounted under /api/v1; one module per resource."""

from flask import Blueprint, current_app
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter

from app.helpers import success_response
from app.identity import reject_invalid_token
from app.openapi import api_operation
from app.schemas import MAX_ID, ApiInfo

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(reject_invalid_token)


class IdConverter(BaseConverter):
    """``<id:name>``: a record id; digits outside 1..MAX_ID name no record (404)."""

    regex = r"[0-9]+"
    weight = 50

    def to_python(self, value: str) -> int:
        """The id as an int; a 404 when no record can have it (however many digits)."""
        if len(value) > len(str(MAX_ID)):
            raise NotFound()
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise NotFound()
        return number

    def to_url(self, value: object) -> str:
        """The id as digits."""
        return str(int(value))  # type: ignore[call-overload]


@bp.get("/")
@api_operation(
    "What this API is: name, version and where its description lives", tag="meta", response=ApiInfo
)
def index():
    """What this API is: name, version and where its description lives."""
    settings = current_app.extensions["inkwell.settings"]
    return success_response(
        {
            "name": settings.app_name,
            "version": settings.app_version,
            "openapi": "/api/v1/openapi.json",
        }
    )


from app.api import admin, audit, auth, comments, docs, posts, users  # noqa: E402, F401 - routes
