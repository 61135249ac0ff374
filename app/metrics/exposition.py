"""``GET /metrics`` and the hooks that feed the metrics defined in :mod:`app.metrics`.

:func:`init_metrics` binds them to an application: the after-request hook that counts and
times every request under its route template, the database pool listeners, the build info
and the ``/metrics`` view (CSRF-exempt; the factory also exempts it from rate limiting).
Only clients in ``METRICS_ALLOW`` or bearing ``METRICS_TOKEN`` may read it; anyone else
gets the same 404 as an unknown path, and with ``METRICS_ENABLED=false`` the route does
not exist at all.

Audit events appended are not counted by the workers: event ids are gap-free and numbered
from 1, so the chain head's id read at scrape time is the total, the same whichever worker
answers and however many have restarted.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from app import metrics
from app.context import current_request
from app.edge.identity import bearer_token
from app.extensions import csrf, db
from app.models.audit_event import chain_head
from config import Settings

log = logging.getLogger("inkwell.metrics")

bp = Blueprint("metrics", __name__)

ACCESS_KEY = "inkwell.metrics_access"
METRICS_ENDPOINT = "metrics.scrape"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class MetricsAccess:
    """Who may read /metrics: clients in ``networks``, or anyone bearing ``token``."""

    networks: tuple[Network, ...]
    token: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> MetricsAccess:
        """The rule of ``METRICS_ALLOW`` and ``METRICS_TOKEN`` (parsed once, at start-up)."""
        networks = tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in settings.metrics_allow.split(",")
            if part.strip()
        )
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        return cls(networks, token)

    def allows(self, address: str | None, token: str | None) -> bool:
        """Whether a client at ``address`` presenting ``token`` may read the metrics."""
        if self.token_matches(token):
            return True
        return self.network_allows(address)

    def token_matches(self, token: str | None) -> bool:
        """Whether ``token`` is the configured token (compared in constant time)."""
        if self.token is None or token is None:
            return False
        return hmac.compare_digest(token.encode(), self.token.encode())

    def network_allows(self, address: str | None) -> bool:
        """Whether ``address`` lies in one of the allowed networks."""
        try:
            client = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
        if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
            client = client.ipv4_mapped
        return any(client in network for network in self.networks)


class AuditEventsCollector:
    """``inkwell_audit_events_appended_total`` as read from the audit chain's head."""

    def __init__(self, appended: int | None) -> None:
        """Expose ``appended`` (nothing when the database could not be read)."""
        self.appended = appended

    def collect(self) -> Iterator[Metric]:
        """The counter, if the head could be read."""
        if self.appended is not None:
            yield CounterMetricFamily(
                "inkwell_audit_events_appended",
                "Audit events appended to the trail (its gap-free head id, read at scrape time).",
                value=self.appended,
            )


class PoolUsage:
    """Counts one engine's checked-out connections and feeds the pool gauges.

    Counted from the pool's own checkout and checkin events rather than read at scrape
    time: a scrape is answered by one worker, which cannot see the others' pools.
    """

    def __init__(self, pool_size: int | None) -> None:
        """Count for a pool of ``pool_size`` connections (None: no overflow to report)."""
        self.pool_size = pool_size
        self.in_use = 0
        self.lock = threading.Lock()

    def checked_out(self, *_event_args: object) -> None:
        """A connection left the pool."""
        with self.lock:
            self.in_use += 1
            beyond = self.pool_size is not None and self.in_use > self.pool_size
        metrics.connection_checked_out(beyond)

    def checked_in(self, *_event_args: object) -> None:
        """A connection went back to the pool."""
        with self.lock:
            beyond = self.pool_size is not None and self.in_use > self.pool_size
            self.in_use -= 1
        metrics.connection_checked_in(beyond)


def watch_pool(engine: Engine) -> None:
    """Keep the pool gauges current from ``engine``'s checkout and checkin events."""
    pool = engine.pool
    usage = PoolUsage(pool.size() if isinstance(pool, QueuePool) else None)
    # Listeners on the engine follow its pool when dispose() replaces it.
    event.listen(engine, "checkout", usage.checked_out)
    event.listen(engine, "checkin", usage.checked_in)


def record_request(response: Response) -> Response:
    """After each request: count it and observe its duration under its route template."""
    state = current_request()
    if state is None or request.endpoint == METRICS_ENDPOINT:
        return response  # scrapes are Prometheus' traffic, not the service's
    rule = request.url_rule
    metrics.observe_request(
        request.method,
        rule.rule if rule is not None else None,
        response.status_code,
        time.perf_counter() - state.started,
    )
    return response


def audit_events_appended(engine: Engine) -> int | None:
    """The audit chain head's id (the number of events ever appended), None if unreadable."""
    try:
        with engine.connect() as connection:
            event_id, _ = chain_head(connection)
    except SQLAlchemyError as error:
        log.warning("metrics: audit chain head unreadable: %s", error.__class__.__name__)
        return None
    return event_id


def exposition(engine: Engine) -> bytes:
    """Every metric in the Prometheus text format: all workers' under gunicorn, else ours."""
    # Read before collecting, so that this connection is back in the pool when counted.
    appended = audit_events_appended(engine)
    registry = CollectorRegistry()
    try:
        MultiProcessCollector(registry)
    except ValueError:  # PROMETHEUS_MULTIPROC_DIR is not set: a single process
        registry.register(REGISTRY)
    registry.register(AuditEventsCollector(appended))
    return generate_latest(registry)


@bp.get("/metrics")
def scrape() -> Response:
    """The metrics in the Prometheus text format, for allowed clients; 404 for anyone else."""
    access: MetricsAccess = current_app.extensions[ACCESS_KEY]
    if not access.allows(request.remote_addr, bearer_token()):
        abort(404)
    return Response(
        exposition(db.engine),
        content_type=CONTENT_TYPE_PLAIN_0_0_4,
        headers={"Cache-Control": "no-store"},
    )


def init_metrics(app: Flask, settings: Settings) -> None:
    """Serve /metrics and record requests, pool use and build info (unless disabled)."""
    if not settings.metrics_enabled:
        return
    app.extensions[ACCESS_KEY] = MetricsAccess.from_settings(settings)
    metrics.set_build_info(settings.app_name, settings.app_version)
    app.register_blueprint(bp)
    csrf.exempt(bp)  # read-only, and Prometheus carries no CSRF token
    app.after_request(record_request)
    with app.app_context():
        watch_pool(db.engine)
