"""The account services: the last-admin rule, revocation and the system actor."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import SYSTEM_ACTOR_ID, AuditEvent, User
from app.services import Conflict, NotFound, PermissionDenied, user_admin_service, user_service
from app.services.errors import WrongPassword
from tests.conftest import DEFAULT_PASSWORD


def live(user_id: int) -> User:
    """The user read in the current app context."""
    return db.session.get(User, user_id)


def test_a_token_or_session_holds_only_at_the_current_version(db, make_user):
    user = make_user()
    assert user_service.get_active_user(user.id, credential_id="a", credentials_version=1)
    assert user_service.get_active_user(user.id, credential_id="a", credentials_version=2) is None


def test_a_revoked_credential_id_no_longer_holds(db, make_user):
    from datetime import timedelta

    from app.models import utcnow

    user = make_user()
    user_service.revoke_credential("gone", user.id, utcnow() + timedelta(hours=1))
    assert (
        user_service.get_active_user(user.id, credential_id="gone", credentials_version=1) is None
    )
    assert user_service.get_active_user(user.id, credential_id="kept", credentials_version=1)


def test_inactive_and_deleted_users_do_not_hold(db, make_user, make_admin):
    admin = make_admin()
    inactive = make_user(is_active=False)
    deleted = make_user()
    user_admin_service.delete_user(deleted.id, live(admin.id))
    for user in (inactive, deleted):
        assert (
            user_service.get_active_user(user.id, credential_id="x", credentials_version=1) is None
        )


def test_deactivate_delete_and_password_change_bump_the_version(db, make_user, make_admin):
    admin = make_admin()
    first, second, third = make_user(), make_user(), make_user()
    user_admin_service.update_user(first.id, live(admin.id), is_active=False)
    user_admin_service.delete_user(second.id, live(admin.id))
    user_service.change_password(third.id, DEFAULT_PASSWORD, "another-password")
    versions = [
        db.session.execute(
            db.select(User.credentials_version)
            .where(User.id == user.id)
            .execution_options(include_deleted=True)
        ).scalar()
        for user in (first, second, third)
    ]
    assert versions == [2, 2, 2]


def test_activating_promoting_and_restoring_keep_the_version(db, make_user, make_admin):
    admin = make_admin()
    user = make_user(is_active=False)
    user_admin_service.update_user(user.id, live(admin.id), is_active=True, is_admin=True)
    assert live(user.id).credentials_version == 1


def test_a_wrong_current_password_changes_nothing(db, make_user):
    user = make_user()
    with pytest.raises(WrongPassword):
        user_service.change_password(user.id, "not-it", "another-password")
    assert live(user.id).credentials_version == 1


def test_authors_cannot_administer_users(db, make_user):
    author, other = make_user(), make_user()
    with pytest.raises(PermissionDenied):
        user_admin_service.update_user(other.id, live(author.id), is_active=False)
    with pytest.raises(PermissionDenied):
        user_admin_service.list_users(live(author.id))


def test_the_system_actor_follows_the_last_admin_rule_too(db, make_admin):
    admin = make_admin()
    with pytest.raises(Conflict):
        user_admin_service.update_user(admin.id, None, is_active=False)
    with pytest.raises(Conflict):
        user_admin_service.delete_user(admin.id, None)


def test_system_changes_are_audited_as_the_system(db, make_user):
    user = make_user()
    user_admin_service.update_user(user.id, None, is_active=False)
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.entity_id == user.id).order_by(AuditEvent.id.desc())
    ).first()
    assert (event.action, event.actor_id) == ("update", SYSTEM_ACTOR_ID)


def test_restoring_a_live_user_is_a_conflict_and_unknown_is_not_found(db, make_user):
    user = make_user()
    with pytest.raises(Conflict):
        user_admin_service.restore_user(user.id, None)
    with pytest.raises(NotFound):
        user_admin_service.restore_user(9999, None)


def test_an_inactive_admin_does_not_count_as_an_active_one(db, make_admin):
    active = make_admin()
    make_admin(is_active=False)
    with pytest.raises(Conflict):
        user_admin_service.update_user(active.id, None, is_admin=False)


def test_promoting_the_existing_admin_with_a_password_ends_old_sessions(db, make_admin):
    admin = make_admin("chief")
    user_service.create_admin("chief", "chief@example.com", "a-new-password")
    assert live(admin.id).credentials_version == 2
