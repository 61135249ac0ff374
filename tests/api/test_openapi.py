"""The OpenAPI document: generated from the validating models, complete, and honest."""

from __future__ import annotations

import pytest

from app import create_app
from app.openapi import REF_TEMPLATE, documented_operations
from app.schemas import CommentCreate, PostCreate, PostUpdate, TokenRequest, UserCreate

OPENAPI = "/api/v1/openapi.json"


@pytest.fixture
def docs_app(make_settings):
    """An application whose document is inspected; no rows are needed."""
    return create_app(make_settings(app_name="Quill", app_version="9.8.7"))


@pytest.fixture
def document(docs_app) -> dict:
    """The served OpenAPI document."""
    response = docs_app.test_client().get(OPENAPI)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def resolve(document: dict, schema: dict) -> dict:
    """Follow a local ``$ref``."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def operation(document: dict, method: str, path: str) -> dict:
    """One operation object."""
    return document["paths"][path][method.lower()]


def test_document_is_openapi_3_with_title_and_version_from_settings(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Quill"
    assert document["info"]["version"] == "9.8.7"


def test_every_api_route_is_documented(docs_app, document):
    documented = {
        (method.lower(), path) for path, item in document["paths"].items() for method in item
    }
    routes = set()
    for rule in docs_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_document":
            continue
        path = rule.rule.replace("<id:", "{").replace("<", "{").replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    assert routes == documented
    assert len(documented_operations(docs_app)) == len(documented)


@pytest.mark.parametrize(
    ("method", "path", "model"),
    [
        ("post", "/api/v1/auth/register", UserCreate),
        ("post", "/api/v1/auth/token", TokenRequest),
        ("post", "/api/v1/posts", PostCreate),
        ("patch", "/api/v1/posts/{post_id}", PostUpdate),
        ("post", "/api/v1/posts/{post_id}/comments", CommentCreate),
    ],
)
def test_request_bodies_are_the_validating_models(document, method, path, model):
    body = operation(document, method, path)["requestBody"]["content"]["application/json"]
    schema = resolve(document, body["schema"])
    expected = model.model_json_schema(ref_template=REF_TEMPLATE)
    assert schema == expected
    assert schema["additionalProperties"] is False


def test_read_only_fields_are_not_accepted_by_the_documented_bodies(document):
    schema = resolve(document, {"$ref": "#/components/schemas/PostCreate"})
    assert set(schema["properties"]) == {"title", "body", "status"}
    assert schema["required"] == ["title", "body"]


def test_success_responses_use_the_envelopes(document):
    single = operation(document, "get", "/api/v1/posts/{post_id}")["responses"]["200"]
    listing = operation(document, "get", "/api/v1/posts")["responses"]["200"]
    single_schema = resolve(document, single["content"]["application/json"]["schema"])
    list_schema = resolve(document, listing["content"]["application/json"]["schema"])
    assert set(single_schema["required"]) == {"success", "message", "data"}
    assert set(list_schema["required"]) == {"success", "message", "data", "pagination"}
    item = resolve(document, list_schema["properties"]["data"]["items"])
    assert item["title"] == "PostResponse"
    assert "ETag" in single["headers"]
    assert "Link" in listing["headers"]


def test_public_profile_schema_has_no_email(document):
    schema = resolve(document, {"$ref": "#/components/schemas/PublicUserResponse"})
    assert "email" not in schema["properties"]
    assert schema["additionalProperties"] is False


def test_no_response_schema_can_carry_a_password(document):
    for name, schema in document["components"]["schemas"].items():
        if name.endswith(("Response", "Envelope")) or "Envelope_" in name:
            assert not {"password", "password_hash"} & set(schema.get("properties", {})), name


def test_every_error_response_is_the_error_envelope(document):
    for path, item in document["paths"].items():
        for method, details in item.items():
            for status, response in details["responses"].items():
                if int(status) < 400:
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path)


def test_error_envelope_schema_matches_the_contract(document):
    schema = resolve(document, {"$ref": "#/components/schemas/ErrorEnvelope"})
    assert set(schema["required"]) == {"success", "message", "status_code", "details", "request_id"}


def test_bearer_security_scheme_is_declared(document):
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


@pytest.mark.parametrize(
    ("method", "path", "security"),
    [
        ("get", "/api/v1/auth/me", [{"bearerAuth": []}]),
        ("post", "/api/v1/posts", [{"bearerAuth": []}]),
        ("get", "/api/v1/audit", [{"bearerAuth": []}]),
        ("get", "/api/v1/posts/{post_id}", [{"bearerAuth": []}, {}]),
        ("get", "/api/v1/posts", None),
        ("post", "/api/v1/auth/token", None),
    ],
)
def test_security_requirements_follow_the_access_rules(document, method, path, security):
    assert operation(document, method, path).get("security") == security


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/api/v1/posts", {"201", "400", "401", "413", "415", "422", "429"}),
        ("patch", "/api/v1/posts/{post_id}", {"200", "401", "403", "404", "412", "422"}),
        ("delete", "/api/v1/comments/{comment_id}", {"200", "401", "403", "404", "412"}),
        ("post", "/api/v1/auth/register", {"201", "409", "422"}),
        ("get", "/api/v1/audit", {"200", "401", "403", "422"}),
    ],
)
def test_documented_status_codes_include_the_contracts(document, method, path, statuses):
    assert statuses <= set(operation(document, method, path)["responses"])


def test_unauthorized_responses_document_the_bearer_challenge(document):
    response = operation(document, "get", "/api/v1/auth/me")["responses"]["401"]
    assert "WWW-Authenticate" in response["headers"]


def test_pagination_parameters_come_from_the_pagination_model(document):
    parameters = {
        parameter["name"]: parameter
        for parameter in operation(document, "get", "/api/v1/posts")["parameters"]
    }
    assert parameters["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    assert parameters["skip"]["schema"]["minimum"] == 0
    assert parameters["author"]["in"] == "query"


def test_audit_filters_are_documented(document):
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in operation(document, "get", "/api/v1/audit")["parameters"]
    }
    assert parameters["entity_type"]["enum"] == ["user", "post", "comment"]
    assert {"entity_id", "actor", "skip", "limit"} <= set(parameters)


def test_if_match_is_documented_on_conditional_writes(document):
    for method, path in (
        ("patch", "/api/v1/posts/{post_id}"),
        ("delete", "/api/v1/posts/{post_id}"),
        ("delete", "/api/v1/comments/{comment_id}"),
    ):
        names = {parameter["name"] for parameter in operation(document, method, path)["parameters"]}
        assert "If-Match" in names, (method, path)


def test_path_ids_are_bounded_integers(document):
    parameter = operation(document, "get", "/api/v1/posts/{post_id}")["parameters"][0]
    assert parameter["in"] == "path"
    assert parameter["schema"]["type"] == "integer"
    assert parameter["schema"]["minimum"] == 1


def test_every_operation_has_a_unique_id_and_a_summary(document):
    ids = [
        details["operationId"] for item in document["paths"].values() for details in item.values()
    ]
    assert len(ids) == len(set(ids))
    assert all(
        details["summary"] for item in document["paths"].values() for details in item.values()
    )
