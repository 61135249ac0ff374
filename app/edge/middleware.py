"""The outermost layer of every request: its id, its timing and the security headers.

:class:`RequestEdge` is a plain WSGI middleware around the Flask app (the pattern Flask
documents for ``app.wsgi_app``). It opens the request's :class:`~app.context.RequestState`
before anything else runs and closes it after the app has answered, so that every log
line of the request carries its id and the access log can time it. As the app starts
its response, the edge adds ``X-Request-ID`` and the security headers; other components
set their own headers on the Flask response through public hooks (``after_request``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from app.context import begin_request, end_request

REQUEST_ID_HEADER = "X-Request-ID"
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
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
)
HSTS_HEADER = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def new_request_id() -> str:
    """A fresh request id: 32 random hex digits."""
    return secrets.token_hex(16)


def request_id_for(client_value: str | None) -> str:
    """The client's own ``X-Request-ID`` when it is well formed, else a fresh id."""
    if client_value and VALID_REQUEST_ID.fullmatch(client_value):
        return client_value
    return new_request_id()


def edge_headers(
    headers: list[tuple[str, str]], request_id: str, https: bool
) -> list[tuple[str, str]]:
    """``headers`` with the request id (replacing the app's) and the security headers the
    app did not set itself (HSTS only over https)."""
    present = {name.lower() for name, _ in headers}
    result = [item for item in headers if item[0].lower() != "x-request-id"]
    result.append((REQUEST_ID_HEADER, request_id))
    result.extend(item for item in SECURITY_HEADERS if item[0].lower() not in present)
    if https and "strict-transport-security" not in present:
        result.append(HSTS_HEADER)
    return result


class RequestEdge:
    """WSGI middleware: one request id and one timing per request, and the edge's headers
    on every response, error pages included."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request inside its own request state."""
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID"))

        def start_with_edge_headers(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            # Read the scheme now, not on the way in: ProxyFix (inside the edge) rewrites it
            # from X-Forwarded-Proto when the proxy in front is trusted.
            https = environ.get("wsgi.url_scheme") == "https"
            return start_response(status, edge_headers(headers, request_id, https), exc_info)

        token = begin_request(request_id)
        try:
            return self.app(environ, start_with_edge_headers)
        finally:
            end_request(token)
