"""Administering users: list them by status, (de)activate, promote, demote, delete, restore."""

from __future__ import annotations

from flask import Response, request

from app.api import bp
from app.helpers import json_body, list_response, success_response
from app.identity import current_user, require_role
from app.openapi import api_operation
from app.schemas import AdminUserResponse, UserAdminUpdate, UserListQuery, validate
from app.services import user_admin_service

LAST_ADMIN_NOTE = "The last active admin can be neither demoted, deactivated nor deleted (409)."


def user_response(user, message: str = "OK") -> Response:
    """One user as admins see it, in the success envelope."""
    return success_response(AdminUserResponse.model_validate(user).to_json(), message)


@bp.get("/admin/users")
@api_operation(
    "Users, by id (admins)",
    tag="admin",
    response=AdminUserResponse,
    many=True,
    query=UserListQuery,
    auth="admin",
    description="Without `status`, every user that is not soft-deleted.",
)
@require_role("admin")
def list_users() -> Response:
    """One page of the users, optionally of one status."""
    query = UserListQuery.from_args(request.args)
    page = user_admin_service.list_users(current_user(), query.status, query.skip, query.limit)
    items = [AdminUserResponse.model_validate(user).to_json() for user in page.items]
    return list_response(items, page.skip, page.limit, page.total)


@bp.patch("/admin/users/<id:user_id>")
@api_operation(
    "Activate, deactivate, promote or demote a user (admins)",
    tag="admin",
    body=UserAdminUpdate,
    response=AdminUserResponse,
    auth="admin",
    errors=(409,),
    description=(
        "Deactivating ends every token and page session of the user at once. " + LAST_ADMIN_NOTE
    ),
)
@require_role("admin")
def update_user(user_id: int) -> Response:
    """Apply ``is_active`` and/or ``is_admin`` to a user."""
    changes = validate(UserAdminUpdate, json_body()).changes()
    user = user_admin_service.update_user(user_id, current_user(), **changes)
    return user_response(user, "User updated")


@bp.delete("/admin/users/<id:user_id>")
@api_operation(
    "Soft-delete a user (admins)",
    tag="admin",
    auth="admin",
    errors=(409,),
    description=(
        "The user can no longer sign in and every token and page session ends; their posts "
        "and comments stay, with `author: null`. " + LAST_ADMIN_NOTE
    ),
)
@require_role("admin")
def delete_user(user_id: int) -> Response:
    """Soft-delete a user; admins can restore them."""
    user_admin_service.delete_user(user_id, current_user())
    return success_response(None, "User deleted")


@bp.post("/admin/users/<id:user_id>/restore")
@api_operation(
    "Undo a user's soft delete (admins)",
    tag="admin",
    response=AdminUserResponse,
    auth="admin",
    errors=(409,),
    description="Their posts and comments are attributed to them again. 409 if not deleted.",
)
@require_role("admin")
def restore_user(user_id: int) -> Response:
    """Bring a soft-deleted user back (their earlier tokens and sessions stay ended)."""
    return user_response(user_admin_service.restore_user(user_id, current_user()), "User restored")
