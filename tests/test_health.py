"""Liveness and readiness."""

from __future__ import annotations

from app import create_app


def test_live_answers_200(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.get_json()["success"] is True


def test_ready_reports_the_database_check(client, app):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    data = body["data"]
    assert data["status"] == "ok"
    assert data["app"] == "Inkwell"
    assert data["version"] == app.extensions["inkwell.settings"].app_version
    assert data["checks"]["database"]["status"] == "ok"
    assert data["checks"]["database"]["latency_ms"] >= 0
    assert "rate_limit_storage" not in data["checks"]


def test_ready_uses_the_configured_name_and_version(make_settings):
    app = create_app(make_settings(app_name="Quill", app_version="9.9.9"))
    data = app.test_client().get("/health").get_json()["data"]
    assert (data["app"], data["version"]) == ("Quill", "9.9.9")


def test_unreachable_database_is_503_but_live_stays_200(make_settings):
    app = create_app(make_settings(database_url="postgresql://inkwell@127.0.0.1:1/absent"))
    client = app.test_client()
    assert client.get("/health/live").status_code == 200
    response = client.get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["success"] is False
    assert body["data"]["status"] == "error"
    assert body["data"]["checks"]["database"]["status"] == "error"
    assert "inkwell@" not in response.get_data(as_text=True)


def test_health_is_never_rate_limited(make_settings):
    app = create_app(make_settings(rate_limit_requests=1, rate_limit_period=60))
    client = app.test_client()
    statuses = {client.get(path).status_code for path in ["/health", "/health/live"] * 5}
    assert statuses == {200}


def test_ready_ignores_the_storage_of_a_disabled_limiter(make_settings):
    settings = make_settings(
        rate_limit_enabled=False, rate_limit_storage_url="redis://127.0.0.1:1/0"
    )
    response = create_app(settings).test_client().get("/health")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["status"] == "ok"
    assert set(data["checks"]) == {"database"}


def test_ready_is_degraded_while_the_enabled_storage_is_unreachable(make_settings):
    settings = make_settings(rate_limit_storage_url="redis://127.0.0.1:1/0")
    response = create_app(settings).test_client().get("/health")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["status"] == "degraded"
    assert data["checks"]["rate_limit_storage"]["status"] == "error"
    assert data["checks"]["database"]["status"] == "ok"
