"""The JSON API blueprint, mounted under /api/v1."""

from flask import Blueprint, current_app

from app.helpers import success_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/")
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
