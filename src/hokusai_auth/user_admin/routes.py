"""Operators on users (admin token): list, read, disable and enable."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from hokusai_auth.components import provided
from hokusai_auth.deps import AdminContext
from hokusai_auth.errors import not_found
from hokusai_auth.user_admin.service import UserAdministration
from hokusai_auth.users.schemas import UpdateUserRequest, UserInfo
from hokusai_auth.users.service import USER_NOT_FOUND, UserService
from hokusai_auth.web.pagination import set_next_page

Users = Annotated[UserService, Depends(provided(UserService))]
Administration = Annotated[UserAdministration, Depends(provided(UserAdministration))]
router = APIRouter(tags=["users"])


def _user_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(USER_NOT_FOUND) from None


@router.get("/api/v1/admin/users", operation_id="list_users", summary="List users (newest first)")
async def list_users(
    request: Request,
    response: Response,
    _ctx: AdminContext,
    users: Users,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> list[UserInfo]:
    page = await users.list(limit, cursor)
    set_next_page(request, response, page.next_cursor)
    return [UserInfo.of(row) for row in page.items]


@router.get(
    "/api/v1/admin/users/{user_id}",
    operation_id="get_user",
    summary="Get one user",
    responses={404: {"description": "User not found"}},
)
async def get_user(user_id: str, _ctx: AdminContext, users: Users) -> UserInfo:
    return UserInfo.of(await users.get(_user_id(user_id)))


@router.patch(
    "/api/v1/admin/users/{user_id}",
    operation_id="update_user",
    summary="Disable or enable a user: disabling ends their sessions and stops their keys on every instance",
    responses={404: {"description": "User not found"}},
)
async def update_user(
    user_id: str, body: UpdateUserRequest, ctx: AdminContext, administration: Administration
) -> UserInfo:
    return UserInfo.of(await administration.set_active(_user_id(user_id), body.is_active, ctx))
