"""Helpers for the API tests: a live server, bearer headers, envelope checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server

JSON = "application/json"


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


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
        return create_access_token(user.id)[0]


def auth_headers(app: Flask, user) -> dict[str, str]:
    """Authorization headers for ``user``, or none for an anonymous client."""
    return {} if user is None else bearer(token_for(app, user))
