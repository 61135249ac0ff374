"""Passwords and JWT access tokens: plain functions, no request state.

Who the current request is acting for is resolved by :mod:`app.edge.identity` (the
credentials, without a query) and :mod:`app.identity` (the verified user).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

TOKEN_ALGORITHM = "HS256"
TOKEN_TYPE = "access"
SESSION_USER_KEY = "user_id"
#: The session's own random id, so that one session can be revoked (signing out).
SESSION_ID_KEY = "sid"
#: The user's credentials version when the session began (see ``User.credentials_version``).
SESSION_VERSION_KEY = "ver"
#: The token claims naming the token itself and the credentials version it was issued at.
TOKEN_ID_CLAIM = "jti"
TOKEN_VERSION_CLAIM = "ver"
#: Credentials versions start here; every revocation of all of a user's credentials adds one.
INITIAL_CREDENTIALS_VERSION = 1
#: Credential ids are ``secrets.token_urlsafe(CREDENTIAL_ID_BYTES)``: 22 characters.
CREDENTIAL_ID_BYTES = 16
#: The longest credential id accepted (the ``revoked_credentials.id`` column's length).
CREDENTIAL_ID_MAX = 64
_CREDENTIAL_ID_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)
# User ids are 32-bit integer columns; a token naming a larger one names nobody.
MAX_USER_ID = 2**31 - 1
# A hash of a fixed password: checked when the user is unknown, so that an unknown
# username costs the same time as a wrong password.
TIMING_EQUALISER_PASSWORD = "timing-equaliser-not-a-real-password"


class InvalidTokenError(Exception):
    """The bearer token is malformed, forged, expired or names no possible user."""


def hash_password(password: str) -> str:
    """A strong salted hash (scrypt) of ``password``."""
    return generate_password_hash(password, method="scrypt")


@cache
def timing_equaliser_hash() -> str:
    """The hash checked for unknown users (computed once per process)."""
    return hash_password(TIMING_EQUALISER_PASSWORD)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; the same work when there is no hash."""
    if not password_hash:
        check_password_hash(timing_equaliser_hash(), password)
        return False
    return check_password_hash(password_hash, password)


def _secret_key() -> str:
    return current_app.extensions["inkwell.settings"].secret_key.get_secret_value()


def new_credential_id() -> str:
    """A fresh random id for a token (``jti``) or a page session (``sid``)."""
    return secrets.token_urlsafe(CREDENTIAL_ID_BYTES)


def is_credential_id(value: object) -> bool:
    """Whether ``value`` can be a credential id: 1-64 URL-safe base64 characters."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= CREDENTIAL_ID_MAX
        and _CREDENTIAL_ID_CHARACTERS.issuperset(value)
    )


def is_credentials_version(value: object) -> bool:
    """Whether ``value`` can be a credentials version: an int in 1..2**31-1 (not a bool)."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and INITIAL_CREDENTIALS_VERSION <= value <= MAX_USER_ID
    )


def create_access_token(
    user_id: int, credentials_version: int = INITIAL_CREDENTIALS_VERSION, **claims: Any
) -> tuple[str, int]:
    """A signed access token for ``user_id`` at ``credentials_version``, and its lifetime.

    Every token carries a fresh random ``jti`` (so that it alone can be revoked) and the
    user's credentials version (so that all of them can be, by bumping it).
    """
    settings = current_app.extensions["inkwell.settings"]
    lifetime = settings.access_token_expire_minutes * 60
    now = datetime.now(UTC)
    payload = {
        **claims,
        "sub": str(user_id),
        "type": TOKEN_TYPE,
        TOKEN_ID_CLAIM: new_credential_id(),
        TOKEN_VERSION_CLAIM: credentials_version,
        "iat": now,
        "exp": now + timedelta(seconds=lifetime),
    }
    token = jwt.encode(payload, _secret_key(), algorithm=TOKEN_ALGORITHM)
    return token, lifetime


def parse_user_id(value: object) -> int:
    """A user id from a token's ``sub``: 1-10 ASCII digits naming a possible user."""
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10):
        raise InvalidTokenError("malformed subject")
    user_id = int(value)
    if not 1 <= user_id <= MAX_USER_ID:
        raise InvalidTokenError("malformed subject")
    return user_id


def decode_access_token(token: str) -> dict[str, Any]:
    """The claims of a valid access token (``sub`` checked); InvalidTokenError otherwise."""
    try:
        claims = jwt.decode(
            token,
            _secret_key(),
            algorithms=[TOKEN_ALGORITHM],
            options={"require": ["sub", "exp", "iat", "type", TOKEN_ID_CLAIM]},
        )
    except (jwt.PyJWTError, ValueError, OverflowError) as error:
        raise InvalidTokenError(str(error)) from None
    if claims.get("type") != TOKEN_TYPE:
        raise InvalidTokenError("not an access token")
    parse_user_id(claims["sub"])
    if not is_credential_id(claims[TOKEN_ID_CLAIM]):
        raise InvalidTokenError("malformed token id")
    if not is_credentials_version(claims.get(TOKEN_VERSION_CLAIM)):
        raise InvalidTokenError("malformed credentials version")
    return claims
