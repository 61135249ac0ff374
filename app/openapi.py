"""The OpenAPI 3.1 document, generated from the pydantic models that validate.

Views declare what they accept and answer with :func:`api_operation`; the document is
built from the app's URL map and those declarations, with every schema taken from the
request, response and query models in :mod:`app.schemas`. No schema is written by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from app.errors import DEFAULT_MESSAGES
from app.schemas import MAX_ID, ErrorEnvelope, ListEnvelope, SuccessEnvelope

OPENAPI_VERSION = "3.1.0"
OPERATION_ATTRIBUTE = "__api_operation__"
REF_TEMPLATE = "#/components/schemas/{model}"
BEARER_SCHEME = "bearerAuth"
ID_CONVERTERS = ("id", "int")
# 401: a present but invalid, expired or revoked token is refused on every operation.
ALWAYS_POSSIBLE_ERRORS = (401, 429, 503)
TAGS = (
    ("auth", "Registration, access tokens and the current user"),
    ("users", "Public profiles"),
    ("posts", "Posts, drafts and their history"),
    ("comments", "Comments on posts"),
    ("admin", "Administering users (admins)"),
    ("audit", "The audit trail (admins)"),
    ("meta", "About this API"),
)

Auth = Literal["none", "optional", "user", "admin"]
ViewT = TypeVar("ViewT", bound=Callable[..., Any])
_RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_SchemaKey = tuple[type[BaseModel], Literal["validation", "serialization"]]


@dataclass(frozen=True)
class ApiOperation:
    """What one API view accepts and answers, for the OpenAPI document."""

    summary: str
    tag: str
    response: Any = None
    many: bool = False
    status: int = 200
    body: type[BaseModel] | None = None
    #: Whether the body may be left out (the view then reads it as ``{}``).
    body_required: bool = True
    query: type[BaseModel] | None = None
    auth: Auth = "none"
    errors: tuple[int, ...] = ()
    etag: bool = False
    if_match: bool = False
    description: str = ""

    @property
    def envelope(self) -> type[BaseModel]:
        """The model of the success response: the item or list envelope around ``response``."""
        if self.many:
            return ListEnvelope[self.response]
        return SuccessEnvelope[self.response]

    def error_statuses(self, has_path_parameters: bool) -> list[int]:
        """Every error status this operation can answer with."""
        statuses = set(self.errors) | set(ALWAYS_POSSIBLE_ERRORS)
        if self.body is not None:
            statuses |= {400, 413, 415, 422}
        if self.query is not None:
            statuses.add(422)
        if self.auth != "none":
            statuses.add(401)
        if self.auth == "admin":
            statuses.add(403)
        if self.if_match:
            statuses.add(412)
        if has_path_parameters:
            statuses.add(404)
        return sorted(statuses)


def api_operation(summary: str, **details: Any) -> Callable[[ViewT], ViewT]:
    """Declare a view's contract (see :class:`ApiOperation`) for the OpenAPI document."""
    operation = ApiOperation(summary=summary, **details)

    def decorate(view: ViewT) -> ViewT:
        setattr(view, OPERATION_ATTRIBUTE, operation)
        return view

    return decorate


def documented_operations(app: Flask) -> list[tuple[Rule, str, ApiOperation]]:
    """Every (rule, method, operation) the app's views declare, in path order."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        operation = getattr(app.view_functions.get(rule.endpoint), OPERATION_ATTRIBUTE, None)
        if operation is None:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method, operation))
    return found


def build_openapi(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s JSON API."""
    settings = app.extensions["inkwell.settings"]
    operations = documented_operations(app)
    schemas = _SchemaRegistry()
    for _rule, _method, operation in operations:
        schemas.add(operation)

    paths: dict[str, dict[str, Any]] = {}
    for rule, method, operation in operations:
        path, path_parameters = _openapi_path(rule)
        paths.setdefault(path, {})[method.lower()] = _operation_object(
            operation, rule.endpoint, method, path_parameters, schemas
        )

    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": settings.app_name,
            "version": settings.app_version,
            "description": (
                "The JSON API of a blogging platform. Authenticate with "
                "`Authorization: Bearer <token>` from `POST /api/v1/auth/token`. Every "
                "answer is an envelope: `{success, message, data}` (lists add "
                "`pagination` and a `Link` header), errors "
                "`{success: false, message, status_code, details, request_id}`."
            ),
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths,
        "components": {
            "schemas": schemas.components(),
            "securitySchemes": {
                BEARER_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "headers": _component_headers(),
        },
    }


class _SchemaRegistry:
    """Collects the models of all operations and renders them as shared components."""

    def __init__(self) -> None:
        self._keys: list[_SchemaKey] = [(ErrorEnvelope, "serialization")]
        self._refs: dict[_SchemaKey, dict[str, Any]] | None = None
        self._definitions: dict[str, Any] = {}

    def add(self, operation: ApiOperation) -> None:
        """Remember the models ``operation`` uses."""
        self._keys.append((operation.envelope, "serialization"))
        if operation.body is not None:
            self._keys.append((operation.body, "validation"))

    def _render(self) -> dict[_SchemaKey, dict[str, Any]]:
        if self._refs is None:
            unique = list(dict.fromkeys(self._keys))
            refs, top = models_json_schema(unique, ref_template=REF_TEMPLATE)
            self._refs = dict(refs)
            self._definitions = top.get("$defs", {})
        return self._refs

    def ref(self, model: type[BaseModel], mode: Literal["validation", "serialization"]) -> dict:
        """A ``$ref`` to ``model``'s schema in ``mode``."""
        return self._render()[(model, mode)]

    def components(self) -> dict[str, Any]:
        """Every schema, by name."""
        self._render()
        return dict(sorted(self._definitions.items()))


def _openapi_path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """``/posts/<id:post_id>`` becomes ``/posts/{post_id}`` with its parameter objects."""
    parameters = []
    for match in _RULE_ARGUMENT.finditer(rule.rule):
        if match["converter"] in ID_CONVERTERS:
            schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        else:
            schema = {"type": "string", "minLength": 1}
        parameters.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    path = _RULE_ARGUMENT.sub(lambda match: "{" + match["name"] + "}", rule.rule)
    return path, parameters


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One query parameter per field of ``model``."""
    schema = model.model_json_schema(mode="validation", ref_template=REF_TEMPLATE)
    required = set(schema.get("required", ()))
    parameters = []
    for name, property_schema in schema.get("properties", {}).items():
        property_schema = dict(property_schema)
        property_schema.pop("title", None)
        description = property_schema.pop("description", "")
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": description,
                "schema": property_schema,
            }
        )
    return parameters


def _operation_object(
    operation: ApiOperation,
    endpoint: str,
    method: str,
    path_parameters: list[dict[str, Any]],
    schemas: _SchemaRegistry,
) -> dict[str, Any]:
    """The OpenAPI operation object of one view and method."""
    parameters = list(path_parameters)
    if operation.query is not None:
        parameters += _query_parameters(operation.query)
    if operation.if_match:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "The ETag last read; a stale one is answered with 412",
                "schema": {"type": "string"},
            }
        )
    result: dict[str, Any] = {
        "operationId": f"{endpoint.rpartition('.')[2]}_{method.lower()}",
        "summary": operation.summary,
        "tags": [operation.tag],
    }
    if operation.description:
        result["description"] = operation.description
    if parameters:
        result["parameters"] = parameters
    if operation.body is not None:
        result["requestBody"] = {
            "required": operation.body_required,
            "content": {"application/json": {"schema": schemas.ref(operation.body, "validation")}},
        }
    if operation.auth in ("user", "admin"):
        result["security"] = [{BEARER_SCHEME: []}]
    elif operation.auth == "optional":
        result["security"] = [{BEARER_SCHEME: []}, {}]
    result["responses"] = _responses(operation, bool(path_parameters), schemas)
    return result


def _responses(
    operation: ApiOperation, has_path_parameters: bool, schemas: _SchemaRegistry
) -> dict[str, Any]:
    """The success response and every error response of ``operation``."""
    success_headers = {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}
    if operation.etag:
        success_headers["ETag"] = {"$ref": "#/components/headers/ETag"}
    if operation.many:
        success_headers["Link"] = {"$ref": "#/components/headers/Link"}
    responses: dict[str, Any] = {
        str(operation.status): {
            "description": "Success",
            "headers": success_headers,
            "content": {
                "application/json": {"schema": schemas.ref(operation.envelope, "serialization")}
            },
        }
    }
    error_schema = schemas.ref(ErrorEnvelope, "serialization")
    for status in operation.error_statuses(has_path_parameters):
        headers = {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}
        if status == 401:
            headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
        if status == 429:
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        responses[str(status)] = {
            "description": DEFAULT_MESSAGES.get(status, "Error"),
            "headers": headers,
            "content": {"application/json": {"schema": error_schema}},
        }
    return responses


def _component_headers() -> dict[str, Any]:
    """Response headers shared by many operations."""
    return {
        "X-Request-ID": {
            "description": "The request id, also in every log line and error body",
            "required": True,
            "schema": {"type": "string"},
        },
        "ETag": {
            "description": "Entity tag of the record; send it back in If-Match",
            "required": True,
            "schema": {"type": "string"},
        },
        "Link": {
            "description": 'RFC 8288 links to the rel="next" and rel="prev" pages',
            "schema": {"type": "string"},
        },
        "WWW-Authenticate": {
            "description": "Always `Bearer` (with an error when a token was refused)",
            "required": True,
            "schema": {"type": "string"},
        },
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "string"},
        },
    }
