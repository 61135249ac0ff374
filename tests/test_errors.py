"""Every error goes through one handler: the JSON envelope or the site's error page."""

from __future__ import annotations

import pytest
from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from app.extensions import csrf
from app.helpers import json_body, success_response
from app.schemas import Pagination, validate

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class Sample(BaseModel):
    """A request body used only by these tests."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=5)


@pytest.fixture
def app(app):
    """The application plus routes that fail on purpose."""
    testing = Blueprint("testing", __name__)

    @testing.post("/api/v1/_test/echo")
    def echo():
        return success_response(validate(Sample, json_body()).model_dump(), "Echoed", 201)

    @testing.get("/api/v1/_test/boom")
    def api_boom():
        raise RuntimeError("secret internals: SELECT password_hash FROM users")

    @testing.get("/_test/boom")
    def page_boom():
        raise RuntimeError("secret internals")

    @testing.get("/api/v1/_test/items")
    def items():
        from flask import request

        page = Pagination.from_args(request.args)
        return success_response(page.model_dump())

    csrf.exempt(testing)
    app.register_blueprint(testing)
    return app


def assert_envelope(response, status: int, message: str | None = None) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"success", "message", "status_code", "details", "request_id"}
    assert body["success"] is False
    assert body["status_code"] == status
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert body["details"] is None or isinstance(body["details"], list)
    if message is not None:
        assert body["message"] == message
    return body


def test_unknown_api_route_is_a_404_envelope(client):
    assert_envelope(client.get("/api/v1/no-such-thing"), 404, "Not found")


def test_unknown_route_for_a_json_client_is_a_404_envelope(client):
    assert_envelope(client.get("/no-such-page", headers={"Accept": "application/json"}), 404)


def test_wrong_method_is_a_405_envelope_with_allow(client):
    response = client.delete("/api/v1/")
    assert_envelope(response, 405, "Method not allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD", "OPTIONS"}


def test_malformed_json_is_a_400_envelope(client):
    response = client.post(
        "/api/v1/_test/echo", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 400, "Request body is not valid JSON")


def test_json_that_is_not_an_object_is_a_400_envelope(client):
    response = client.post("/api/v1/_test/echo", json=[1, 2])
    assert_envelope(response, 400, "Request body must be a JSON object")


def test_wrong_content_type_is_a_415_envelope(client):
    response = client.post("/api/v1/_test/echo", data="title=x")
    body = assert_envelope(response, 415)
    assert "application/json" in body["message"]


def test_oversized_body_is_a_413_envelope(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/api/v1/_test/echo",
        data='{"title": "' + "x" * limit + '"}',
        headers={"Content-Type": "application/json"},
    )
    assert_envelope(response, 413, "Request body too large")


def test_validation_failure_is_a_422_naming_each_field(client):
    response = client.post("/api/v1/_test/echo", json={"title": "far too long", "id": 3})
    body = assert_envelope(response, 422, "Validation failed")
    assert {"field": "title", "message": "must be at most 5 characters"} in body["details"]
    assert {"field": "id", "message": "is not an accepted field"} in body["details"]


def test_valid_body_passes_through(client):
    response = client.post("/api/v1/_test/echo", json={"title": "ok"})
    assert response.status_code == 201
    assert response.get_json() == {"success": True, "message": "Echoed", "data": {"title": "ok"}}


def test_unexpected_error_is_a_generic_500_envelope(client, log_path):
    response = client.get("/api/v1/_test/boom")
    body = assert_envelope(response, 500, "An unexpected error occurred")
    text = response.get_data(as_text=True)
    assert "SELECT" not in text and "Traceback" not in text and "secret" not in text
    with open(log_path) as handle:
        assert "RuntimeError" in handle.read()
    assert body["details"] is None


def test_unexpected_error_on_a_page_shows_the_error_page(client):
    response = client.get("/_test/boom", headers=BROWSER)
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "An unexpected error occurred" in page
    assert response.headers["X-Request-ID"] in page
    assert "secret internals" not in page and "Traceback" not in page


def test_unknown_page_for_a_browser_shows_the_layout_and_request_id(client):
    response = client.get("/no-such-page", headers=BROWSER)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert 'class="site-header"' in page
    assert response.headers["X-Request-ID"] in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("limit=0", "limit", "must be >= 1"),
        ("limit=101", "limit", "must be <= 100"),
        ("skip=-1", "skip", "must be >= 0"),
        ("limit=abc", "limit", "must be an integer"),
        ("limit=1e3", "limit", "must be an integer"),
        ("limit=1.5", "limit", "must be an integer"),
        ("limit=", "limit", "must be an integer"),
        ("skip=", "skip", "must be an integer"),
        ("skip=--1", "skip", "must be an integer"),
    ],
)
def test_bad_pagination_is_a_422_naming_the_parameter(client, query, field, message):
    body = assert_envelope(client.get(f"/api/v1/_test/items?{query}"), 422)
    assert body["details"] == [{"field": field, "message": message}]


@pytest.mark.parametrize(
    ("query", "skip", "limit"),
    [("", 0, 20), ("limit=1", 0, 1), ("limit=100", 0, 100), ("skip=40&limit=20", 40, 20)],
)
def test_good_pagination_is_accepted(client, query, skip, limit):
    response = client.get(f"/api/v1/_test/items?{query}")
    assert response.status_code == 200
    assert response.get_json()["data"] == {"skip": skip, "limit": limit}


def test_database_unreachable_is_a_503_envelope(make_settings):
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db

    app = create_app(make_settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    testing = Blueprint("testing", __name__)

    @testing.get("/api/v1/_test/db")
    def needs_database():
        db.session.execute(text("SELECT 1"))
        return success_response()

    app.register_blueprint(testing)
    client = app.test_client()
    assert client.get("/health/live").status_code == 200
    response = client.get("/api/v1/_test/db")
    body = assert_envelope(response, 503)
    assert "database" in body["message"]
    assert "nobody" not in response.get_data(as_text=True)


def test_response_model_hitting_a_dead_database_is_a_503(make_settings):
    from pydantic import BaseModel, ConfigDict
    from sqlalchemy.exc import OperationalError

    from app import create_app

    class Row(BaseModel):
        model_config = ConfigDict(from_attributes=True)
        title: str

    class ExpiredRow:
        """An ORM object whose lazy attribute load meets a database that went away."""

        @property
        def title(self) -> str:
            raise OperationalError("SELECT posts.title", {}, ConnectionError("server closed"))

    app = create_app(make_settings())
    testing = Blueprint("testing", __name__)

    @testing.get("/api/v1/_test/expired")
    def expired():
        return success_response(Row.model_validate(ExpiredRow()).model_dump())

    app.register_blueprint(testing)
    response = app.test_client().get("/api/v1/_test/expired")
    body = assert_envelope(response, 503)
    assert "database" in body["message"]
    assert "SELECT" not in response.get_data(as_text=True)


def test_response_model_failing_for_another_reason_is_still_a_500(make_settings):
    from pydantic import BaseModel, ConfigDict

    from app import create_app

    class Row(BaseModel):
        model_config = ConfigDict(from_attributes=True)
        title: str

    class Broken:
        @property
        def title(self) -> str:
            raise RuntimeError("a bug")

    app = create_app(make_settings())
    testing = Blueprint("testing", __name__)

    @testing.get("/api/v1/_test/broken")
    def broken():
        return success_response(Row.model_validate(Broken()).model_dump())

    app.register_blueprint(testing)
    assert_envelope(
        app.test_client().get("/api/v1/_test/broken"), 500, "An unexpected error occurred"
    )
