"""Admin pages: users, the audit trail and the soft-deleted records with their restore buttons."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from app.models import SYSTEM_ACTOR_ID
from app.schemas import MAX_ID, AuditQuery, UserListQuery
from app.services import (
    Conflict,
    NotFound,
    audit_service,
    comment_service,
    feed_service,
    lookups,
    post_service,
    user_admin_service,
)
from app.services.pages import Page as ServicePage
from app.web import bp
from app.web.forms import field_errors
from app.web.pagination import Page, page_window, parse_page
from app.web.posts import html_page
from app.web.session import admin_required, safe_next, signed_in_user

EVENTS_PER_PAGE = 25
DELETED_PER_PAGE = 20
USERS_PER_PAGE = 25
USER_ID = f"<int(max={MAX_ID}):user_id>"
#: The user actions of the users page: the change each makes, and what the flash says.
USER_ACTIONS = {
    "activate": ({"is_active": True}, "{name} is active again."),
    "deactivate": ({"is_active": False}, "{name} is deactivated and signed out everywhere."),
    "promote": ({"is_admin": True}, "{name} is now an admin."),
    "demote": ({"is_admin": False}, "{name} is no longer an admin."),
}
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


def _users_page_url() -> str:
    """Where to return after an action: the users page the form was on (a safe local path)."""
    return safe_next(request.values.get("next"), url_for("web.admin_users"))


@bp.get("/admin/users")
@admin_required
def admin_users() -> tuple[str, int]:
    """Users by id, filterable by status, with a button for each action."""
    status = request.args.get("status", "").strip()
    number = parse_page(request.args.get("page"))
    window = page_window(number, USERS_PER_PAGE)
    try:
        query = UserListQuery.model_validate({"status": status} if status else {})
    except ValidationError as error:
        empty = Page(items=[], number=1, per_page=USERS_PER_PAGE, total=0)
        return _render_users(empty, status, field_errors(error)), 422
    result = user_admin_service.list_users(
        signed_in_user(), query.status, window.skip, window.limit
    )
    return _render_users(html_page(result, number, USERS_PER_PAGE), status, {}), 200


def _render_users(page: Page, status: str, errors: dict[str, list[str]]) -> str:
    """The users page with its status filter and one page of users."""
    return render_template(
        "admin/users.html",
        page=page,
        status=status,
        statuses=user_admin_service.USER_STATUSES,
        errors=errors,
        here=request.full_path.rstrip("?"),
    )


@bp.post(f"/admin/users/{USER_ID}/<any(activate, deactivate, promote, demote):action>")
@admin_required
def change_user(user_id: int, action: str) -> Response:
    """Activate, deactivate, promote or demote a user; refusals are shown as messages."""
    changes, done = USER_ACTIONS[action]
    try:
        user = user_admin_service.update_user(user_id, signed_in_user(), **changes)
    except (Conflict, NotFound) as refused:
        flash(refused.description, "error")
    else:
        flash(done.format(name=user.username), "success")
    return redirect(_users_page_url())


@bp.route(f"/admin/users/{USER_ID}/delete", methods=["GET", "POST"])
@admin_required
def delete_user(user_id: int) -> Response | str:
    """Ask for confirmation (GET), then soft-delete the user (POST)."""
    if request.method == "GET":
        user = user_admin_service.get_user(user_id, signed_in_user())
        return render_template("admin/user_delete.html", user=user, next=_users_page_url())
    try:
        user = user_admin_service.delete_user(user_id, signed_in_user())
    except (Conflict, NotFound) as refused:
        flash(refused.description, "error")
    else:
        flash(f"{user.username} is deleted and signed out everywhere.", "success")
    return redirect(_users_page_url())


@bp.post(f"/admin/users/{USER_ID}/restore")
@admin_required
def restore_user(user_id: int) -> Response:
    """Bring a soft-deleted user back."""
    try:
        user = user_admin_service.restore_user(user_id, signed_in_user())
    except (Conflict, NotFound) as refused:
        flash(refused.description, "error")
    else:
        flash(f"{user.username} is restored.", "success")
    return redirect(_users_page_url())
