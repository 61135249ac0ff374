"""Users: registration, look-ups, login, passwords, revocation and the first administrator.

Revocation: every token and page session carries a random id and the user's
``credentials_version``. :func:`get_active_user` loads the request's user and, in the
same statement, whether the presented id is in ``revoked_credentials``; the versions are
compared in Python. Signing out of one token or session inserts its id
(:func:`revoke_credential`); deactivating, deleting, changing the password or signing
out everywhere bumps the version (:func:`end_all_credentials`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Insert, Row, Select, bindparam, delete, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.auth import hash_password, verify_password
from app.database import read_connection
from app.extensions import db
from app.models import (
    ACTOR_SELF,
    INCLUDE_DELETED,
    RevokedCredential,
    Role,
    User,
    live_rows,
    utcnow,
)
from app.services.audit_service import CONTENT_VERSION
from app.services.errors import Conflict, NotFound, WrongPassword
from app.services.pages import VERSION
from app.services.transactions import conflict_from, transaction

_REVOKED = RevokedCredential.__table__
#: The user called ``:username``, ignoring case; built once, as every profile asks for it.
_USER_NAMED = select(User).where(func.lower(User.username) == func.lower(bindparam("username")))
_USERS = User.__table__
#: What a public profile shows of the live user called ``:username``: a plain row, as a
#: profile needs no ORM object (Core reads apply the live-rows rule themselves).
_PROFILE_COLUMNS = (
    "id",
    "username",
    "role",
    "date_added",
    "date_updated",
    "added_by",
    "updated_by",
)
_PUBLIC_PROFILE = select(
    *(_USERS.c[name] for name in _PROFILE_COLUMNS), CONTENT_VERSION.label(VERSION)
).where(func.lower(_USERS.c.username) == func.lower(bindparam("username")), live_rows(_USERS))


def _taken(column, value: str) -> bool:
    """Whether any user, soft-deleted ones included, holds ``value`` ignoring case."""
    statement = (
        select(User.id)
        .where(func.lower(column) == func.lower(value))
        .execution_options(**{INCLUDE_DELETED: True})
        .limit(1)
    )
    return db.session.scalar(statement) is not None


def ensure_available(username: str, email: str) -> None:
    """Raise Conflict naming the field when the username or email is already registered."""
    if _taken(User.username, username):
        raise Conflict("This username is already taken", field="username")
    if _taken(User.email, email):
        raise Conflict("This email is already registered", field="email")


def register_user(
    username: str,
    email: str,
    password: str,
    *,
    role: Role = Role.AUTHOR,
    self_registration: bool = True,
) -> User:
    """Create an account with a freshly hashed password.

    A self-registration makes the new user its own creator in the audit columns and
    event; otherwise the current actor (e.g. the system actor of a CLI command) is.
    """
    ensure_available(username, email)
    return create_user(
        username,
        email,
        hash_password(password),
        role=role,
        self_registration=self_registration,
    )


def create_user(
    username: str,
    email: str,
    password_hash: str,
    *,
    role: Role = Role.AUTHOR,
    is_active: bool = True,
    self_registration: bool = True,
) -> User:
    """Create an account from an already computed password hash (see register_user)."""
    ensure_available(username, email)
    user = User(
        username=username,
        email=email,
        password_hash=password_hash,
        role=role,
        is_active=is_active,
    )
    try:
        with transaction(ACTOR_SELF if self_registration else None) as session:
            session.add(user)
    except IntegrityError as error:
        raise (conflict_from(error) or error) from None
    return user


def get_user(user_id: int) -> User:
    """The live user with ``user_id``; NotFound if missing or soft-deleted."""
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise NotFound("user", user_id)
    return user


def find_user_by_username(username: str, *, include_deleted: bool = False) -> User | None:
    """The live user called ``username`` (ignoring case), active or not, if there is one.

    With ``include_deleted``, a soft-deleted user is found too (restoring one).
    """
    statement = _USER_NAMED
    if include_deleted:
        statement = statement.execution_options(**{INCLUDE_DELETED: True})
    return db.session.scalar(statement, {"username": username})


def public_profile(username: str) -> Row:
    """The public columns of the live user called ``username`` (ignoring case), and the
    content's version as ``content_version``; NotFound otherwise."""
    with read_connection(db) as connection:
        row = connection.execute(_PUBLIC_PROFILE, {"username": username}).first()
    if row is None:
        raise NotFound("user", username)
    return row


def user_load_statement(user_id: int, credential_id: str | None = None) -> Select:
    """The statement loading a live user; with ``credential_id``, also whether it is revoked.

    The revocation check is an EXISTS subquery on the primary key of
    ``revoked_credentials``: one extra index probe in the same round trip.
    """
    statement = select(User).where(User.id == user_id)
    if credential_id is not None:
        revoked = exists().where(_REVOKED.c.id == credential_id)
        statement = statement.add_columns(revoked.label("revoked"))
    return statement


def get_active_user(user_id: int, *, credential_id: str, credentials_version: int) -> User | None:
    """The user a token or session names, if it is live, active and its credential holds.

    The credential holds while its id (``jti`` or ``sid``) is not revoked and the version
    it carries is the user's current ``credentials_version``.
    """
    row = db.session.execute(user_load_statement(user_id, credential_id)).first()
    if row is None:
        return None
    user, revoked = row
    if revoked or not user.is_active or user.credentials_version != credentials_version:
        return None
    return user


def _insert_ignoring_duplicates(values: dict) -> Insert:
    """An INSERT into ``revoked_credentials`` that does nothing if the id is already there."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_REVOKED).values(**values).on_conflict_do_nothing(index_elements=["id"])


def revoke_credential(credential_id: str, user_id: int, expires_at: datetime) -> None:
    """End one token or page session at once; rows of expired credentials go with it."""
    with transaction() as session:
        session.execute(delete(_REVOKED).where(_REVOKED.c.expires_at < utcnow()))
        session.execute(
            _insert_ignoring_duplicates(
                {"id": credential_id, "user_id": user_id, "expires_at": expires_at}
            )
        )


def bump_credentials_version(user: User) -> None:
    """End every token and page session of ``user`` (inside the caller's transaction)."""
    user.credentials_version += 1


def load_for_update(user_id: int, *, include_deleted: bool = False) -> User | None:
    """The user freshly read and locked for the rest of the transaction (PostgreSQL)."""
    statement = (
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if include_deleted:
        statement = statement.execution_options(**{INCLUDE_DELETED: True})
    return db.session.scalar(statement)


def end_all_credentials(user_id: int) -> User:
    """Sign the user out everywhere: every token and page session ends (audited as theirs)."""
    with transaction(user_id):
        user = load_for_update(user_id)
        if user is None:
            raise NotFound("user", user_id)
        bump_credentials_version(user)
    return user


def change_password(user_id: int, current_password: str, new_password: str) -> User:
    """Replace the password after checking the current one; every credential of the user ends.

    WrongPassword (403) when ``current_password`` is wrong. The caller issues the fresh
    token or session from the returned user's new ``credentials_version``.
    """
    with transaction(user_id):
        user = load_for_update(user_id)
        if user is None or not user.is_active:
            raise NotFound("user", user_id)
        if not verify_password(user.password_hash, current_password):
            raise WrongPassword()
        user.password_hash = hash_password(new_password)
        bump_credentials_version(user)
    return user


def find_user_for_login(identifier: str) -> User | None:
    """The active user whose username or email is ``identifier`` (ignoring case)."""
    identifier = identifier.strip()
    if not identifier:
        return None
    return db.session.scalar(
        select(User).where(
            or_(
                func.lower(User.username) == func.lower(identifier),
                func.lower(User.email) == func.lower(identifier),
            ),
            User.is_active.is_(True),
        )
    )


def authenticate(identifier: str, password: str) -> User | None:
    """The user if ``password`` is right; None for an unknown user or a wrong password alike."""
    user = find_user_for_login(identifier)
    if not verify_password(user.password_hash if user else None, password):
        return None
    return user


def create_admin(username: str, email: str, password: str | None) -> tuple[User, bool]:
    """Create an admin, or promote the user with that username; returns (user, created).

    When promoting, the password is replaced if one is given and the email is left as is.
    """
    existing = find_user_by_username(username)
    if existing is None:
        if password is None:
            raise ValueError("a password is required to create a new admin")
        user = register_user(username, email, password, role=Role.ADMIN, self_registration=False)
        return user, True
    with transaction():
        existing.role = Role.ADMIN
        existing.is_active = True
        if password is not None:
            existing.password_hash = hash_password(password)
            bump_credentials_version(existing)  # a new password ends the old sessions
    return existing, False


def sign_in_account(identifier: str) -> str:
    """The account a sign-in attempt targets, for counting its failures.

    The user's id when a username or email matches (ignoring case), so that trying the
    username and the email does not double the allowance; else the identifier itself.
    """
    identifier = identifier.strip().lower()
    user_id = db.session.scalar(
        select(User.id).where(
            or_(func.lower(User.username) == identifier, func.lower(User.email) == identifier)
        )
    )
    return f"user:{user_id}" if user_id is not None else f"name:{identifier}"
