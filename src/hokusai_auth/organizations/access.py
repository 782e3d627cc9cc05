"""The permission check of organization routes, as a FastAPI dependency built from the permission table.

``member(operation_id)`` reads the operation's minimum role from permissions.PERMISSIONS and answers the caller's
``Member`` (organization, user, role, request context): a caller who is not a member of the organization in the
path (or whose organization does not exist, or is not a UUID) gets 404; a member below the minimum, 403
``insufficient_role``. Use cases that change something check the role again under the organization's row lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path, Request

from hokusai_auth.components import provided
from hokusai_auth.deps import UserPrincipal
from hokusai_auth.errors import not_found
from hokusai_auth.organizations.permissions import PERMISSIONS
from hokusai_auth.organizations.roles import Role
from hokusai_auth.organizations.service import (
    ORGANIZATION_NOT_FOUND,
    Member,
    Organizations,
    insufficient_role,
    parse_organization_id,
)

OrganizationsService = Annotated[Organizations, Depends(provided(Organizations))]


def member(operation_id: str) -> Callable[..., Awaitable[Member]]:
    permission = PERMISSIONS[operation_id]
    minimum = permission.minimum
    if minimum is None:
        raise ValueError(f"{operation_id} needs no membership: use UserPrincipal")

    async def check(
        request: Request,
        org_id: Annotated[str, Path(description="the organization's id")],
        user: UserPrincipal,
        organizations: OrganizationsService,
    ) -> Member:
        organization_id = parse_organization_id(org_id)
        role = await organizations.role_of(organization_id, user.user_id)
        if role is None:
            raise not_found(ORGANIZATION_NOT_FOUND)
        on_themselves = permission.self_allowed and _same_user(request.path_params.get("user_id"), user.user_id)
        if not on_themselves and not role.at_least(minimum):
            raise insufficient_role(minimum)
        return Member(organization_id, user.user_id, Role(role), user.context)

    check.__name__ = f"member_of_organization_for_{operation_id}"
    return check


def _same_user(path_value: str | None, user_id: uuid.UUID) -> bool:
    """Whether the path's ``{user_id}`` names ``user_id``, however the UUID is spelled (capitals, braces)."""
    try:
        return path_value is not None and uuid.UUID(path_value) == user_id
    except ValueError:
        return False
