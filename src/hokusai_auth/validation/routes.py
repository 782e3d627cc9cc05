"""POST /api/v1/keys/validate: public; any Hokusai service may ask whether a key is good.

Real requests are answered by the fast path (fast_path.py) before routing; this route documents the endpoint
in OpenAPI and answers identically (same core, endpoint.py) when the router is reached directly.
200 only when valid; every failure is non-200.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from hokusai._vocabulary import ErrorCode
from hokusai_auth.errors import ServiceError
from hokusai_auth.validation.endpoint import Validating, answer
from hokusai_auth.validation.schemas import InvalidKey, ValidateRequest, ValidKey

router = APIRouter(tags=["validation"])

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


async def validate_key(request: Request) -> Response:
    validating: Validating = request.app.state.runtime  # as the fast path finds it
    status, content, headers = await answer(validating, request.scope, await request.body())
    return Response(
        content,
        status_code=status,
        media_type="application/json",
        headers={name.decode(): value.decode() for name, value in headers},
    )


async def validate_needs_post(request: Request) -> Response:
    # Without this, GET would fall through to GET /api/v1/keys/{key_id} and answer with an admin-token error.
    raise ServiceError(
        405, ErrorCode.METHOD_NOT_ALLOWED, f"Method Not Allowed: use POST {request.url.path}", headers={"Allow": "POST"}
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
