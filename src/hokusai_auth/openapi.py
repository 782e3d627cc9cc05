"""The published OpenAPI document, made to say what the service really answers.

FastAPI documents a 422 as its own ``{"detail": [ ... ]}`` shape, knows nothing of the answers that come from the
edge (400, 408, 413, 431 from the request checks and the server; 503 while the database is away) and nothing of
the bearer credentials the credential gate checks. This rewrites the generated document once:
- every error answer is the service's one error shape, ``ErrorBody`` (unless a route declared its own, as
  validate does);
- every operation lists the edge's answers, and routes behind the gate list 401, 429 and 503;
- the admin token and service tokens are declared as bearer security schemes, and each operation names the one
  it needs (so the interactive docs' "Authorize" works).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from hokusai_auth.deps import Requirement

ERROR_REF = "#/components/schemas/ErrorBody"
EDGE_ANSWERS = {
    "400": "a NUL character in the path, query or a header, or a credential given twice",
    "413": "the body is larger than the limit (MAX_BODY_BYTES)",
    "431": "the headers are larger than 32 KiB",
}
# Every gated route reads the database; the others (health, metrics, validate, ready) declare their own answers.
GATED_ANSWERS = {
    "401": "missing or refused credential",
    "429": "too many refused credentials from this address; see Retry-After",
    "503": "a dependency (the database) cannot be reached; see Retry-After",
}
SCHEMES = {
    "adminToken": {"type": "http", "scheme": "bearer", "description": "the operator's ADMIN_TOKEN"},
    "serviceToken": {"type": "http", "scheme": "bearer", "description": "one of SERVICE_TOKENS (or the admin token)"},
    "accessToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "a signed-in user's access token (POST /auth/siwe/verify, POST /auth/token/refresh)",
    },
}
SECURITY: dict[Requirement, list[dict[str, list[str]]]] = {
    Requirement.ADMIN: [{"adminToken": []}],
    Requirement.SERVICE: [{"serviceToken": []}, {"adminToken": []}],
    Requirement.USER: [{"accessToken": []}],
    Requirement.ADMIN_OR_USER: [{"adminToken": []}, {"accessToken": []}],
}


class FieldError(BaseModel):
    loc: list[str | int]
    field: str
    msg: str
    type: str | None = None


class ErrorBody(BaseModel):
    """Every error this service answers (validate's refusals add ``is_valid`` and ``error``)."""

    detail: str = Field(description="a sentence for people; for schema errors it starts with the field's name")
    code: str = Field(description="stable, snake_case")
    errors: list[FieldError] | None = Field(None, description="422 only: every problem, each naming its field")


def _content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ERROR_REF}}}


def _document_errors(operation: dict[str, Any], gated: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted = {**EDGE_ANSWERS, **(GATED_ANSWERS if gated else {})}
    for status, description in wanted.items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if not status.startswith(("4", "5")):
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if not schema or schema.get("$ref", "").endswith("/HTTPValidationError"):
            response["content"] = _content()


def build(app: FastAPI, requirements: Iterable[tuple[APIRoute, Requirement | None]]) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    needs = {(route.path, method.lower()): need for route, need in requirements for method in route.methods or ()}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            need = needs.get((path, method))
            _document_errors(operation, gated=need is not None)
            if need is not None:
                operation["security"] = SECURITY[need]
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["ErrorBody"].pop("$defs", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = SCHEMES
    return spec


def install(app: FastAPI, requirements: Iterable[tuple[APIRoute, Requirement | None]]) -> None:
    """Serve ``build``'s document at /openapi.json (built on first request, then kept)."""
    table = list(requirements)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app, table)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
