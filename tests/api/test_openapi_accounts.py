"""The OpenAPI document of the account endpoints: nullable authors, revocation, admin users."""

from __future__ import annotations

import pytest

from app import create_app
from app.openapi import REF_TEMPLATE
from app.schemas import LogoutRequest, PasswordChange, UserAdminUpdate

OPENAPI = "/api/v1/openapi.json"


@pytest.fixture
def document(make_settings) -> dict:
    """The served OpenAPI document."""
    response = create_app(make_settings()).test_client().get(OPENAPI)
    assert response.status_code == 200
    return response.get_json()


def resolve(document: dict, schema: dict) -> dict:
    """Follow a local ``$ref``."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("model", ["PostResponse", "CommentResponse"])
def test_the_author_is_nullable(document, model):
    author = document["components"]["schemas"][model]["properties"]["author"]
    kinds = [
        resolve(document, choice).get("title", choice.get("type")) for choice in author["anyOf"]
    ]
    assert kinds == ["AuthorSummary", "null"]
    assert "author" in document["components"]["schemas"][model]["required"]


def test_every_operation_documents_401_for_a_refused_token(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "401" in operation["responses"], (method, path)


def test_logout_body_is_optional(document):
    body = document["paths"]["/api/v1/auth/logout"]["post"]["requestBody"]
    assert body["required"] is False
    schema = resolve(document, body["content"]["application/json"]["schema"])
    assert schema == LogoutRequest.model_json_schema(ref_template=REF_TEMPLATE)


@pytest.mark.parametrize(
    ("method", "path", "model", "statuses"),
    [
        ("post", "/api/v1/auth/password", PasswordChange, {"200", "401", "403", "422"}),
        ("patch", "/api/v1/admin/users/{user_id}", UserAdminUpdate, {"200", "403", "404", "409"}),
    ],
)
def test_account_bodies_and_statuses(document, method, path, model, statuses):
    operation = document["paths"][path][method]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert resolve(document, body) == model.model_json_schema(ref_template=REF_TEMPLATE)
    assert statuses <= set(operation["responses"])


def test_the_admin_update_needs_at_least_one_field(document):
    schema = resolve(document, {"$ref": "#/components/schemas/UserAdminUpdate"})
    assert schema["minProperties"] == 1
    assert set(schema["properties"]) == {"is_active", "is_admin"}


def test_the_users_list_documents_its_status_filter(document):
    operation = document["paths"]["/api/v1/admin/users"]["get"]
    parameters = {parameter["name"]: parameter["schema"] for parameter in operation["parameters"]}
    assert parameters["status"]["enum"] == ["active", "inactive", "deleted"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"403", "409"} <= set(
        document["paths"]["/api/v1/admin/users/{user_id}"]["delete"]["responses"]
    )
