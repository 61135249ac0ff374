"""Envelope builders used by every JSON view, and request-body parsing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from flask import Response, jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from app.context import current_request_id
from app.services.concurrency import etag_for


def success_response(
    data: Any = None, message: str = "OK", status: int = 200, headers: dict | None = None
) -> Response:
    """The success envelope: ``{success, message, data}``."""
    return envelope_response(True, message, data, status, headers)


def versioned_response(
    schema: Any, record: Any, message: str = "OK", status: int = 200, **headers: str
) -> Response:
    """One versioned record rendered by ``schema`` in the success envelope, with its ETag."""
    return success_response(
        schema.model_validate(record).to_json(),
        message,
        status,
        headers={"ETag": etag_for(record), **headers},
    )


def envelope_response(
    success: bool, message: str, data: Any, status: int, headers: dict | None = None
) -> Response:
    """A ``{success, message, data}`` envelope, also for answers that carry data on failure."""
    response = jsonify({"success": success, "message": message, "data": data})
    if status != response.status_code:  # setting it parses the status line anew
        response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def list_response(items: list, skip: int, limit: int, total: int, message: str = "OK") -> Response:
    """The list envelope with pagination and an RFC 8288 ``Link`` header."""
    response = jsonify(
        {
            "success": True,
            "message": message,
            "data": items,
            "pagination": {"skip": skip, "limit": limit, "total": total},
        }
    )
    links = []
    if skip + limit < total:
        links.append(f'<{_page_url(skip + limit, limit)}>; rel="next"')
    if skip > 0:
        links.append(f'<{_page_url(max(skip - limit, 0), limit)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def _page_url(skip: int, limit: int) -> str:
    """A relative reference to another window of this list (never the request's Host)."""
    args = {key: value for key, value in request.args.items() if key not in ("skip", "limit")}
    args.update(skip=skip, limit=limit)
    return f"{quote(request.script_root + request.path)}?{urlencode(args)}"


def error_payload(status: int, message: str, details: list | None = None) -> dict:
    """The error envelope: ``{success: false, message, status_code, details, request_id}``."""
    return {
        "success": False,
        "message": message,
        "status_code": status,
        "details": details,
        "request_id": current_request_id(),
    }


def error_response(
    status: int, message: str, details: list | None = None, headers: dict | None = None
) -> Response:
    """A JSON error response in the error envelope."""
    response = jsonify(error_payload(status, message, details))
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def optional_json_body() -> dict:
    """The request body as a JSON object, or ``{}`` when the request sends no body at all."""
    if not request.content_length and not request.get_data(cache=True):
        return {}
    return json_body()


def json_body() -> dict:
    """The request body as a JSON object: 415 for another content type, 400 if malformed."""
    if not request.is_json:
        raise UnsupportedMediaType("Request body must be JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("Request body is not valid JSON")
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body
