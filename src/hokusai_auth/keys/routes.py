"""Key management over HTTP (admin token). Thin: parse, call the service, shape the answer.

Mounted at /api/v1/keys and, with the same behaviour, at /api/v1/auth/keys (the path the original CLI used).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from hokusai._vocabulary import canonical_service, describe_services
from hokusai_auth.components import provided
from hokusai_auth.deps import AdminContext
from hokusai_auth.errors import invalid_field
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
    401: {"description": "missing or wrong admin token"},
    422: {"description": "a field is out of range or of the wrong type; `detail` names it"},
}


def build_router(prefix: str, *, alias: bool) -> APIRouter:
    # The alias copy is hidden from the schema and its operation ids are suffixed, so ids stay unique.
    suffix = "_auth_alias" if alias else ""
    # Full paths on every route (no include prefix), so the route template metrics see is the real one.
    router = APIRouter(tags=["keys"], responses=_ERRORS, include_in_schema=not alias)

    @router.post(prefix, status_code=201, operation_id=f"create_api_key{suffix}", summary="Create an API key")
    async def create_key(body: CreateKeyRequest, ctx: AdminContext, keys: Keys) -> CreatedKey:
        return await keys.create(body, ctx)

    @router.get(prefix, operation_id=f"list_api_keys{suffix}", summary="List API keys (newest first)")
    async def list_keys(
        request: Request,
        response: Response,
        _ctx: AdminContext,
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
        page = await keys.list(KeyFilter(service_id=canonical, user_id=user_id), limit, cursor, active_only=active_only)
        set_next_page(request, response, page.next_cursor)
        return page.items

    @router.get(
        f"{prefix}/{{key_id}}",
        operation_id=f"get_api_key{suffix}",
        summary="Get one API key",
        responses={404: {"description": "API key not found"}},
    )
    async def get_key(key_id: str, _ctx: AdminContext, keys: Keys) -> APIKeyInfo:
        return await keys.get(parse_key_id(key_id))

    @router.patch(
        f"{prefix}/{{key_id}}",
        operation_id=f"update_api_key{suffix}",
        summary="Change an API key's settings",
        responses={404: {"description": "API key not found"}},
    )
    async def update_key(key_id: str, body: UpdateKeyRequest, ctx: AdminContext, keys: Keys) -> APIKeyInfo:
        return await keys.update(parse_key_id(key_id), body, ctx)

    @router.delete(
        f"{prefix}/{{key_id}}",
        operation_id=f"revoke_api_key{suffix}",
        summary="Revoke an API key",
        responses={404: {"description": "API key not found"}},
    )
    async def revoke_key(key_id: str, ctx: AdminContext, keys: Keys) -> RevokedMessage:
        await keys.revoke(parse_key_id(key_id), ctx)
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
        ctx: AdminContext,
        keys: Keys,
        body: Annotated[RotateKeyRequest | None, Body()] = None,
    ) -> CreatedKey:
        grace = body.grace_period_seconds if body is not None else 0
        return await keys.rotate(parse_key_id(key_id), grace, ctx)

    return router
