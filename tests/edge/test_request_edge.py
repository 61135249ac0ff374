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
    from app.edge.middleware import new_request_id

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


def app_with_views(make_settings, **overrides):
    """An app with views that set their own request id and security headers."""
    from flask import Response

    from app import create_app

    application = create_app(make_settings(**overrides))

    def own_request_id() -> Response:
        return Response("ok", headers={"X-Request-ID": "chosen-by-the-view"})

    def own_policy() -> Response:
        return Response("ok", headers={"Content-Security-Policy": "default-src 'none'"})

    application.add_url_rule("/test/own-id", view_func=own_request_id)
    application.add_url_rule("/test/own-policy", view_func=own_policy)
    return application


def test_the_edge_request_id_replaces_one_the_app_set(make_settings):
    client = app_with_views(make_settings).test_client()
    response = client.get("/test/own-id", headers={"X-Request-ID": "from-the-client"})
    assert response.headers.getlist("X-Request-ID") == ["from-the-client"]


def test_a_security_header_the_app_set_is_kept(make_settings):
    response = app_with_views(make_settings).test_client().get("/test/own-policy")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_is_sent_when_a_trusted_proxy_served_https(make_settings):
    client = app_with_views(make_settings, trusted_proxy_count=1).test_client()
    response = client.get("/health/live", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_forwarded_https_from_an_untrusted_client_gets_no_hsts(make_settings):
    client = app_with_views(make_settings).test_client()
    response = client.get("/health/live", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_the_request_id_is_in_every_log_line_of_the_request(make_settings):
    from pathlib import Path

    application = app_with_views(make_settings)
    application.test_client().get("/api/v1/missing", headers={"X-Request-ID": "follow-me"})
    log_file = Path(application.extensions["inkwell.settings"].log_file)
    lines = [line for line in log_file.read_text().splitlines() if "GET /api/v1/missing" in line]
    assert lines and all("[follow-me]" in line for line in lines)
