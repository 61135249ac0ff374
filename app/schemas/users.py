"""Accounts: registration, sign-in, tokens and profiles."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from app.schemas.common import AuditFields, OptionalUtcDatetime, RequestModel, ResponseModel
from app.schemas.pagination import Pagination

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


#: A post's or comment's author as the API shows it: null once the account is deleted.
#: Read from the model's ``byline`` (the one attribution rule), else from ``author``
#: (the feed's rows, whose author is already null for a deleted account).
AuthorField = Annotated[
    AuthorSummary | None,
    Field(
        validation_alias=AliasChoices("byline", "author"),
        description="The author; null when the author's account is deleted",
    ),
]


class PasswordChange(RequestModel):
    """A signed-in user's new password, with the current one as proof."""

    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: Password


class LogoutRequest(RequestModel):
    """What signing out ends: the presented token, or every token and session of the user."""

    all: StrictBool = Field(
        False, description="End every token and page session of the user, not only this token"
    )


UserStatusField = Literal["active", "inactive", "deleted"]


class UserListQuery(Pagination):
    """The admins' list of users: pagination and an optional status."""

    status: UserStatusField = Field(
        None,
        description=(
            "'active', 'inactive' (deactivated) or 'deleted' (soft-deleted); "
            "without it, every user that is not deleted"
        ),
    )


def _admin_update_schema(schema: dict[str, Any]) -> None:
    """Optional fields are not nullable in the schema, and at least one must be sent."""
    for prop in schema.get("properties", {}).values():
        if prop.get("default", ...) is None:
            del prop["default"]
    schema["minProperties"] = 1


class UserAdminUpdate(RequestModel):
    """An admin's change of a user: activate or deactivate, promote or demote."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_admin_update_schema)

    is_active: StrictBool = Field(
        None, description="false deactivates (and signs the user out everywhere)"
    )
    is_admin: StrictBool = Field(None, description="true promotes to admin, false demotes")

    @model_validator(mode="after")
    def _something_to_change(self) -> UserAdminUpdate:
        if not self.model_fields_set:
            raise ValueError("send is_active, is_admin or both")
        return self

    def changes(self) -> dict[str, bool]:
        """The fields the admin sent."""
        return self.model_dump(exclude_unset=True)


class AdminUserResponse(UserResponse):
    """A user as admins see it, soft-deleted ones included."""

    deleted_at: OptionalUtcDatetime = None
