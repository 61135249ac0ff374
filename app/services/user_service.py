"""Users: registration, look-ups, login and administrators."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.auth import hash_password, verify_password
from app.extensions import db
from app.models import ACTOR_SELF, INCLUDE_DELETED, Role, User
from app.services._transaction import conflict_from, transaction
from app.services.errors import Conflict, NotFound


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


def find_user_by_username(username: str) -> User | None:
    """The live user called ``username`` (ignoring case), active or not, if there is one."""
    return db.session.scalar(select(User).where(func.lower(User.username) == func.lower(username)))


def get_user_by_username(username: str) -> User:
    """The live user called ``username`` (ignoring case); NotFound otherwise."""
    user = find_user_by_username(username)
    if user is None:
        raise NotFound("user", username)
    return user


def get_active_user(user_id: int) -> User | None:
    """The user a token or session names, if it still exists and is active."""
    user = db.session.scalar(select(User).where(User.id == user_id))
    return user if user is not None and user.is_active else None


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
