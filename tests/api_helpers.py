"""Helpers for the API tests: bearer headers and envelope checks."""

from __future__ import annotations

from flask import Flask

JSON = "application/json"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, message: str | None = None) -> dict:
    """``response`` is an error envelope with ``status``; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == JSON
    body = response.get_json()
    assert body["success"] is False
    assert body["status_code"] == status
    assert body["request_id"] == response.headers["X-Request-ID"]
    if message is not None:
        assert body["message"] == message
    return body


def assert_success(response, status: int = 200) -> dict:
    """``response`` is a success envelope with ``status``; return its ``data``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == JSON
    body = response.get_json()
    assert body["success"] is True
    return body["data"]


def detail_fields(response) -> set[str]:
    """The fields named in an error envelope's ``details``."""
    return {detail["field"] for detail in response.get_json()["details"] or []}


def token_for(app: Flask, user) -> str:
    """A valid access token for ``user``, minted without the (rate-limited) endpoint."""
    from app.auth import create_access_token

    with app.app_context():
        return create_access_token(user.id, user.credentials_version)[0]


def auth_headers(app: Flask, user) -> dict[str, str]:
    """Authorization headers for ``user``, or none for an anonymous client."""
    return {} if user is None else bearer(token_for(app, user))
