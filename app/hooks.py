"""Per-request work at the edge: request ids, security headers and the access log.

The request id and the headers the edge adds to responses are written by
:class:`EdgeHeaders`, a WSGI middleware around the Flask app: it sees every response, error
pages included, and works on WSGI's plain header list, which costs a fraction of
Werkzeug's validating ``Headers`` on a path that every request takes. Other parts of the
edge (rate limiting, CORS) hand it their headers with :func:`add_edge_headers`. The access
line is an after-request hook, where the status and the acting user are known.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, request

log = logging.getLogger("inkwell.access")

REQUEST_ID_HEADER = "X-Request-ID"
# WSGI environ keys: the client's header, and what EdgeHeaders hands to the app.
CLIENT_REQUEST_ID_KEY = "HTTP_X_REQUEST_ID"
REQUEST_ID_KEY = "inkwell.request_id"
STARTED_KEY = "inkwell.started"
EDGE_HEADERS_KEY = "inkwell.edge_headers"
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
HSTS_HEADER = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def new_request_id() -> str:
    """A fresh request id: 32 random hex digits.

    A request id names a request in logs and error bodies and guards nothing, so it comes
    from the fast pseudo-random generator (reseeded in every forked worker), not the OS.
    """
    return f"{random.getrandbits(128):032x}"


def add_edge_headers(
    group: str, headers: list[tuple[str, str]], environ: dict[str, Any] | None = None
) -> None:
    """Have EdgeHeaders add ``headers`` to this request's response, in place of any headers
    given earlier under the same ``group``.

    The values are not checked again: they must come from the app itself or from a
    header value Werkzeug has already accepted (no CR or LF). ``environ`` is the request's
    WSGI environ, for callers that hold it already.
    """
    if environ is None:
        environ = request.environ
    environ.setdefault(EDGE_HEADERS_KEY, {})[group] = headers


class EdgeHeaders:
    """WSGI middleware: a request id for every request, and on every response that id, the
    security headers (a header the app set itself is left as it is) and the headers given
    with :func:`add_edge_headers`."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._security = [(name.lower(), (name, value)) for name, value in SECURITY_HEADERS.items()]
        self._security_names = frozenset(name for name, _ in self._security)
        self._security_headers = [header for _, header in self._security]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Adopt or mint the request id, then add the headers as the app starts its response."""
        environ[STARTED_KEY] = time.perf_counter()
        client_id = environ.get(CLIENT_REQUEST_ID_KEY)
        if client_id and VALID_REQUEST_ID.fullmatch(client_id):
            request_id = client_id
        else:
            request_id = new_request_id()
        environ[REQUEST_ID_KEY] = request_id
        https = environ.get("wsgi.url_scheme") == "https"

        def start_with_headers(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            present = {name.lower() for name, _ in headers}
            if "x-request-id" in present:
                headers[:] = [item for item in headers if item[0].lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, request_id))
            if present.isdisjoint(self._security_names):  # the usual case: add them all
                headers.extend(self._security_headers)
            else:
                headers.extend([item for name, item in self._security if name not in present])
            if https and "strict-transport-security" not in present:
                headers.append(HSTS_HEADER)
            for group in environ.get(EDGE_HEADERS_KEY, {}).values():
                headers.extend(group)
            return start_response(status, headers, exc_info)

        return self.app(environ, start_with_headers)


def log_access(response: Response) -> Response:
    """One access line per request: method, path, status, duration, client and user."""
    if not log.isEnabledFor(logging.INFO):
        return response
    current = request._get_current_object()  # one context lookup for the reads below
    state = g._get_current_object()
    environ = current.environ
    started = environ.get(STARTED_KEY)
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else 0.0
    user_id = state.get("user_id", state.get("claimed_user_id"))
    method, path, client = current.method, current.path, current.remote_addr
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
            "request_id": environ.get(REQUEST_ID_KEY, "-"),  # spares the filter its lookup
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
    """Wrap the app in EdgeHeaders and log each request."""
    app.wsgi_app = EdgeHeaders(app.wsgi_app)  # type: ignore[method-assign]
    app.after_request(log_access)
