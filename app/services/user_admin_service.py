"""Administering accounts: list users by status, (de)activate, promote, demote, delete, restore.

The JSON API, the ``/admin/users`` page and the ``flask users`` commands all call these.
Every change is one audited transaction by the acting admin (the system actor for the
command line). Deactivating and deleting end every token and page session of the user at
once (the credentials version is bumped). The last active admin can be neither demoted,
deactivated nor deleted: the active admins are locked first, in id order, so that two
admins demoting each other at the same moment cannot both succeed.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.models import SYSTEM_ACTOR_ID, Role, User
from app.models.soft_delete import deleted
from app.services.errors import Conflict, NotFound
from app.services.pages import Page, paginate
from app.services.permissions import require_admin
from app.services.transactions import transaction
from app.services.user_service import bump_credentials_version, load_for_update

UserStatus = Literal["active", "inactive", "deleted"]
USER_STATUSES: tuple[UserStatus, ...] = ("active", "inactive", "deleted")
LAST_ADMIN = "This is the last active admin: promote another user to admin first"


def _acting_id(actor: User | None) -> int:
    """The id to stamp and audit the change with: an admin's, or the system's for None.

    Only the command line passes None; the API and the pages pass the signed-in user.
    """
    if actor is None:
        return SYSTEM_ACTOR_ID
    require_admin(actor)
    return actor.id


def _status_filter(status: UserStatus | None) -> list[ColumnElement[bool]]:
    """The conditions of one status; live users of any status when None."""
    if status == "active":
        return [User.is_active.is_(True)]
    if status == "inactive":
        return [User.is_active.is_(False)]
    if status == "deleted":
        return [deleted(User)]
    return []


def list_users(
    actor: User, status: UserStatus | None = None, skip: int = 0, limit: int = 20
) -> Page[User]:
    """Users by id, filtered by status (live ones unless ``deleted`` is asked for); admins."""
    require_admin(actor)
    return paginate(
        db.session,
        User,
        where=_status_filter(status),
        order_by=(User.id.asc(),),
        skip=skip,
        limit=limit,
        include_deleted=status == "deleted",
    )


def get_user(user_id: int, actor: User) -> User:
    """A live user, for an admin (e.g. to confirm a deletion); NotFound otherwise."""
    require_admin(actor)
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise NotFound("user", user_id)
    return user


def _lock_active_admins() -> list[int]:
    """The ids of the live, active admins, locked in id order until the transaction ends."""
    statement = (
        select(User.id)
        .where(User.role == Role.ADMIN, User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )
    return list(db.session.scalars(statement))


def _refuse_last_admin(user: User, active_admins: list[int]) -> None:
    """Conflict when ``user`` is the only active admin left."""
    if active_admins == [user.id]:
        raise Conflict(LAST_ADMIN)


def _live_user(user_id: int) -> User:
    """The live user locked for update; NotFound otherwise."""
    user = load_for_update(user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def update_user(
    user_id: int,
    actor: User | None,
    *,
    is_active: bool | None = None,
    is_admin: bool | None = None,
) -> User:
    """Activate or deactivate, promote or demote a live user (either or both).

    Deactivating ends every token and page session of the user at once.
    """
    with transaction(_acting_id(actor)):
        active_admins = _lock_active_admins()
        user = _live_user(user_id)
        if is_active is False or is_admin is False:
            _refuse_last_admin(user, active_admins)
        if is_admin is not None:
            user.role = Role.ADMIN if is_admin else Role.AUTHOR
        if is_active is not None and is_active != user.is_active:
            user.is_active = is_active
            if not is_active:
                bump_credentials_version(user)
    return user


def delete_user(user_id: int, actor: User | None) -> User:
    """Soft-delete a user: they cannot sign in, their credentials end, their content stays."""
    with transaction(_acting_id(actor)):
        active_admins = _lock_active_admins()
        user = _live_user(user_id)
        _refuse_last_admin(user, active_admins)
        user.soft_delete()
        bump_credentials_version(user)
    return user


def restore_user(user_id: int, actor: User | None) -> User:
    """Undo a user's soft delete; their posts and comments are attributed to them again."""
    with transaction(_acting_id(actor)):
        user = load_for_update(user_id, include_deleted=True)
        if user is None:
            raise NotFound("user", user_id)
        if not user.is_deleted:
            raise Conflict(f"User {user_id} is not deleted")
        user.restore()
    return user
