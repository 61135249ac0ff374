"""The admin operations page: this worker, its settings, its checks and the audit head."""

from __future__ import annotations

from flask import current_app, render_template

from app.operations import describe_duration, ops_report
from app.web import bp
from app.web.session import admin_required


@bp.get("/admin/ops")
@admin_required
def ops() -> str:
    """Build, uptime, redacted settings, health, rate limiting, counts and audit anchors."""
    settings = current_app.extensions["inkwell.settings"]
    return render_template(
        "admin/ops.html", report=ops_report(settings), duration=describe_duration
    )
