"""Accounts: registration, sign-in, tokens and profiles."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import EmailStr, Field, field_validator

from app.schemas.common import AuditFields, RequestModel, ResponseModel

USERNAME_PATTERN = r"^[A-Za-z0-9_-]+$"
USERNAME_MIN, USERNAME_MAX = 3, 32
EMAIL_MAX = 254
PASSWORD_MIN, PASSWORD_MAX = 8, 128


Username = Annotated[
    str,
    Field(
        min_length=USERNAME_MIN,
        max_length=USERNAME_MAX,
        json_schema_extra={"pattern": USERNAME_PATTERN},
        description="3-32 letters, digits, '_' or '-'; unique ignoring case",
    ),
]
Password = Annotated[
    str,
    Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX, description="8-128 characters"),
]


class UserCreate(RequestModel):
    """Registration: a new account."""

    username: Username
    email: EmailStr = Field(max_length=EMAIL_MAX, description="Unique ignoring case")
    password: Password

    @field_validator("username")
    @classmethod
    def _username_characters(cls, value: str) -> str:
        if not re.fullmatch(USERNAME_PATTERN, value):
            raise ValueError("may contain only letters, digits, '_' and '-'")
        return value


class TokenRequest(RequestModel):
    """Credentials exchanged for an access token."""

    username: str = Field(
        min_length=1, max_length=EMAIL_MAX, description="The username or the email address"
    )
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class PublicUserResponse(AuditFields):
    """A public profile: never the email address."""

    id: int
    username: str
    role: Literal["author", "admin"]


class UserResponse(PublicUserResponse):
    """The account of the signed-in user."""

    email: str
    is_active: bool


class TokenResponse(ResponseModel):
    """A bearer access token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Lifetime in seconds")


class AuthorSummary(ResponseModel):
    """Who wrote a post or comment."""

    id: int
    username: str
