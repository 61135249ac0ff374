"""Admin pages: the audit trail and the soft-deleted records with their restore buttons."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from app.models import SYSTEM_ACTOR_ID
from app.schemas import MAX_ID, AuditQuery
from app.services import (
    Conflict,
    audit_service,
    comment_service,
    feed_service,
    lookups,
    post_service,
)
from app.services.pages import Page as ServicePage
from app.web import bp
from app.web.forms import field_errors
from app.web.pagination import Page, page_window, parse_page
from app.web.posts import html_page
from app.web.session import admin_required, signed_in_user

EVENTS_PER_PAGE = 25
DELETED_PER_PAGE = 20
AUDIT_FILTERS = ("entity_type", "entity_id", "actor")


def actor_labeller(actor_ids: Iterable[int | None]) -> Callable[[int | None], str]:
    """A function naming each actor: ``alice (#3)``, ``system`` for the system actor."""
    names = lookups.usernames_by_id(actor_id for actor_id in actor_ids if actor_id)

    def label(actor_id: int | None) -> str:
        if actor_id is None:
            return "—"
        if actor_id == SYSTEM_ACTOR_ID:
            return "system"
        return f"{names[actor_id]} (#{actor_id})" if actor_id in names else f"user #{actor_id}"

    return label


@bp.get("/admin/audit")
@admin_required
def audit() -> tuple[str, int]:
    """The audit trail, newest first, filterable by entity type, entity id and actor."""
    filters = {name: request.args.get(name, "").strip() for name in AUDIT_FILTERS}
    number = parse_page(request.args.get("page"))
    window = page_window(number, EVENTS_PER_PAGE)
    try:
        query = AuditQuery.model_validate({key: value for key, value in filters.items() if value})
    except ValidationError as error:
        empty = Page(items=[], number=1, per_page=EVENTS_PER_PAGE, total=0)
        return _render_audit(empty, filters, field_errors(error)), 422
    result = audit_service.list_audit_events(
        signed_in_user(),
        window.skip,
        window.limit,
        entity_type=query.entity_type,
        entity_id=query.entity_id,
        actor_id=query.actor,
    )
    return _render_audit(html_page(result, number, EVENTS_PER_PAGE), filters, {}), 200


def _render_audit(page: Page, filters: dict[str, str], errors: dict[str, list[str]]) -> str:
    """The audit page with the filter form, its errors and one page of events."""
    return render_template(
        "admin/audit.html",
        page=page,
        filters=filters,
        errors=errors,
        entity_types=audit_service.ENTITY_TYPES,
        actor_label=actor_labeller(event.actor_id for event in page.items),
    )


@bp.get("/admin/deleted")
@admin_required
def deleted() -> str:
    """Soft-deleted posts (``?page=``) and comments (``?comments_page=``), newest first."""
    admin = signed_in_user()
    posts_number = parse_page(request.args.get("page"))
    comments_number = parse_page(request.args.get("comments_page"))
    posts_window = page_window(posts_number, DELETED_PER_PAGE)
    comments_window = page_window(comments_number, DELETED_PER_PAGE)
    posts: ServicePage = feed_service.list_deleted_posts(
        admin, posts_window.skip, posts_window.limit
    )
    comments: ServicePage = comment_service.list_deleted_comments(
        admin, comments_window.skip, comments_window.limit
    )
    deleters = [item.deleted_by for item in [*posts.items, *comments.items]]
    return render_template(
        "admin/deleted.html",
        posts=html_page(posts, posts_number, DELETED_PER_PAGE),
        comments=html_page(comments, comments_number, DELETED_PER_PAGE),
        actor_label=actor_labeller(deleters),
    )


@bp.post(f"/admin/posts/<int(max={MAX_ID}):post_id>/restore")
@admin_required
def restore_post(post_id: int) -> Response:
    """Bring a soft-deleted post back."""
    try:
        post = post_service.restore_post(post_id, signed_in_user())
    except Conflict as conflict:
        flash(conflict.description, "error")
    else:
        flash(f"“{post.title}” is restored.", "success")
    return redirect(url_for("web.deleted"))


@bp.post(f"/admin/comments/<int(max={MAX_ID}):comment_id>/restore")
@admin_required
def restore_comment(comment_id: int) -> Response:
    """Bring a soft-deleted comment back."""
    try:
        comment_service.restore_comment(comment_id, signed_in_user())
    except Conflict as conflict:
        flash(conflict.description, "error")
    else:
        flash(f"Comment #{comment_id} is restored.", "success")
    return redirect(url_for("web.deleted"))
