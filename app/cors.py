"""Cross-origin access: only the configured origins, never with credentials.

Flask-CORS answers for the origins in ``CORS_ORIGINS``: an allowed origin is echoed in
``Access-Control-Allow-Origin`` (``*`` when any origin is allowed), any other origin gets no
CORS header at all. Error responses (404, 429, 500) pass through the same hook, so a
browser can read them too. Without ``CORS_ORIGINS`` the extension is not bound at all.

Flask-CORS works its answer out afresh for every response, which costs more than the rest
of a small API request's edge work together; :class:`RememberedCors` wraps its hook and
hands the headers it gave for the same kind of request to EdgeHeaders (app/hooks.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask, Response, request

from app.hooks import add_edge_headers
from config import Settings

ALLOWED_HEADERS = ["Authorization", "Content-Type", "If-Match", "X-Request-ID"]
EXPOSED_HEADERS = [
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "ETag",
    "Link",
]
ALLOWED_METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"]
PREFLIGHT_MAX_AGE_SECONDS = 600
# Origins and preflight headers come from clients: the memory of answers stays bounded.
REMEMBERED_ANSWERS = 1024
# EdgeHeaders writes the remembered answers (add_edge_headers), under this group name.
HEADER_GROUP = "cors"


def exact_origin(origin: str) -> re.Pattern[str]:
    """A pattern matching exactly ``origin`` (scheme, host and port; case-insensitive).

    Flask-CORS would read an origin holding regex characters as a pattern; escaping and
    anchoring it rules out prefix and suffix tricks such as ``https://app.example.com.evil``.
    """
    return re.compile(re.escape(origin) + r"\Z", re.IGNORECASE)


def vary_on_origin(vary: str | None, response: Response) -> list[tuple[str, str]]:
    """Tell caches that the answer depends on ``Origin``, whether or not it was allowed.

    Merges ``Origin`` into the response's ``Vary`` (``vary``, if it has one); else returns
    the header to add.
    """
    if vary is None:
        return [("Vary", "Origin")]
    if "origin" not in {part.strip().lower() for part in vary.split(",")}:
        response.headers["Vary"] = f"{vary}, Origin"
    return []


def scan_headers(response: Response) -> tuple[str | None, bool]:
    """The response's ``Vary`` and whether it carries ``Access-Control-Allow-Origin``.

    One pass over the headers: a failed lookup in Werkzeug's Headers raises and catches.
    """
    vary, allow_origin = None, False
    for name, value in response.headers:
        lowered = name.lower()
        if lowered == "vary":
            vary = value
        elif lowered == "access-control-allow-origin":
            allow_origin = True
    return vary, allow_origin


class RememberedCors:
    """Flask-CORS's after-request hook, replaying its answer for requests it has answered.

    Flask-CORS's headers depend only on the request's method, ``Origin`` and preflight
    headers (``Access-Control-Request-Method``, ``-Headers`` and ``-Private-Network``;
    Inkwell applies one set of options to every path), so the headers it added for
    one such combination are handed to EdgeHeaders, as they were, for the next. A response
    that already carries CORS headers goes to Flask-CORS itself, which leaves it alone.
    """

    def __init__(self, hook: Callable[[Response], Response], vary: bool) -> None:
        self.hook = hook
        self.vary = vary
        self._answers: dict[tuple[str | None, ...], list[tuple[str, str]]] = {}

    def __call__(self, response: Response) -> Response:
        """Add the CORS headers Flask-CORS gives this kind of request (and ``Vary: Origin``)."""
        environ = request.environ
        vary, allow_origin = scan_headers(response)
        headers = vary_on_origin(vary, response) if self.vary else []
        if "HTTP_ORIGIN" in environ:  # else not a CORS request: Flask-CORS adds nothing
            key = (
                environ["REQUEST_METHOD"],
                environ["HTTP_ORIGIN"],
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
            )
            answer = self._answers.get(key)
            if answer is None or allow_origin:
                response = self._ask(response, key, allow_origin)
            else:
                headers = headers + answer
        if headers:
            add_edge_headers(HEADER_GROUP, headers, environ)
        return response

    def _ask(self, response: Response, key: tuple[str | None, ...], answered: bool) -> Response:
        """Let Flask-CORS answer, and remember the headers it added (unless ``answered``
        already, when it adds none)."""
        before = len(response.headers)
        response = self.hook(response)
        if not answered:
            if len(self._answers) >= REMEMBERED_ANSWERS:
                self._answers.clear()
            self._answers[key] = list(response.headers)[before:]
        return response


def init_cors(app: Flask, settings: Settings) -> None:
    """Bind Flask-CORS with the exact-origin allow list from ``CORS_ORIGINS``."""
    from app.extensions import cors

    origins = settings.cors_origin_list
    if not origins:
        return
    any_origin = origins == ["*"]
    hooks = app.after_request_funcs.setdefault(None, [])
    known = len(hooks)
    cors.init_app(
        app,
        origins="*" if any_origin else [exact_origin(origin) for origin in origins],
        send_wildcard=any_origin,
        always_send=False,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        methods=ALLOWED_METHODS,
        supports_credentials=False,
        allow_private_network=False,
        vary_header=False,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )
    # Flask-CORS added one after-request hook; it runs inside RememberedCors instead.
    (hook,) = hooks[known:]
    hooks[known:] = [RememberedCors(hook, vary=not any_origin)]
