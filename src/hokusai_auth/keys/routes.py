"""Key management over HTTP. Thin: parse, call the service, shape the answer.

The admin token acts on every key; a signed-in user's access token acts on that user's own keys only (another
user's key is 404, ``user_id`` and ``billing_plan`` are the operator's to set). Mounted at /api/v1/keys and, with
the same behaviour, at /api/v1/auth/keys (the path the original CLI used).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from hokusai._vocabulary import ErrorCode, canonical_service, describe_services
from hokusai_auth.components import provided
from hokusai_auth.deps import AdminOrUser
from hokusai_auth.errors import ServiceError, invalid_field
from hokusai_auth.keys.repository import KeyFilter
from hokusai_auth.keys.schemas import (
    APIKeyInfo,
    CreatedKey,
    CreateKeyRequest,
    RevokedMessage,
    RotateKeyRequest,
    UpdateKeyRequest,
)
from hokusai_auth.keys.service import KeyService, parse_key_id
from hokusai_auth.web.pagination import set_next_page

Keys = Annotated[KeyService, Depends(provided(KeyService))]
_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "missing or wrong admin token or access token"},
    403: {"description": "a user set a field only an operator may set (`user_id`, `billing_plan`)"},
    422: {"description": "a field is out of range or of the wrong type; `detail` names it"},
}


def build_router(prefix: str, *, alias: bool) -> APIRouter:
    # The alias copy is hidden from the schema and its operation ids are suffixed, so ids stay unique.
    suffix = "_auth_alias" if alias else ""
    # Full paths on every route (no include prefix), so the route template metrics see is the real one.
    router = APIRouter(tags=["keys"], responses=_ERRORS, include_in_schema=not alias)

    @router.post(prefix, status_code=201, operation_id=f"create_api_key{suffix}", summary="Create an API key")
    async def create_key(body: CreateKeyRequest, caller: AdminOrUser, keys: Keys) -> CreatedKey:
        return await keys.create(body, caller.context, owner=caller.user_id)

    @router.get(prefix, operation_id=f"list_api_keys{suffix}", summary="List API keys (newest first)")
    async def list_keys(
        request: Request,
        response: Response,
        caller: AdminOrUser,
        keys: Keys,
        service_id: str | None = None,
        user_id: str | None = None,
        active_only: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> list[APIKeyInfo]:
        canonical = None
        if service_id is not None:
            canonical = canonical_service(service_id)
            if canonical is None:
                raise invalid_field(
                    "service_id", f"unknown service id; valid service ids: {describe_services()}", "query"
                )
        if caller.user_id is not None:
            if user_id not in (None, str(caller.user_id)):
                raise ServiceError(403, ErrorCode.FORBIDDEN, "user_id: a user lists only their own keys")
            user_id = str(caller.user_id)
        flt = KeyFilter(service_id=canonical, user_id=user_id, personal_only=caller.user_id is not None)
        page = await keys.list(flt, limit, cursor, active_only=active_only)
        set_next_page(request, response, page.next_cursor)
        return page.items

    @router.get(
        f"{prefix}/{{key_id}}",
        operation_id=f"get_api_key{suffix}",
        summary="Get one API key",
        responses={404: {"description": "API key not found"}},
    )
    async def get_key(key_id: str, caller: AdminOrUser, keys: Keys) -> APIKeyInfo:
        return await keys.get(parse_key_id(key_id), owner=caller.user_id)

    @router.patch(
        f"{prefix}/{{key_id}}",
        operation_id=f"update_api_key{suffix}",
        summary="Change an API key's settings",
        responses={404: {"description": "API key not found"}},
    )
    async def update_key(key_id: str, body: UpdateKeyRequest, caller: AdminOrUser, keys: Keys) -> APIKeyInfo:
        return await keys.update(parse_key_id(key_id), body, caller.context, owner=caller.user_id)

    @router.delete(
        f"{prefix}/{{key_id}}",
        operation_id=f"revoke_api_key{suffix}",
        summary="Revoke an API key",
        responses={404: {"description": "API key not found"}},
    )
    async def revoke_key(key_id: str, caller: AdminOrUser, keys: Keys) -> RevokedMessage:
        await keys.revoke(parse_key_id(key_id), caller.context, owner=caller.user_id)
        return RevokedMessage()

    @router.post(
        f"{prefix}/{{key_id}}/rotate",
        status_code=201,
        operation_id=f"rotate_api_key{suffix}",
        summary="Replace an API key with a new one",
        responses={
            404: {"description": "API key not found"},
            409: {"description": "already rotated, revoked or expired"},
        },
    )
    async def rotate_key(
        key_id: str,
        caller: AdminOrUser,
        keys: Keys,
        body: Annotated[RotateKeyRequest | None, Body()] = None,
    ) -> CreatedKey:
        grace = body.grace_period_seconds if body is not None else 0
        return await keys.rotate(parse_key_id(key_id), grace, caller.context, owner=caller.user_id)

    return router
