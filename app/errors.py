"""One error handler for every error: the JSON envelope or the site's error page."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from pydantic import ValidationError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    SecurityError,
    UnprocessableEntity,
)

from app.extensions import db
from app.helpers import error_response

log = logging.getLogger("inkwell.errors")

DATABASE_UNAVAILABLE = "Service unavailable: the database cannot be reached"
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, DisconnectionError)
UNEXPECTED = "An unexpected error occurred"
UNTRUSTED_HOST = "This host name is not served here"
DEFAULT_MESSAGES = {
    400: "Bad request",
    401: "Authentication required",
    403: "You do not have permission to do this",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "The resource has changed since it was read (If-Match failed)",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: UNEXPECTED,
    503: "Service unavailable",
}


class ValidationFailed(UnprocessableEntity):
    """A 422 with a ``details`` list naming each offending field."""

    def __init__(self, details: list[dict[str, str]], message: str = "Validation failed") -> None:
        super().__init__(message)
        self.details = details


class ServiceUnavailable(HTTPException):
    """A 503: something the request needs is not available right now."""

    code = 503
    description = DEFAULT_MESSAGES[503]


def wants_json_response() -> bool:
    """API paths and clients that prefer JSON over HTML get the JSON envelope.

    So does a request for an untrusted host: no page links can be built for it.
    """
    if request.path.startswith(("/api/", "/health")):
        return True
    if isinstance(request.routing_exception, SecurityError):
        return True
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def _message_for(error: HTTPException) -> str:
    if isinstance(error, SecurityError):  # Werkzeug's text repeats the Host: never reflect it
        return UNTRUSTED_HOST
    description = error.description or ""
    # Werkzeug's stock descriptions are long sentences about the server; keep ours short.
    if description == type(error).description or not description:
        return DEFAULT_MESSAGES.get(error.code or 500, error.name)
    return description


def render_error(
    status: int,
    message: str,
    details: list | None = None,
    headers: dict | None = None,
) -> Response:
    """Answer an error in the form the client wants: the envelope or the error page."""
    if wants_json_response():
        return error_response(status, message, details, headers)
    body = render_template("error.html", status=status, message=message, details=details)
    response = Response(body, status=status, mimetype="text/html")
    if headers:
        response.headers.update(headers)
    return response


def handle_http_error(error: HTTPException) -> Response:
    """Any HTTP error raised by Flask, Werkzeug, an extension or a view."""
    status = error.code or 500
    headers = {}
    if error.response is not None:
        # An extension (e.g. the limiter) built its own response: keep its headers.
        headers.update(
            (key, value)
            for key, value in error.response.headers.items()
            if key.lower() not in ("content-type", "content-length")
        )
    headers.update(
        (key, value)
        for key, value in error.get_headers()
        if key.lower() not in ("content-type", "content-length")
    )
    if status >= 500:
        _safe_rollback()
    return render_error(status, _message_for(error), getattr(error, "details", None), headers)


def handle_database_unavailable(error: Exception) -> Response:
    """The database could not be reached: 503 rather than a crash."""
    log.error("database unavailable: %s", error.__class__.__name__)
    _safe_rollback()
    return render_error(503, DATABASE_UNAVAILABLE, headers={"Retry-After": "5"})


def handle_unexpected_error(error: Exception) -> Response:
    """Anything else is a bug: log it, roll back, and show nothing of the internals."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    if _wraps_database_unavailable(error):
        return handle_database_unavailable(error)
    log.exception("unhandled exception")
    _safe_rollback()
    return render_error(500, UNEXPECTED)


def _wraps_database_unavailable(error: Exception) -> bool:
    """Whether a response model failed only because reading an attribute hit a dead database.

    Building a response from an ORM object may load attributes lazily; pydantic reports a
    failing attribute read as a ``get_attribute_error`` carrying the original error's text.
    """
    if not isinstance(error, ValidationError):
        return False
    names = tuple(f"{cls.__name__}:" for cls in DATABASE_UNAVAILABLE_ERRORS)
    return all(
        item["type"] == "get_attribute_error"
        and str((item.get("ctx") or {}).get("error", "")).startswith(names)
        for item in error.errors()
    )


def _safe_rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone
        log.warning("session rollback failed", exc_info=True)
        # Drop the dead connection now: otherwise the request's teardown tries another
        # ROLLBACK on it, fails after the response is built, and the client gets a 500.
        db.session.invalidate()


def register_error_handlers(app: Flask) -> None:
    """Route every error through the handlers above."""
    app.register_error_handler(HTTPException, handle_http_error)
    for error_class in DATABASE_UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected_error)
    app.register_error_handler(InternalServerError, handle_http_error)
