"""CORS: exact-origin allow list, preflight, error responses, wildcard, never credentials."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_cors import cross_origin

from app import create_app
from app.edge.cors import ALLOWED_HEADERS, EXPOSED_HEADERS

ALLOWED = "https://app.example.com"
OTHER_ALLOWED = "http://localhost:3000"
PARTNER = "https://partner.example.org"
API = "/api/v1/"


def boom() -> str:
    """Fails, to show that a 500 carries the CORS headers too."""
    raise RuntimeError("kaboom")


@cross_origin(origins=[PARTNER], methods=["GET"], max_age=5)
def partner_feed() -> str:
    """A view with CORS options of its own: only the partner's origin may read it."""
    return "for the partner"


@pytest.fixture
def build_app(make_settings):
    """Build an app with the given CORS_ORIGINS and a route that fails."""

    def build(cors_origins: str = f"{ALLOWED},{OTHER_ALLOWED}", **overrides) -> Flask:
        application = create_app(make_settings(cors_origins=cors_origins, **overrides))
        application.add_url_rule("/test/boom", view_func=boom)
        application.add_url_rule("/test/partner", view_func=partner_feed)
        return application

    return build


def preflight(client, origin: str, method: str = "PATCH", headers: str = "Authorization"):
    """A browser's preflight request."""
    return client.options(
        API,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def cors_headers(response) -> list[str]:
    """The names of the response's Access-Control-* headers."""
    return [name for name, _ in response.headers.items() if name.startswith("Access-Control-")]


def header_list(value: str | None) -> set[str]:
    """The comma-separated names of a header value, lower-cased."""
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


@pytest.mark.parametrize("origin", [ALLOWED, OTHER_ALLOWED])
def test_allowed_origin_is_echoed(build_app, origin):
    response = build_app().test_client().get(API, headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin


def test_allowed_origin_response_varies_on_origin(build_app):
    response = build_app(cors_origins=ALLOWED).test_client().get(API, headers={"Origin": ALLOWED})
    assert "origin" in header_list(response.headers.get("Vary"))


def test_allowed_origin_may_read_the_exposed_headers(build_app):
    response = build_app().test_client().get(API, headers={"Origin": ALLOWED})
    exposed = header_list(response.headers["Access-Control-Expose-Headers"])
    assert exposed == {name.lower() for name in EXPOSED_HEADERS}


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.net",
        "https://app.example.com.evil.net",
        "https://evil-app.example.com",
        "https://sub.app.example.com",
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://app.example.co",
        "null",
    ],
)
def test_other_origin_gets_no_cors_headers(build_app, origin):
    response = build_app().test_client().get(API, headers={"Origin": origin})
    assert response.status_code == 200
    assert cors_headers(response) == []


def test_response_to_another_origin_still_varies_on_origin(build_app):
    response = build_app().test_client().get(API, headers={"Origin": "https://evil.example.net"})
    assert "origin" in header_list(response.headers.get("Vary"))


def test_request_without_origin_gets_no_cors_headers(build_app):
    response = build_app().test_client().get(API)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_cross_origin_access_by_default(build_app):
    client = build_app(cors_origins="").test_client()
    for response in (client.get(API, headers={"Origin": ALLOWED}), preflight(client, ALLOWED)):
        assert cors_headers(response) == []


def test_preflight_from_allowed_origin_lists_methods_and_headers(build_app):
    response = preflight(build_app().test_client(), ALLOWED, "PATCH", "Authorization, If-Match")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert {"get", "post", "patch", "delete"} <= header_list(
        response.headers["Access-Control-Allow-Methods"]
    )
    assert header_list(response.headers["Access-Control-Allow-Headers"]) == {
        "authorization",
        "if-match",
    }
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_preflight_allows_every_listed_request_header(build_app):
    requested = ", ".join(ALLOWED_HEADERS)
    response = preflight(build_app().test_client(), ALLOWED, "POST", requested)
    allowed = header_list(response.headers["Access-Control-Allow-Headers"])
    assert allowed == {name.lower() for name in ALLOWED_HEADERS}


def test_preflight_does_not_allow_unlisted_request_headers(build_app):
    response = preflight(build_app().test_client(), ALLOWED, "POST", "X-Custom-Secret")
    assert "x-custom-secret" not in header_list(
        response.headers.get("Access-Control-Allow-Headers")
    )


def test_preflight_from_other_origin_gets_no_cors_headers(build_app):
    response = preflight(build_app().test_client(), "https://evil.example.net")
    assert cors_headers(response) == []


@pytest.mark.parametrize(("path", "status"), [("/api/v1/no-such-thing", 404), ("/test/boom", 500)])
def test_error_response_carries_the_cors_headers(build_app, path, status):
    response = build_app().test_client().get(path, headers={"Origin": ALLOWED})
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "x-request-id" in header_list(response.headers["Access-Control-Expose-Headers"])


def test_rate_limited_response_carries_the_cors_headers(build_app):
    client = build_app(rate_limit_requests=1).test_client()
    client.get(API, headers={"Origin": ALLOWED})
    response = client.get(API, headers={"Origin": ALLOWED})
    assert response.status_code == 429
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "retry-after" in header_list(response.headers["Access-Control-Expose-Headers"])


def test_wildcard_allows_any_origin_with_a_literal_star(build_app):
    client = build_app(cors_origins="*").test_client()
    response = client.get(API, headers={"Origin": "https://anyone.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_wildcard_preflight_is_answered(build_app):
    response = preflight(build_app(cors_origins="*").test_client(), "https://anyone.example.org")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "patch" in header_list(response.headers["Access-Control-Allow-Methods"])


@pytest.mark.parametrize("cors_origins", ["*", ALLOWED])
def test_credentials_are_never_allowed(build_app, cors_origins):
    client = build_app(cors_origins=cors_origins).test_client()
    responses = [client.get(API, headers={"Origin": ALLOWED}), preflight(client, ALLOWED)]
    assert all("Access-Control-Allow-Credentials" not in r.headers for r in responses)


def test_repeated_requests_get_the_same_cors_headers_once_each(build_app):
    client = build_app().test_client()
    answers = [client.get(API, headers={"Origin": ALLOWED}) for _ in range(3)]
    first = [(name, value) for name, value in answers[0].headers.items() if "Access" in name]
    for response in answers[1:]:
        assert [(n, v) for n, v in response.headers.items() if "Access" in n] == first
        assert response.headers.getlist("Access-Control-Allow-Origin") == [ALLOWED]
        assert response.headers.getlist("Vary") == ["Origin"]


def test_answers_to_one_origin_do_not_leak_to_another(build_app):
    client = build_app().test_client()
    for origin in [ALLOWED, "https://evil.example", ALLOWED, OTHER_ALLOWED, "https://evil.example"]:
        response = client.get(API, headers={"Origin": origin})
        expected = [] if origin == "https://evil.example" else [origin]
        assert response.headers.getlist("Access-Control-Allow-Origin") == expected


def test_repeated_preflights_follow_the_requested_headers(build_app):
    client = build_app().test_client()
    for _ in range(2):
        allowed = preflight(client, ALLOWED, headers="Authorization")
        refused = preflight(client, ALLOWED, headers="X-Secret")
        assert header_list(allowed.headers.get("Access-Control-Allow-Headers")) == {"authorization"}
        assert not header_list(refused.headers.get("Access-Control-Allow-Headers"))


@pytest.mark.parametrize("path", ["/no/such/page", "/test/boom", "/api/v1"])
def test_error_and_redirect_responses_after_an_answered_request_carry_one_origin(build_app, path):
    client = build_app().test_client()
    client.get(API, headers={"Origin": ALLOWED})
    response = client.get(path, headers={"Origin": ALLOWED})
    assert response.status_code >= 300
    assert response.headers.getlist("Access-Control-Allow-Origin") == [ALLOWED]
    assert response.headers.getlist("Access-Control-Expose-Headers") == [
        ", ".join(sorted(EXPOSED_HEADERS))
    ]


def test_a_view_with_its_own_cors_options_answers_by_them(build_app):
    client = build_app().test_client()
    partner = client.get("/test/partner", headers={"Origin": PARTNER})
    ours = client.get("/test/partner", headers={"Origin": ALLOWED})
    assert partner.headers.getlist("Access-Control-Allow-Origin") == [PARTNER]
    assert cors_headers(ours) == []


@pytest.mark.parametrize("origin", [ALLOWED, PARTNER])
def test_a_view_with_its_own_cors_options_leaves_the_api_answers_alone(build_app, origin):
    client = build_app().test_client()
    client.get("/test/partner", headers={"Origin": origin})  # requested first
    client.options(
        "/test/partner", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
    )
    response = client.get(API, headers={"Origin": origin})
    expected = [origin] if origin == ALLOWED else []
    assert response.headers.getlist("Access-Control-Allow-Origin") == expected
    preflight_answer = preflight(client, ALLOWED)
    assert preflight_answer.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert int(preflight_answer.headers["Access-Control-Max-Age"]) == 600


def test_origin_is_matched_ignoring_case(build_app):
    response = build_app().test_client().get(API, headers={"Origin": ALLOWED.upper()})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED.upper()


def test_vary_keeps_what_the_app_varies_on(build_app):
    client = build_app().test_client()
    with client.session_transaction() as session:
        session["user_id"] = 1
    response = client.get(API, headers={"Origin": ALLOWED})
    assert {"origin", "cookie"} <= header_list(response.headers.get("Vary"))


def test_wildcard_answers_do_not_vary_on_origin(build_app):
    response = build_app(cors_origins="*").test_client().get(API, headers={"Origin": ALLOWED})
    assert "origin" not in header_list(response.headers.get("Vary"))
