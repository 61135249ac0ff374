"""X-Request-ID on every response, and security headers on JSON, HTML and errors."""

from __future__ import annotations

import os
import re

import pytest

HTML = {"Accept": "text/html"}
PATHS = ["/", "/api/v1/", "/health", "/health/live", "/api/v1/missing", "/missing"]


@pytest.mark.parametrize(
    "client_id", ["abc", "A-Za-z0-9._-", "x" * 64, "7f3a9c2e-1b4d-4e8f-9a0b-5c6d7e8f9a0b"]
)
def test_a_well_formed_client_id_is_echoed(client, client_id):
    response = client.get("/api/v1/", headers={"X-Request-ID": client_id})
    assert response.headers["X-Request-ID"] == client_id


@pytest.mark.parametrize(
    "client_id", ["", "x" * 65, "has space", "semi;colon", "new\\nline", "ünïcode", "<script>"]
)
def test_a_malformed_client_id_is_replaced(client, client_id):
    response = client.get("/api/v1/missing", headers={"X-Request-ID": client_id})
    fresh = response.headers["X-Request-ID"]
    assert fresh != client_id
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert response.get_json()["request_id"] == fresh


def test_every_request_gets_a_different_fresh_id(client):
    ids = {client.get("/health/live").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("path", PATHS)
def test_security_headers_are_on_every_response(client, path):
    response = client.get(path, headers=HTML)
    assert response.headers["X-Request-ID"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    policy = response.headers["Content-Security-Policy"]
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in policy
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_is_sent_over_https(client):
    response = client.get("/health/live", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_server_errors_carry_the_headers_too(app, client):
    response = client.post("/api/v1/", json={})
    assert response.status_code == 405
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_forked_workers_mint_different_ids():
    from app.hooks import new_request_id

    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # a gunicorn worker is such a fork of the master
        os.write(write_end, new_request_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read_end, 64).decode() != new_request_id()


def test_request_id_header_appears_once_per_response(client):
    response = client.get("/api/v1/", headers={"X-Request-ID": "abc-123"})
    assert response.headers.getlist("X-Request-ID") == ["abc-123"]
