"""Envelope builders used by every JSON view, and request-body parsing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from app.logging import current_request_id


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
        headers={"ETag": record.etag, **headers},
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
    args = {key: value for key, value in request.args.items() if key not in ("skip", "limit")}
    args.update(skip=skip, limit=limit)
    return f"{_base_url()}?{urlencode(args)}"


# The environ values Werkzeug builds ``request.base_url`` from.
_BASE_URL_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME")
# Hosts and paths come from clients: the memory of base URLs stays bounded.
_REMEMBERED_BASE_URLS = 1024
_base_urls: dict[tuple[str | None, ...], str] = {}


def _base_url() -> str:
    """``request.base_url``, remembered per scheme, host and path.

    Werkzeug rebuilds it on every request, quoting each part anew; on a list page that was
    a noticeable share of the request.
    """
    environ = request.environ
    key = (*(environ.get(name) for name in _BASE_URL_KEYS), environ.get("PATH_INFO"))
    url = _base_urls.get(key)
    if url is None:
        url = request.base_url  # also validates the host, so a refused one is never kept
        if len(_base_urls) >= _REMEMBERED_BASE_URLS:
            _base_urls.clear()
        _base_urls[key] = url
    return url


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
