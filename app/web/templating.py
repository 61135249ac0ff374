"""Template filters and globals of the pages: stored HTML, dates, page links, audit changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, request, url_for
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from markupsafe import Markup

from app.markdown import excerpt
from app.web.session import signed_in_user

# Long values (a post body) are cut in the audit view; the event itself keeps them whole.
AUDIT_VALUE_LENGTH = 160


def isoformat(moment: datetime | None) -> str:
    """ISO 8601 in UTC, for ``<time datetime>``."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def humandate(moment: datetime | None) -> str:
    """A readable UTC date and time, e.g. ``3 May 2025, 14:05 UTC``."""
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def audit_value(value: Any) -> str:
    """One old or new value of an audit event, readable and short."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > AUDIT_VALUE_LENGTH:
        text = text[:AUDIT_VALUE_LENGTH] + "…"
    return text


def audit_changes(changes: dict[str, Any] | None) -> list[dict[str, str]]:
    """The changed fields of an audit event as rows of field, old and new."""
    rows = []
    for field, change in (changes or {}).items():
        if isinstance(change, dict) and {"old", "new"} <= change.keys():
            old, new = change["old"], change["new"]
        else:
            old, new = None, change
        rows.append({"field": field, "old": audit_value(old), "new": audit_value(new)})
    return rows


def page_url(endpoint: str, number: int, param: str = "page", **values: Any) -> str:
    """The URL of page ``number`` of a list; page 1 has no ``page`` parameter."""
    values = {key: value for key, value in values.items() if value not in (None, "")}
    if number > 1:
        values[param] = number
    return url_for(endpoint, **values)


def stored_html(html: str) -> Markup:
    """The ``stored_html`` filter: HTML rendered and sanitised when it was written, as is."""
    return Markup(html)  # noqa: S704 - sanitised by app.markdown.render at write time


def template_context() -> dict[str, Any]:
    """The signed-in user (loaded once per request) and where the visitor is now."""
    next_here = None
    if request.method == "GET" and request.endpoint not in ("web.login", "web.register"):
        next_here = request.full_path.rstrip("?")
    return {"current_user": signed_in_user(), "next_here": next_here}


class ProcessBytecodeCache(BytecodeCache):
    """Compiled templates shared by every app of the process (keyed by source checksum)."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        """Reuse code compiled earlier for the same template source."""
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Keep freshly compiled code."""
        self._compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = ProcessBytecodeCache()


def share_compiled_templates(app: Flask) -> None:
    """Let ``app`` reuse templates compiled by earlier apps of the process (workers, tests)."""
    app.jinja_options = {**app.jinja_options, "bytecode_cache": TEMPLATE_BYTECODE}


def register_template_helpers(bp: Blueprint) -> None:
    """Make the filters and globals available to every template of the app."""
    bp.add_app_template_filter(stored_html, "stored_html")
    # The admins' list of deleted comments cuts their bodies on reading (comments keep no
    # excerpt); every other page shows what was stored when the text was written.
    bp.add_app_template_filter(excerpt, "excerpt")
    bp.add_app_template_filter(isoformat, "isoformat")
    bp.add_app_template_filter(humandate, "humandate")
    bp.add_app_template_filter(audit_changes, "audit_changes")
    bp.add_app_template_global(page_url, "page_url")
    bp.app_context_processor(template_context)
