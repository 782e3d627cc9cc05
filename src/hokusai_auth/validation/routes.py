"""POST /api/v1/keys/validate: public; any Hokusai service may ask whether a key is good.

Deliberately thin and dependency-free (it is the hottest endpoint): it reads the body itself, finds the key,
asks the validator and renders the verdict. 200 only when valid; every failure is non-200.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from hokusai_auth.errors import ServiceError
from hokusai_auth.runtime import Runtime
from hokusai_auth.validation.extract import first_key
from hokusai_auth.validation.responses import render
from hokusai_auth.validation.schemas import InvalidKey, ValidateRequest, ValidKey
from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.web.client_ip import client_ip

router = APIRouter(tags=["validation"])
_EMPTY = ValidateRequest()

_DOC = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": ValidateRequest.model_json_schema()}},
    },
    "parameters": [
        {
            "name": "api_key",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "the key, when it cannot travel in a header or the body",
        },
        {"name": "X-API-Key", "in": "header", "required": False, "schema": {"type": "string"}},
    ],
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ValidKey, "description": "the key is valid"},
    401: {"model": InvalidKey, "description": "no key, or a key that may not be used (see `code`)"},
    422: {"description": "malformed request body"},
    429: {"model": InvalidKey, "description": "rate limit or monthly quota exhausted; see Retry-After"},
    503: {"model": InvalidKey, "description": "the key store is unavailable; see Retry-After"},
}


async def _parse_body(request: Request) -> ValidateRequest:
    raw = await request.body()
    if not raw.strip():
        return _EMPTY
    try:
        return ValidateRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_input=False)]
        raise RequestValidationError(errors) from None


async def validate_key(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    body = await _parse_body(request)
    headers = request.headers
    query_key = request.query_params.get("api_key") if request.scope.get("query_string") else None
    key, _presented = first_key((headers.get("x-api-key"), body.api_key, query_key), headers.get("authorization"))
    address = body.client_ip or client_ip(request.scope, runtime.settings.trusted_proxies)
    check = CheckRequest(
        service_id=body.service_id,
        required_scope=body.required_scope,
        client_ip=address,
        environment=body.environment,
        cost=body.cost,
    )
    status, content, extra_headers = render(await runtime.validator.validate(key, check))
    response = Response(content, status_code=status, media_type="application/json")
    for name, value in extra_headers:
        response.headers[name] = value
    return response


async def validate_needs_post(request: Request) -> Response:
    # Without this, GET would fall through to GET /api/v1/keys/{key_id} and answer with an admin-token error.
    raise ServiceError(
        405, "method_not_allowed", f"Method Not Allowed: use POST {request.url.path}", headers={"Allow": "POST"}
    )


for _path, _op, _visible in (
    ("/api/v1/keys/validate", "validate_api_key", True),
    ("/api/v1/auth/keys/validate", "validate_api_key_auth_alias", False),
):
    router.add_api_route(
        _path,
        validate_key,
        methods=["POST"],
        operation_id=_op,
        include_in_schema=_visible,
        openapi_extra=_DOC,
        responses=_RESPONSES,
        summary="Validate an API key",
    )
    router.add_api_route(_path, validate_needs_post, methods=["GET"], include_in_schema=False)
