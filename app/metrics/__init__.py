"""Prometheus metrics: the metric objects and the calls other modules make to record.

A leaf module (it imports nothing from the application), so that the request edge, the
views and the services can all record without an import cycle. The ``/metrics`` view, the
request hook and the database pool listeners live in :mod:`app.metrics.exposition`.

The objects are defined once per process in prometheus-client's default registry (tests
build many applications in one process: they assert on deltas). Under gunicorn,
``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker imports this
module, so every value lives in a per-process file of that directory and a scrape of any
worker adds up all of them. Gauges therefore name how workers combine
(``multiprocess_mode``): ``live*`` modes forget a worker once it has exited.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

#: The route label of requests no route matched (404, 405): one label, however many paths.
UNMATCHED_ROUTE: Final = "unmatched"
#: Methods counted under their own name; anything else is ``OTHER`` (bounded label values).
KNOWN_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The rate limits a request can be rejected by.
RATE_LIMIT_SCOPES: Final = ("application", "sign-in", "account")
#: Request durations: the service answers in 1-500 ms, so the buckets are finest there.
DURATION_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
)

HTTP_REQUESTS = Counter(
    "inkwell_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "inkwell_http_request_duration_seconds",
    "Time from the request entering the application to its response, by method and route.",
    ["method", "route"],
    buckets=DURATION_BUCKETS,
)
RATE_LIMIT_REJECTIONS = Counter(
    "inkwell_rate_limit_rejections",
    "Requests answered 429, by the limit that rejected them.",
    ["scope"],
)
RATE_LIMIT_STORAGE_FALLBACK = Gauge(
    "inkwell_rate_limit_storage_fallback",
    "1 while a worker counts rate limits in its own memory because the storage is unreachable.",
    multiprocess_mode="livemax",
)
DB_POOL_IN_USE = Gauge(
    "inkwell_db_pool_connections_in_use",
    "Database connections checked out of the pools of all live workers.",
    multiprocess_mode="livesum",
)
DB_POOL_OVERFLOW = Gauge(
    "inkwell_db_pool_overflow_connections",
    "Checked-out database connections beyond the pool size (max_overflow), all live workers.",
    multiprocess_mode="livesum",
)
FAILED_SIGN_INS = Counter(
    "inkwell_failed_sign_ins",
    "Sign-in attempts (API token or login page) answered with wrong credentials.",
)
BUILD_INFO = Gauge(
    "inkwell_build_info",
    "Always 1; the labels name the application and its version.",
    ["app", "version"],
    multiprocess_mode="livemax",
)

# Every scope is shown from the start (at 0), so that rate() works from the first 429.
for _scope in RATE_LIMIT_SCOPES:
    RATE_LIMIT_REJECTIONS.labels(scope=_scope)


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    """Count one answered request and its duration under bounded labels."""
    method = method if method in KNOWN_METHODS else "OTHER"
    route = route or UNMATCHED_ROUTE
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_REQUEST_DURATION.labels(method=method, route=route).observe(seconds)


def count_rate_limit_rejection(scope: str) -> None:
    """Count a 429 from the ``application``, ``sign-in`` or ``account`` limit."""
    if scope not in RATE_LIMIT_SCOPES:
        raise ValueError(f"unknown rate-limit scope {scope!r}; one of {RATE_LIMIT_SCOPES}")
    RATE_LIMIT_REJECTIONS.labels(scope=scope).inc()


def count_failed_sign_in() -> None:
    """Count a sign-in answered with wrong credentials."""
    FAILED_SIGN_INS.inc()


def set_limiter_fallback(down: bool) -> None:
    """Record whether this worker counts rate limits in memory (storage unreachable)."""
    RATE_LIMIT_STORAGE_FALLBACK.set(1 if down else 0)


def set_build_info(app_name: str, version: str) -> None:
    """Publish the application's name and version as ``inkwell_build_info``."""
    BUILD_INFO.labels(app=app_name, version=version).set(1)


def connection_checked_out(beyond_pool_size: bool) -> None:
    """A database connection left a pool (``beyond_pool_size``: it is an overflow one)."""
    DB_POOL_IN_USE.inc()
    if beyond_pool_size:
        DB_POOL_OVERFLOW.inc()


def connection_checked_in(beyond_pool_size: bool) -> None:
    """A database connection went back to its pool."""
    DB_POOL_IN_USE.dec()
    if beyond_pool_size:
        DB_POOL_OVERFLOW.dec()
