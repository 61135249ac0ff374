"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app

from app.database import ping
from app.edge.ratelimit import limiter
from app.extensions import db
from app.helpers import envelope_response
from config import Settings

log = logging.getLogger("inkwell.health")

bp = Blueprint("health", __name__)


@bp.get("/health/live")
def live() -> Response:
    """200 while the process serves; touches nothing else."""
    return envelope_response(True, "alive", {"status": "ok"}, 200)


@bp.get("/health")
def ready() -> Response:
    """Readiness: the database must answer; the rate-limit storage in use may degrade."""
    settings = current_app.extensions["inkwell.settings"]
    checks = readiness_checks(settings)
    status = overall_status(checks)
    data = {
        "status": status,
        "app": settings.app_name,
        "version": settings.app_version,
        "checks": checks,
    }
    message = {"ok": "ready", "degraded": "ready (degraded)", "error": "not ready"}[status]
    code = 503 if status == "error" else 200
    return envelope_response(code == 200, message, data, code)


def readiness_checks(settings: Settings) -> dict[str, dict]:
    """Run each readiness check: ``{name: {status, latency_ms[, error]}}``.

    The database always; the rate-limit storage when it is not in process memory. Shared
    by ``GET /health`` and the admin operations page.
    """
    checks = {
        "database": {**_check(lambda: ping(db.engine)), "pgbouncer": settings.database_pgbouncer}
    }
    if settings.rate_limit_enabled and not settings.rate_limit_storage_url.startswith("memory://"):
        checks["rate_limit_storage"] = _check(_ping_limiter_storage)
    return checks


def overall_status(checks: dict[str, dict]) -> str:
    """``error`` without the database, ``degraded`` when another check fails, else ``ok``."""
    if checks["database"]["status"] == "error":
        return "error"
    if any(check["status"] == "error" for check in checks.values()):
        return "degraded"
    return "ok"


def _ping_limiter_storage() -> None:
    if not limiter.storage.check():
        raise ConnectionError("rate-limit storage did not answer")


def _check(probe) -> dict:
    started = time.perf_counter()
    try:
        probe()
    except Exception as error:
        log.warning("health check failed: %s", error.__class__.__name__)
        result = {"status": "error", "error": error.__class__.__name__}
    else:
        result = {"status": "ok"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result
