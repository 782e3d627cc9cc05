"""Organizations over HTTP. Thin: parse, check the caller's role, call the use case, shape the answer.

Every route is declared through ``endpoint(operation_id)``, which takes its method, path and summary from the
permission table (permissions.py), and every route that acts on one organization takes its caller through
``access.member(operation_id)``, which enforces that table's minimum role: the table is the single truth.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from hokusai._vocabulary import ErrorCode, TokenFailure
from hokusai_auth.audit.schemas import AuditEventOut
from hokusai_auth.audit.service import AuditFilter, AuditService
from hokusai_auth.components import provided
from hokusai_auth.deps import UserPrincipal
from hokusai_auth.errors import not_found
from hokusai_auth.keys.schemas import APIKeyInfo, RevokedMessage
from hokusai_auth.keys.service import parse_key_id
from hokusai_auth.organizations.access import OrganizationsService, member
from hokusai_auth.organizations.invitations import INVITATION_NOT_FOUND, Invitations
from hokusai_auth.organizations.keys import OrganizationKeys
from hokusai_auth.organizations.permissions import PERMISSIONS
from hokusai_auth.organizations.schemas import (
    AcceptInvitationRequest,
    CreatedOrganizationKey,
    CreateOrganizationRequest,
    Done,
    InvitationInfo,
    InviteRequest,
    MemberInfo,
    OrganizationInfo,
    OrganizationKeyRequest,
    OrganizationUsage,
    UpdateMemberRequest,
    UpdateOrganizationRequest,
)
from hokusai_auth.organizations.service import MEMBER_NOT_FOUND, Member
from hokusai_auth.organizations.usage import OrganizationUsageReport
from hokusai_auth.times import BOUNDS_TEXT, AwareTime
from hokusai_auth.web.pagination import set_next_page

InvitationService = Annotated[Invitations, Depends(provided(Invitations))]
KeysService = Annotated[OrganizationKeys, Depends(provided(OrganizationKeys))]
UsageReport = Annotated[OrganizationUsageReport, Depends(provided(OrganizationUsageReport))]
Audit = Annotated[AuditService, Depends(provided(AuditService))]

_ROLE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, expired or revoked access token"},
    403: {
        "description": f"`{ErrorCode.INSUFFICIENT_ROLE}`: a member below the role this needs (`required_role` names it)"
    },
    404: {"description": "not a member of this organization, or no such organization"},
}


def _uuid(value: str, detail: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(detail) from None


def build_router() -> APIRouter:
    router = APIRouter(tags=["organizations"])

    def endpoint(
        operation_id: str, *, status_code: int | None = None, responses: dict[int | str, dict[str, Any]] | None = None
    ) -> Callable[..., Any]:
        permission = PERMISSIONS[operation_id]
        minimum = permission.minimum
        description = f"Minimum role: {minimum.label if minimum else 'any signed-in user'}."
        if permission.note:
            description += f" {permission.note[0].upper()}{permission.note[1:]}."
        return router.api_route(
            permission.path,
            methods=[permission.method],
            operation_id=operation_id,
            summary=permission.summary,
            description=description,
            status_code=status_code or (201 if operation_id.startswith("create_") else 200),
            responses={**(_ROLE_ERRORS if minimum else {401: _ROLE_ERRORS[401]}), **(responses or {})},
        )

    @endpoint("create_organization")
    async def create_organization(
        body: CreateOrganizationRequest, user: UserPrincipal, organizations: OrganizationsService
    ) -> OrganizationInfo:
        return await organizations.create(body.name, user.user_id, user.context)

    @endpoint("list_organizations")
    async def list_organizations(user: UserPrincipal, organizations: OrganizationsService) -> list[OrganizationInfo]:
        return await organizations.mine(user.user_id)

    @endpoint("get_organization")
    async def get_organization(
        who: Annotated[Member, Depends(member("get_organization"))], organizations: OrganizationsService
    ) -> OrganizationInfo:
        return await organizations.get(who)

    @endpoint("update_organization")
    async def update_organization(
        body: UpdateOrganizationRequest,
        who: Annotated[Member, Depends(member("update_organization"))],
        organizations: OrganizationsService,
    ) -> OrganizationInfo:
        return await organizations.rename(who, body.name)

    @endpoint("delete_organization")
    async def delete_organization(
        who: Annotated[Member, Depends(member("delete_organization"))], organizations: OrganizationsService
    ) -> Done:
        await organizations.delete(who)
        return Done(message="Organization deleted")

    @endpoint("list_members")
    async def list_members(
        who: Annotated[Member, Depends(member("list_members"))], organizations: OrganizationsService
    ) -> list[MemberInfo]:
        return await organizations.members(who)

    @endpoint("update_member", responses={409: {"description": f"`{ErrorCode.LAST_OWNER}`"}})
    async def update_member(
        user_id: str,
        body: UpdateMemberRequest,
        who: Annotated[Member, Depends(member("update_member"))],
        organizations: OrganizationsService,
    ) -> MemberInfo:
        return await organizations.set_role(who, _uuid(user_id, MEMBER_NOT_FOUND), body.role)

    @endpoint("remove_member", responses={409: {"description": f"`{ErrorCode.LAST_OWNER}`"}})
    async def remove_member(
        user_id: str, who: Annotated[Member, Depends(member("remove_member"))], organizations: OrganizationsService
    ) -> Done:
        await organizations.remove(who, _uuid(user_id, MEMBER_NOT_FOUND))
        return Done(message="Member removed")

    @endpoint("create_invitation", responses={409: {"description": f"`{ErrorCode.ALREADY_MEMBER}`"}})
    async def create_invitation(
        body: InviteRequest,
        who: Annotated[Member, Depends(member("create_invitation"))],
        invitations: InvitationService,
    ) -> InvitationInfo:
        return await invitations.invite(who, body.email, body.role)

    @endpoint("list_invitations")
    async def list_invitations(
        who: Annotated[Member, Depends(member("list_invitations"))], invitations: InvitationService
    ) -> list[InvitationInfo]:
        return await invitations.pending(who)

    @endpoint("revoke_invitation")
    async def revoke_invitation(
        invitation_id: str, who: Annotated[Member, Depends(member("revoke_invitation"))], invitations: InvitationService
    ) -> Done:
        await invitations.revoke(who, _uuid(invitation_id, INVITATION_NOT_FOUND))
        return Done(message="Invitation withdrawn")

    @endpoint(
        "accept_invitation",
        status_code=200,
        responses={
            400: {"description": f"`{TokenFailure.INVALID}`: unknown, used, replaced or expired"},
            403: {"description": f"`{ErrorCode.INVITATION_FOR_ANOTHER_USER}`"},
            409: {"description": f"`{ErrorCode.ALREADY_MEMBER}`"},
        },
    )
    async def accept_invitation(
        body: AcceptInvitationRequest, user: UserPrincipal, invitations: InvitationService
    ) -> OrganizationInfo:
        return await invitations.accept(body.token, user.user_id, user.context)

    @endpoint("create_organization_key")
    async def create_organization_key(
        body: OrganizationKeyRequest,
        who: Annotated[Member, Depends(member("create_organization_key"))],
        keys: KeysService,
    ) -> CreatedOrganizationKey:
        return await keys.create(who, body)

    @endpoint("list_organization_keys")
    async def list_organization_keys(
        request: Request,
        response: Response,
        who: Annotated[Member, Depends(member("list_organization_keys"))],
        keys: KeysService,
        active_only: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> list[APIKeyInfo]:
        page = await keys.list(who, limit, cursor, active_only=active_only)
        set_next_page(request, response, page.next_cursor)
        return page.items

    @endpoint("revoke_organization_key")
    async def revoke_organization_key(
        key_id: str, who: Annotated[Member, Depends(member("revoke_organization_key"))], keys: KeysService
    ) -> RevokedMessage:
        await keys.revoke(who, parse_key_id(key_id))
        return RevokedMessage()

    @endpoint("list_organization_audit_logs")
    async def list_organization_audit_logs(
        request: Request,
        response: Response,
        who: Annotated[Member, Depends(member("list_organization_audit_logs"))],
        audit: Audit,
        actor: str | None = None,
        action: Annotated[str | None, Query(description="e.g. organization.member.update")] = None,
        since: Annotated[AwareTime | None, Query(description=f"inclusive, RFC 3339, {BOUNDS_TEXT}")] = None,
        until: Annotated[AwareTime | None, Query(description=f"exclusive, RFC 3339, {BOUNDS_TEXT}")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> list[AuditEventOut]:
        flt = AuditFilter(organization_id=who.organization_id, actor=actor, action=action, since=since, until=until)
        page = await audit.list(flt, limit, cursor)
        set_next_page(request, response, page.next_cursor)
        return page.items

    @endpoint("get_organization_usage")
    async def get_organization_usage(
        who: Annotated[Member, Depends(member("get_organization_usage"))],
        usage: UsageReport,
        period: Annotated[str | None, Query(description="YYYY-MM (UTC); the current month when left out")] = None,
    ) -> OrganizationUsage:
        return await usage.month(who, period)

    return router
