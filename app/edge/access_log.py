"""One access line per request: method, path, status, duration, client and user."""

from __future__ import annotations

import logging
import time

from flask import Response, request

from app.context import RequestState, current_request

log = logging.getLogger("inkwell.access")


def acting_user_id(state: RequestState | None) -> int | None:
    """The user the request's credentials name (the verified user has that id), else None.

    Reads only what the request has resolved already: the access log never opens the
    session or queries the database itself. Not the loaded user's ``id``: after a
    rollback (a database that went away mid-request) reading it would query again.
    """
    if state is None:
        return None
    return state.claimed_user_id


def log_access(response: Response) -> Response:
    """After each request: log its access line (also as ``extra`` fields for JSON lines)."""
    # Prometheus scrapes every few seconds: their lines would drown the traffic's.
    level = logging.DEBUG if request.endpoint == "metrics.scrape" else logging.INFO
    if not log.isEnabledFor(level):
        return response
    state = current_request()
    started = state.started if state is not None else None
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else 0.0
    user_id = acting_user_id(state)
    method, path, client = request.method, request.path, request.remote_addr
    status = response.status_code
    log.log(
        level,
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
