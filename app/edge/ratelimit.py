"""Rate limiting: one budget per client for the whole application, a stricter one for sign-in.

Flask-Limiter counts every request (unknown routes included; health checks, static files
and the views exempted with ``limiter.exempt`` left out) against ``RATE_LIMIT_REQUESTS``
per ``RATE_LIMIT_PERIOD`` with a fixed window, keyed by :func:`client_key`. The counters
live in :class:`~app.edge.limiter_storage.WindowStorage` under the storage URI
``inkwell+<RATE_LIMIT_STORAGE_URL>``.

:data:`limiter` is one object per process; every :func:`init_rate_limiting` binds it to
the newest application. The limits are callables that read the settings of the
application serving the request, so each application applies its own.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from limits import RateLimitItem, parse
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from app.edge import limiter_storage
from app.edge.identity import claimed_user_id, client_address
from app.errors import render_error
from app.metrics import count_rate_limit_rejection
from config import Settings

View = TypeVar("View", bound=Callable[..., Any])
log = logging.getLogger("inkwell.ratelimit")

AUTH_SCOPE = "auth"
ACCOUNT_SCOPE = "account"
SETTINGS_KEY = "inkwell.settings"
UNKNOWN_ROUTE = "unknown-route"


def client_key() -> str:
    """The user id of a valid token or signed-in session, else the client address."""
    user_id = claimed_user_id()
    if user_id is not None:
        return f"user:{user_id}"
    return f"ip:{client_address()}"


def client_address_key() -> str:
    """The client address alone, whatever token or session the request carries."""
    return f"ip:{client_address()}"


def request_identifier() -> str:
    """Name every request, unknown routes included, so that scanning counts too."""
    return request.endpoint or UNKNOWN_ROUTE


def application_limit() -> str:
    """``RATE_LIMIT_REQUESTS per RATE_LIMIT_PERIOD seconds`` of the app serving the request."""
    return current_app.extensions[SETTINGS_KEY].rate_limit


def auth_limit() -> str:
    """``AUTH_RATE_LIMIT`` of the app serving the request."""
    return current_app.extensions[SETTINGS_KEY].auth_rate_limit


limiter = Limiter(
    key_func=client_key,
    application_limits=[ApplicationLimit(application_limit, key_function=client_key)],
    request_identifier=request_identifier,
    strategy="fixed-window",
    # The headers are written by add_rate_limit_headers: Retry-After only on a 429.
    headers_enabled=False,
    # The storage counts in memory itself while Redis is away (per process, no backoff);
    # anything else that fails is logged and the request served uncounted.
    in_memory_fallback_enabled=False,
    swallow_errors=True,
)


def auth_rate_limited(view: View) -> View:
    """Count POSTs to a sign-in or registration view against ``AUTH_RATE_LIMIT`` as well.

    Every decorated view shares one budget per client address, on top of the
    application-wide one; a token or session (anyone's) does not open a new budget.
    Apply it below the route decorator::

        @bp.post("/auth/token")
        @auth_rate_limited
        def issue_token(): ...
    """
    return limiter.shared_limit(
        auth_limit, scope=AUTH_SCOPE, methods=["POST"], key_func=client_address_key
    )(view)


class AccountLocked(TooManyRequests):
    """429: the targeted account has had too many failed sign-ins (AUTH_ACCOUNT_RATE_LIMIT)."""


def _account_limit() -> tuple[FixedWindowRateLimiter, RateLimitItem]:
    """The fixed-window strategy over the limiter's storage, and AUTH_ACCOUNT_RATE_LIMIT."""
    settings = current_app.extensions[SETTINGS_KEY]
    return FixedWindowRateLimiter(limiter.storage), parse(settings.auth_account_rate_limit)


def check_account_sign_ins(account: str) -> None:
    """Refuse sign-in to ``account`` (429 with Retry-After) once its failures are used up.

    ``account`` names the targeted account, not the client: failures count from every
    address and with any credentials, so rotating addresses or tokens does not help.
    """
    if not limiter.enabled:
        return
    strategy, item = _account_limit()
    if strategy.test(item, ACCOUNT_SCOPE, account):
        return
    reset_at, _ = strategy.get_window_stats(item, ACCOUNT_SCOPE, account)
    retry_after = max(1, math.ceil(reset_at - time.time()))
    log.warning("sign-in refused: too many failed sign-ins for %s", account)
    count_rate_limit_rejection("account")
    raise AccountLocked(
        f"Too many failed sign-ins for this account: the limit is {describe_limit(item)}",
        retry_after=retry_after,
    )


def record_failed_sign_in(account: str) -> None:
    """Count one failed sign-in against ``account``."""
    if limiter.enabled:
        strategy, item = _account_limit()
        strategy.hit(item, ACCOUNT_SCOPE, account)


def describe_limit(item: RateLimitItem) -> str:
    """A rate limit in words, e.g. '100 per 60 seconds' or '5 per minute'."""
    unit = item.GRANULARITY.name
    if item.multiples == 1:
        return f"{item.amount} per {unit}"
    return f"{item.amount} per {item.multiples} {unit}s"


def rate_limit_exceeded(error: RateLimitExceeded) -> Response:
    """A 429 in the error envelope or on the error page (the headers follow after it)."""
    attempts = "sign-in attempts" if error.limit.scope == AUTH_SCOPE else "requests"
    count_rate_limit_rejection("sign-in" if error.limit.scope == AUTH_SCOPE else "application")
    return render_error(
        429, f"Too many {attempts}: the limit is {describe_limit(error.limit.limit)}"
    )


def add_rate_limit_headers(response: Response) -> Response:
    """``X-RateLimit-*`` for the limit Flask-Limiter reports for this request, and
    ``Retry-After`` when that limit was exceeded."""
    current = limiter.current_limit
    if current is None:
        return response
    reset_at, remaining = current.window
    response.headers["X-RateLimit-Limit"] = str(current.limit.amount)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(math.ceil(reset_at))
    if current.breached:
        response.headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return response


def limiter_config(settings: Settings) -> dict[str, Any]:
    """Flask-Limiter settings that differ between applications.

    The rest (strategy, headers, error handling) is given to the limiter's constructor:
    the one limiter object outlives every application it is bound to.
    """
    return {
        "RATELIMIT_ENABLED": settings.rate_limit_enabled,
        "RATELIMIT_STORAGE_URI": (
            limiter_storage.STORAGE_SCHEME_PREFIX + settings.rate_limit_storage_url
        ),
    }


def init_rate_limiting(app: Flask, settings: Settings) -> None:
    """Bind the limiter to ``app``: its checks, its 429 answer and its response headers.

    Called before any other extension binds, so that the limiter's check runs first and
    requests that a later check rejects (a missing CSRF token) are counted too.
    """
    app.config.update(limiter_config(settings))
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, rate_limit_exceeded)
    app.after_request(add_rate_limit_headers)
