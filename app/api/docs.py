"""The OpenAPI document and the interactive docs that read it."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for

from app.api import bp
from app.openapi import build_openapi

docs_bp = Blueprint("api_docs", __name__)
OPENAPI_CACHE_KEY = "inkwell.openapi"


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API."""
    document = current_app.extensions.get(OPENAPI_CACHE_KEY)
    if document is None:
        document = build_openapi(current_app)
        current_app.extensions[OPENAPI_CACHE_KEY] = document
    return jsonify(document)


@docs_bp.get("/api/docs")
def interactive_docs() -> str:
    """Swagger UI, served with the app's own copy of its assets."""
    return render_template("api_docs.html", spec_url=url_for("api.openapi_document"))
