"""Rate limiting: one budget per client for the whole application, a stricter one for sign-in.

Flask-Limiter counts every request (unknown routes included, health checks and static files
exempt) against ``RATE_LIMIT_REQUESTS`` per ``RATE_LIMIT_PERIOD`` with a fixed window. The
counters live in the storage named by ``RATE_LIMIT_STORAGE_URL``, reached through
:class:`WindowStorage`, which

* answers a hit together with its window in one Redis round trip, so that the
  ``X-RateLimit-*`` headers cost no extra query, and
* counts in process memory while Redis is unreachable (one warning per outage) and probes
  Redis again every second, so that shared counting resumes as soon as Redis is back.

The application-wide budget is counted by :class:`ApplicationLimiter`, Flask-Limiter's
extension with a lean before-request check (see there).

The limiter in ``app.extensions`` is one object per process: every ``init_rate_limiting``
re-binds it to the newest application, whose settings then apply.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import Flask, Request, Response, current_app, g, has_request_context, request
from flask_limiter import ApplicationLimit, ExemptionScope, Limiter, RateLimitExceeded
from limits import RateLimitItem
from limits.storage import RedisStorage, Storage, storage_from_string
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from app.auth import claimed_user_id
from app.hooks import add_edge_headers
from config import RATE_LIMIT_STORAGE_SCHEMES, Settings

if TYPE_CHECKING:
    from flask_limiter._limits import RuntimeLimit

log = logging.getLogger("inkwell.ratelimit")

View = TypeVar("View", bound=Callable[..., Any])

AUTH_SCOPE = "auth"
_BUDGET = "inkwell.rate_limit_budget"
# Client keys come from requests: the memory of their storage keys stays bounded.
REMEMBERED_CLIENT_KEYS = 10_000
STORAGE_SCHEME_PREFIX = "inkwell+"
# A Redis that does not answer within this time counts as down; a request never waits longer.
REDIS_TIMEOUT_SECONDS = 0.5
# While Redis is down, one request per second per process tries it again.
REDIS_PROBE_INTERVAL_SECONDS = 1.0
_WINDOWS = "_rate_limit_windows"
# EdgeHeaders writes the X-RateLimit-* headers (add_edge_headers), under this group name.
HEADER_GROUP = "rate-limit"

# Add ``amount`` to a window counter and return the count with the window's remaining
# milliseconds; the first hit (or a key that somehow lost its expiry) starts the window.
HIT_SCRIPT = """
local count = redis.call("INCRBY", KEYS[1], ARGV[2])
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then
    redis.call("PEXPIRE", KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


def rate_limit_key() -> str:
    """The user id of a valid token or signed-in session, else the client address."""
    return client_key(request._get_current_object())


def client_key(current: Request) -> str:
    """:func:`rate_limit_key` of ``current``, the request being served."""
    if _may_name_a_user(current):
        user_id = claimed_user_id()
        if user_id is not None:
            return f"user:{user_id}"
    return f"ip:{current.remote_addr or 'unknown'}"


def _may_name_a_user(current: Request) -> bool:
    """Whether the request carries credentials at all: an Authorization header or a session.

    Without either there is no user to look for, and leaving the session untouched spares
    every anonymous response the session bookkeeping (``Vary: Cookie``).
    """
    environ = current.environ
    if "HTTP_AUTHORIZATION" in environ:
        return True
    if "HTTP_COOKIE" not in environ:
        return False
    return current_app.session_interface.get_cookie_name(current_app) in current.cookies


def request_identifier() -> str:
    """Name every request, unknown routes included, so that scanning counts too."""
    return request.endpoint or "unknown-route"


def auth_limit() -> str:
    """``AUTH_RATE_LIMIT`` of the current app, read on each request."""
    return current_app.extensions["inkwell.settings"].auth_rate_limit


def auth_rate_limited(view: View) -> View:
    """Count POSTs to a sign-in view (token or login form) against ``AUTH_RATE_LIMIT`` too.

    Every decorated view shares one budget per client, on top of the application-wide one.
    Apply it below the route decorator::

        @bp.post("/auth/token")
        @auth_rate_limited
        def issue_token(): ...
    """
    from app.extensions import limiter

    return limiter.shared_limit(auth_limit, scope=AUTH_SCOPE, methods=["POST"])(view)


@dataclass
class ApplicationBudget:
    """An app's application-wide limit, whether each endpoint is exempt from it, and the
    storage key of each client seen lately."""

    limit: RuntimeLimit
    exempt: dict[str | None, bool] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def key_for(self, client: str, prefix: str | None) -> str:
        """Flask-Limiter's storage key for ``client`` under this limit."""
        key = self.keys.get(client)
        if key is None:
            if len(self.keys) >= REMEMBERED_CLIENT_KEYS:
                self.keys.clear()
            identifiers = [client, cast(str, self.limit.scope)]
            if prefix:
                identifiers.insert(0, prefix)
            key = self.keys[client] = self.limit.limit.key_for(*identifiers)
        return key


@dataclass
class LimitWindow:
    """A limit's window as the request's own hit left it: what the response headers report."""

    limit: int
    remaining: int
    reset_at: float
    breached: bool

    def headers(self) -> list[tuple[str, str]]:
        """``X-RateLimit-*``, and ``Retry-After`` when the limit was hit."""
        headers = [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset", str(math.ceil(self.reset_at))),
        ]
        if self.breached:
            retry_after = max(1, math.ceil(self.reset_at - time.time()))
            headers.append(("Retry-After", str(retry_after)))
        return headers


class ApplicationLimiter(Limiter):
    """Flask-Limiter whose before-request check counts the application-wide budget directly.

    Flask-Limiter's own check resolves each request's limits anew (application and default
    limits, exemptions of the view and its blueprints, meta limits): some 450 Python calls,
    more than the rest of a small API request. The application-wide budget is the same for
    every request, so this check hits it in Flask-Limiter's storage with the key Flask-Limiter
    would use, resolves each endpoint's exemption once, and hands the window the hit returned
    to EdgeHeaders for the response headers. Limits declared on views (the sign-in limit)
    still go through Flask-Limiter's full check, which the decorated view runs; the headers
    then report the view's limit, as Flask-Limiter's own would.
    """

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        """Count the request against the app's budget; raise ``RateLimitExceeded`` when spent."""
        if not in_middleware:
            try:
                super()._check_request_limit(callable_name, in_middleware)
            finally:
                window = _view_limit_window()
                if window is not None:
                    add_edge_headers(HEADER_GROUP, window.headers())
            return
        budget: ApplicationBudget | None = current_app.extensions.get(_BUDGET)
        current = request._get_current_object()  # one context lookup for all that follows
        if budget is None or not self.enabled or self._exempt(budget, current):
            return
        try:
            window = self._hit(budget, client_key(current))
        except Exception:  # the limiter must never turn a request into a 500
            log.exception("rate limiting failed; the request is served uncounted")
            return
        add_edge_headers(HEADER_GROUP, window.headers(), current.environ)
        if window.breached:
            log.info("rate limit %s exceeded by %s", budget.limit.limit, client_key(current))
            raise RateLimitExceeded(budget.limit)

    def _exempt(self, budget: ApplicationBudget, current: Request) -> bool:
        """Static files, exempted views and blueprints, and request filters."""
        endpoint = current.endpoint
        exempt = budget.exempt.get(endpoint)
        if exempt is None:
            exempt = budget.exempt[endpoint] = endpoint is not None and (
                endpoint.rpartition(".")[2] == "static"
                or ExemptionScope.APPLICATION
                in self.limit_manager.exemption_scope(current_app, endpoint, current.blueprint)
            )
        return exempt or bool(self._request_filters and any(f() for f in self._request_filters))

    def _hit(self, budget: ApplicationBudget, client: str) -> LimitWindow:
        """One hit on the storage, under Flask-Limiter's key for an application-wide limit.

        ``client`` is what the limit's key function (:func:`rate_limit_key`) gives.
        """
        item = budget.limit.limit
        storage: WindowStorage = self.storage  # type: ignore[assignment]
        key = budget.key_for(client, self._key_prefix)
        count, reset_at = storage.hit(key, item.get_expiry(), 1)
        return LimitWindow(item.amount, max(0, item.amount - count), reset_at, count > item.amount)


def _remember_window(key: str, count: int, reset_at: float) -> None:
    if has_request_context():
        g.setdefault(_WINDOWS, {})[key] = (count, reset_at)


def _remembered_window(key: str) -> tuple[int, float] | None:
    if has_request_context():
        return g.get(_WINDOWS, {}).get(key)
    return None


class MemoryWindows:
    """Fixed-window counters of this process: for ``memory://`` and while Redis is down.

    limits' MemoryStorage expires keys from a timer thread that it starts again every 10 ms
    under load, which costs more than the counting itself; here an expired window is
    replaced when it is next hit, and all expired windows are dropped once a minute.
    """

    SWEEP_INTERVAL_SECONDS = 60.0

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.time() + self.SWEEP_INTERVAL_SECONDS

    def hit(self, key: str, expiry: int, amount: int) -> tuple[int, float]:
        """Add ``amount`` to the window of ``key``; its count and reset time (epoch seconds)."""
        now = time.time()
        with self._lock:
            count, reset_at = self._windows.get(key, (0, now))
            if reset_at <= now:
                count, reset_at = 0, now + expiry
            count += amount
            self._windows[key] = (count, reset_at)
            if now >= self._next_sweep:
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                self._next_sweep = now + self.SWEEP_INTERVAL_SECONDS
        return count, reset_at

    def window(self, key: str) -> tuple[int, float]:
        """The count and reset time of the window of ``key`` (0 and now when there is none)."""
        now = time.time()
        count, reset_at = self._windows.get(key, (0, now))
        return (count, reset_at) if reset_at > now else (0, now)

    def clear(self, key: str) -> None:
        """Forget the window of ``key``."""
        with self._lock:
            self._windows.pop(key, None)

    def reset(self) -> int:
        """Forget every window; how many there were."""
        with self._lock:
            count, self._windows = len(self._windows), {}
        return count

    def __len__(self) -> int:
        """How many windows are held (expired ones until the next sweep)."""
        return len(self._windows)


class HitScript:
    """HIT_SCRIPT, run over a connection each thread keeps open, or through the client.

    A plain (or Sentinel) Redis client checks a connection out of its pool and back in for
    every command, with retry and instrumentation layers around it: several times the work
    of the round trip itself. A Redis Cluster client routes each key to its node, so there
    every hit goes through the client.
    """

    def __init__(self, client: Any) -> None:
        self._script = client.register_script(HIT_SCRIPT)
        self._pool = getattr(client, "connection_pool", None)
        self._held = threading.local()

    def __call__(self, key: str, expiry_ms: int, amount: int) -> tuple[int, int]:
        """Run the script for ``key``: the window's count and its remaining milliseconds."""
        if self._pool is None:
            return self._script(keys=[key], args=[expiry_ms, amount])
        connection = self._connection()
        try:
            try:
                connection.send_command("EVALSHA", self._script.sha, 1, key, expiry_ms, amount)
                return connection.read_response()
            except NoScriptError:  # a restarted or flushed Redis: EVAL loads the script again
                connection.send_command("EVAL", HIT_SCRIPT, 1, key, expiry_ms, amount)
                return connection.read_response()
        except BaseException:
            connection.disconnect()  # in an unknown state: the next call connects afresh
            raise

    def _connection(self) -> Any:
        """This thread's connection (a forked process takes a new one)."""
        held = self._held
        if getattr(held, "pid", None) != os.getpid():
            held.connection, held.pid = self._pool.get_connection(), os.getpid()
        return held.connection


class WindowStorage(Storage):
    """Fixed-window counters in Redis or in memory, falling back to memory while Redis is down.

    ``incr`` also records the count and reset time it saw for the current request, so that
    reading the window for the response headers needs no second round trip.
    """

    STORAGE_SCHEME = [STORAGE_SCHEME_PREFIX + scheme for scheme in RATE_LIMIT_STORAGE_SCHEMES]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        target = uri.removeprefix(STORAGE_SCHEME_PREFIX)
        self.memory = MemoryWindows()
        self.redis: RedisStorage | None = None
        if not target.startswith("memory://"):
            self.redis = storage_from_string(target, **options)
            self._hit_script = HitScript(self.redis.get_connection())
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_probe = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """Redis errors (they never escape: counting falls back to memory)."""
        return self.redis.base_exceptions if self.redis is not None else ()

    @property
    def is_down(self) -> bool:
        """Whether counting happens in process memory because Redis failed."""
        return self._down_since is not None

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count ``amount`` hits in the window of ``key`` and return the window's count.

        The window is remembered for the request, for its response headers.
        """
        count, reset_at = self.hit(key, expiry, amount)
        _remember_window(key, count, reset_at)
        return count

    def hit(self, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        """Count ``amount`` hits in the window of ``key``; its count and reset time (epoch s)."""
        if self.redis is not None and self._redis_due():
            try:
                count, ttl_ms = self._hit_script(
                    self.redis.prefixed_key(key), expiry * 1000, amount
                )
            except self.redis.base_exceptions as error:
                self._redis_failed(error)
                return self.memory.hit(key, expiry, amount)
            self._redis_answered()
            return int(count), time.time() + int(ttl_ms) / 1000
        return self.memory.hit(key, expiry, amount)

    def get(self, key: str) -> int:
        """The count in the window of ``key``."""
        return self._window(key)[0]

    def get_expiry(self, key: str) -> float:
        """When the window of ``key`` ends (epoch seconds)."""
        return self._window(key)[1]

    def check(self) -> bool:
        """Whether Redis answers right now (memory always does)."""
        return self.redis.check() if self.redis is not None else True

    def reset(self) -> int | None:
        """Forget every counter."""
        forgotten = self.memory.reset()
        return self.redis.reset() if self.redis is not None else forgotten

    def clear(self, key: str) -> None:
        """Forget the counter of ``key``."""
        self.memory.clear(key)
        if self.redis is not None:
            self.redis.clear(key)

    def _window(self, key: str) -> tuple[int, float]:
        remembered = _remembered_window(key)
        if remembered is not None:
            return remembered
        if self.redis is None or self.is_down:
            return self.memory.window(key)
        try:
            return self.redis.get(key), self.redis.get_expiry(key)
        except self.redis.base_exceptions as error:
            self._redis_failed(error)
            return self.memory.window(key)

    def _redis_due(self) -> bool:
        """Use Redis while it is up; while it is down, let one caller per interval try it."""
        if self._down_since is None:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._next_probe:
                return False
            self._next_probe = now + REDIS_PROBE_INTERVAL_SECONDS
            return True

    def _redis_failed(self, error: Exception) -> None:
        with self._lock:
            self._next_probe = time.monotonic() + REDIS_PROBE_INTERVAL_SECONDS
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        log.warning(
            "rate-limit storage unreachable (%s); counting in process memory until it is back",
            error.__class__.__name__,
        )

    def _redis_answered(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            outage = time.monotonic() - self._down_since
            self._down_since = None
        self.memory.reset()
        log.warning(
            "rate-limit storage reachable again after %.1fs; shared counting resumed", outage
        )


def storage_options(settings: Settings) -> dict[str, Any]:
    """Redis client options: short timeouts and no retries, so a dead Redis costs no wait."""
    if settings.rate_limit_storage_url.startswith("memory://"):
        return {}
    return {
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), 0),
    }


def limiter_config(settings: Settings) -> dict[str, Any]:
    """Flask-Limiter settings derived from Inkwell's."""
    return {
        "RATELIMIT_ENABLED": settings.rate_limit_enabled,
        "RATELIMIT_STORAGE_URI": STORAGE_SCHEME_PREFIX + settings.rate_limit_storage_url,
        "RATELIMIT_STORAGE_OPTIONS": storage_options(settings),
        "RATELIMIT_STRATEGY": "fixed-window",
        # Inkwell writes the headers itself (LimitWindow.headers): Retry-After only on 429.
        "RATELIMIT_HEADERS_ENABLED": False,
        # WindowStorage fails over to memory itself, per process and without backoff.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_REQUEST_IDENTIFIER": request_identifier,
    }


def describe_limit(item: RateLimitItem) -> str:
    """A rate limit in words, e.g. '100 per 60 seconds' or '5 per minute'."""
    unit = item.GRANULARITY.name
    if item.multiples == 1:
        return f"{item.amount} per {unit}"
    return f"{item.amount} per {item.multiples} {unit}s"


def rate_limit_exceeded(error: RateLimitExceeded) -> Response:
    """A 429 in the error envelope or on the error page; the headers follow after the request."""
    from app.errors import render_error

    attempts = "sign-in attempts" if error.limit.scope == AUTH_SCOPE else "requests"
    return render_error(
        429, f"Too many {attempts}: the limit is {describe_limit(error.limit.limit)}"
    )


def _view_limit_window() -> LimitWindow | None:
    """The window of the limit Flask-Limiter reports for a view with limits of its own."""
    from app.extensions import limiter

    limit = limiter.current_limit
    if limit is None:
        return None
    amount = limit.limit.amount
    window = _remembered_window(limit.key)
    if window is None:
        try:
            reset_at, remaining = limit.window
        except Exception:  # the window could not be read: answer without the headers
            log.warning("rate-limit window unavailable; headers omitted", exc_info=True)
            return None
    else:
        count, reset_at = window
        remaining = max(0, amount - count)
    return LimitWindow(amount, remaining, reset_at, limit.breached)


def init_rate_limiting(app: Flask, settings: Settings) -> None:
    """Bind the limiter to ``app`` and count each request before any other check runs."""
    from app.extensions import limiter

    app.config.update(limiter_config(settings))
    checks = app.before_request_funcs.setdefault(None, [])
    finishers = app.after_request_funcs.setdefault(None, [])
    teardowns = app.teardown_request_funcs.setdefault(None, [])
    known, known_finishers, known_teardowns = len(checks), len(finishers), len(teardowns)
    limiter.init_app(app)
    # Flask-Limiter's after-request hook deducts conditional limits and writes its headers;
    # its teardown clears its state on the request context. Inkwell declares no conditional
    # limit, writes the headers itself (LimitWindow.headers), and that state ends with
    # the request context anyway: the two hooks would cost every request for nothing.
    del finishers[known_finishers:]
    del teardowns[known_teardowns:]
    if not settings.rate_limit_enabled:
        return
    # Flask-Limiter's definition of an application-wide limit, as one limit to count.
    (budget,) = ApplicationLimit(settings.rate_limit, key_function=rate_limit_key)
    app.extensions[_BUDGET] = ApplicationBudget(budget)
    # Run the limiter's check first, so that requests a later check rejects (CSRF) count too.
    checks[:] = checks[known:] + checks[:known]
    app.register_error_handler(RateLimitExceeded, rate_limit_exceeded)
