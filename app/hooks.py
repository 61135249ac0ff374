"""Per-request hooks: request ids, security headers and the access log."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

log = logging.getLogger("inkwell.access")

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON_KEY = "HTTP_X_REQUEST_ID"  # the same header, read straight from WSGI
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}
HSTS = "max-age=31536000; includeSubDomains"


def assign_request_id() -> None:
    """Adopt the client's X-Request-ID when it is well formed, else mint one."""
    g.request_started = time.perf_counter()
    client_id = request.environ.get(REQUEST_ID_ENVIRON_KEY, "")
    g.request_id = client_id if VALID_REQUEST_ID.fullmatch(client_id) else uuid.uuid4().hex


def add_response_headers(response: Response) -> Response:
    """Request id and security headers on every response."""
    headers = response.headers
    headers[REQUEST_ID_HEADER] = g.get("request_id") or uuid.uuid4().hex
    # One pass over the headers instead of a failing lookup per header the view did not set.
    present = {name.lower() for name, _ in headers.items()}
    headers.extend(
        (name, value) for name, value in SECURITY_HEADERS.items() if name.lower() not in present
    )
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", HSTS)
    return response


def log_access(response: Response) -> Response:
    """One access line per request: method, path, status, duration, client and user."""
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else 0.0
    user_id = g.get("user_id", g.get("claimed_user_id"))
    method, path, client = request.method, request.path, request.remote_addr
    status = response.status_code
    log.info(
        "%s %s %s %.2fms client=%s user=%s",
        method,
        path,
        status,
        duration_ms,
        client or "-",
        user_id if user_id is not None else "-",
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "client": client,
            "user_id": user_id,
        },
    )
    return response


def register_request_hooks(app: Flask) -> None:
    """Install the hooks; the request id is assigned before anything else runs."""
    app.before_request_funcs.setdefault(None, []).insert(0, assign_request_id)
    app.after_request(log_access)
    app.after_request(add_response_headers)
