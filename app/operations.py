"""What the admin operations page shows: one snapshot of this worker and its database.

Build and uptime, the effective settings with every secret redacted, the readiness checks
(the same ones ``GET /health`` runs), the rate-limit storage as this worker sees it, how
many records there are, and the audit chain's head beside its newest anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from prometheus_client import ProcessCollector
from pydantic import SecretStr
from sqlalchemy import Connection, func, select

from app.audit import Anchor, AnchorFileError, read_anchors
from app.database import read_connection
from app.edge.ratelimit import limiter
from app.extensions import db
from app.health import overall_status, readiness_checks
from app.models import Comment, Post, User
from app.models.audit_event import chain_head
from config import SECRET_BEARING_KEYS, Settings

REDACTED = "••••••"
#: Query parameters of a URL whose values are secrets (``?password=...`` is valid libpq).
SECRET_QUERY_WORDS = ("pass", "secret", "token", "key")
COUNTED_MODELS = (("Users", User), ("Posts", Post), ("Comments", Comment))


@dataclass(frozen=True)
class RecordCount:
    """How many rows of one kind exist, and how many of them are soft-deleted."""

    label: str
    total: int
    deleted: int


@dataclass(frozen=True)
class AnchorState:
    """The newest anchor in ``AUDIT_ANCHOR_FILE`` (or why there is none) and its age."""

    path: str
    anchor: Anchor | None = None
    age_seconds: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class LimiterState:
    """The rate-limit storage as this worker sees it."""

    enabled: bool
    storage: str
    shared: bool
    in_fallback: bool


@dataclass(frozen=True)
class OpsReport:
    """Everything the operations page shows."""

    app_name: str
    version: str
    started_at: datetime | None
    uptime_seconds: float | None
    settings: list[tuple[str, str]]
    health_status: str
    checks: dict[str, dict]
    limiter: LimiterState
    counts: list[RecordCount]
    audit_events: int
    chain_head_id: int
    chain_head_hash: str
    last_anchor: AnchorState


def redact_url(url: str) -> str:
    """``url`` with the password of its user part and secret query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{hosts}"
    query = "&".join(_redact_parameter(item) for item in parts.query.split("&") if item)
    # Assembled by hand: urlunsplit drops the empty authority of sqlite:////path and memory://.
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    if query:
        shown += f"?{query}"
    if parts.fragment:
        shown += f"#{parts.fragment}"
    return shown


def _redact_parameter(item: str) -> str:
    name, equals, _ = item.partition("=")
    if equals and any(word in unquote(name).lower() for word in SECRET_QUERY_WORDS):
        return f"{name}={REDACTED}"
    return item


def redacted_settings(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as ``(KEY, shown value)``; secret-bearing keys never show a secret."""
    rows = []
    for name in type(settings).model_fields:
        key, value = name.upper(), getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = f"set ({REDACTED})"
        elif value is None or value == "":
            shown = "(empty)"
        elif key in SECRET_BEARING_KEYS:
            shown = redact_url(value) if "://" in str(value) else REDACTED
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        else:
            shown = str(value)
        rows.append((key, shown))
    return rows


def process_started_at() -> datetime | None:
    """When this process (the gunicorn worker) started, from /proc; None where unknown."""
    for family in ProcessCollector(registry=None).collect():
        for sample in family.samples:
            if sample.name == "process_start_time_seconds":
                return datetime.fromtimestamp(sample.value, UTC)
    return None


def limiter_state(settings: Settings) -> LimiterState:
    """Whether limits are enforced, where they are counted, and whether in fallback."""
    shown = redact_url(settings.rate_limit_storage_url)
    if not settings.rate_limit_enabled:
        return LimiterState(False, shown, shared=False, in_fallback=False)
    storage = limiter.storage
    return LimiterState(True, shown, shared=storage.uses_redis, in_fallback=storage.is_down)


def record_counts(connection: Connection) -> list[RecordCount]:
    """Users, posts and comments: all rows, and the soft-deleted among them."""
    counts = []
    for label, model in COUNTED_MODELS:
        table = model.__table__
        total, deleted = connection.execute(
            select(func.count(), func.count(table.c.deleted_at)).select_from(table)
        ).one()
        counts.append(RecordCount(label, total, deleted))
    return counts


def last_anchor(path: Path, now: datetime) -> AnchorState:
    """The newest anchor in the anchor file at ``path`` and its age at ``now``."""
    try:
        anchors = read_anchors(path)
    except (AnchorFileError, OSError) as error:
        return AnchorState(str(path), error=str(error) or error.__class__.__name__)
    if not anchors:
        return AnchorState(str(path), error="no anchor has been written yet")
    newest = anchors[-1]
    try:
        age = (now - datetime.fromisoformat(newest.anchored_at)).total_seconds()
    except (ValueError, TypeError):
        age = None
    return AnchorState(str(path), newest, age)


def ops_report(settings: Settings) -> OpsReport:
    """Take the snapshot the operations page shows."""
    now = datetime.now(UTC)
    started_at = process_started_at()
    checks = readiness_checks(settings)
    with read_connection(db) as connection:
        counts = record_counts(connection)
        head_id, head_hash = chain_head(connection)
    return OpsReport(
        app_name=settings.app_name,
        version=settings.app_version,
        started_at=started_at,
        uptime_seconds=(now - started_at).total_seconds() if started_at else None,
        settings=redacted_settings(settings),
        health_status=overall_status(checks),
        checks=checks,
        limiter=limiter_state(settings),
        counts=counts,
        # Event ids are gap-free and numbered from 1, so the head's id is the count.
        audit_events=head_id,
        chain_head_id=head_id,
        chain_head_hash=head_hash,
        last_anchor=last_anchor(Path(settings.audit_anchor_file), now),
    )


def describe_duration(seconds: float | None) -> str:
    """A duration for people: ``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    if seconds is None:
        return "unknown"
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
