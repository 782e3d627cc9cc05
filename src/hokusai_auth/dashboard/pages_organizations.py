"""Organizations: mine (and a new one), and one organization's members and roles, invitations, keys and usage.

Every action goes through the same use cases and role checks as the API (organizations/): a control the viewer's
role does not allow is not shown, and were it posted anyway the use case refuses it (403 or 404, as the API).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from hokusai._vocabulary import Environment
from hokusai_auth.dashboard.forms import FormError, model
from hokusai_auth.dashboard.pages_keys import SERVICES, key_form_values
from hokusai_auth.dashboard.visit import Visit, Visiting
from hokusai_auth.errors import ServiceError, not_found
from hokusai_auth.keys.service import parse_key_id
from hokusai_auth.organizations.roles import Role
from hokusai_auth.organizations.schemas import CreateOrganizationRequest, InviteRequest, OrganizationKeyRequest
from hokusai_auth.organizations.service import ORGANIZATION_NOT_FOUND, Member, parse_organization_id

router = APIRouter(include_in_schema=False)
BASE = "/dashboard/organizations"
DONE = {
    "invited": "The invitation was mailed.",
    "role": "The role was changed.",
    "removed": "The member was removed.",
    "left": "You left the organization.",
    "withdrawn": "The invitation was withdrawn.",
    "revocation": "The key was revoked.",
    "accepted": "Welcome: you are a member now.",
}


async def member_of(visit: Visit, org_id: str) -> Member:
    """The signed-in user's membership (404 for everyone else, as in the API)."""
    viewer = visit.user()
    assert viewer.user_id is not None
    organization_id = parse_organization_id(org_id)
    role = await visit.services.organizations.role_of(organization_id, viewer.user_id)
    if role is None:
        raise not_found(ORGANIZATION_NOT_FOUND)
    return Member(organization_id, viewer.user_id, role, viewer.context)


@router.get(BASE)
async def organizations_page(visit: Visiting) -> Response:
    viewer = visit.user()
    assert viewer.user_id is not None
    mine = await visit.services.organizations.mine(viewer.user_id)
    return visit.page("organizations.html", organizations=mine, problems={})


@router.post(BASE)
async def create_organization(visit: Visiting) -> Response:
    viewer = visit.user()
    assert viewer.user_id is not None
    fields = await visit.form()
    problems: dict[str, str] = {}
    try:
        request = model(CreateOrganizationRequest, {"name": fields.get("name", "").strip()}, problems)
    except FormError as error:
        mine = await visit.services.organizations.mine(viewer.user_id)
        return visit.page("organizations.html", status=422, organizations=mine, problems=error.problems,
                          error="The organization was not created: " + "; ".join(error.problems.values()))  # fmt: skip
    created = await visit.services.organizations.create(request.name, viewer.user_id, viewer.context)
    return visit.redirect(f"{BASE}/{created.id}")


async def _organization_page(visit: Visit, member: Member, *, status: int = 200, **context: Any) -> Response:
    services = visit.services
    organization = await services.organizations.get(member)
    members = await services.organizations.members(member)
    invitations = await services.invitations.pending(member) if member.role.at_least(Role.ADMIN) else []
    keys = await services.organization_keys.list(member, 100, None, active_only=False)
    usage = await services.organization_usage.month(member, None)
    return visit.page(
        "organization.html", status=status, organization=organization, members=members, invitations=invitations,
        keys=keys.items, usage=usage, me=member, roles=[role.value for role in Role],
        can_admin=member.role.at_least(Role.ADMIN), can_develop=member.role.at_least(Role.DEVELOPER),
        is_owner=member.role is Role.OWNER, services=SERVICES,
        environments=[environment.value for environment in Environment], **context,
    )  # fmt: skip


@router.get(f"{BASE}/{{org_id}}")
async def organization_page(visit: Visiting, org_id: str, done: str | None = None) -> Response:
    try:
        member = await member_of(visit, org_id)
    except ServiceError:
        return visit.page("missing.html", status=404, what=ORGANIZATION_NOT_FOUND)
    return await _organization_page(visit, member, notice=DONE.get(done or ""))


async def _act(visit: Visit, org_id: str, action: Any, done: str) -> Response:
    """Run ``action(member, fields)``; then back to the organization with a notice, or the page with the error."""
    fields = await visit.form()
    try:
        member = await member_of(visit, org_id)
    except ServiceError:
        return visit.page("missing.html", status=404, what=ORGANIZATION_NOT_FOUND)
    try:
        result = await action(member, fields)
    except FormError as error:
        return await _organization_page(visit, member, status=422, error="; ".join(error.problems.values()))
    except ServiceError as error:
        if error.status == 404 and error.detail == ORGANIZATION_NOT_FOUND:
            return visit.redirect(f"{BASE}?done={done}")  # the viewer left (or lost) the organization
        return await _organization_page(visit, member, status=error.status, error=error.detail)
    if isinstance(result, Response):
        return result
    return visit.redirect(f"{BASE}/{member.organization_id}?done={done}")


@router.post(f"{BASE}/{{org_id}}/members/{{user_id}}/role")
async def change_role(visit: Visiting, org_id: str, user_id: str) -> Response:
    async def action(member: Member, fields: dict[str, str]) -> None:
        role = fields.get("role", "")
        if role not in {item.value for item in Role}:
            raise FormError({"role": "choose owner, admin, developer or viewer"})
        await visit.services.organizations.set_role(member, _uuid(user_id), Role(role))

    return await _act(visit, org_id, action, "role")


@router.post(f"{BASE}/{{org_id}}/members/{{user_id}}/remove")
async def remove_member(visit: Visiting, org_id: str, user_id: str) -> Response:
    async def action(member: Member, _fields: dict[str, str]) -> Response | None:
        await visit.services.organizations.remove(member, _uuid(user_id))
        return visit.redirect(f"{BASE}?done=left") if _uuid(user_id) == member.user_id else None

    return await _act(visit, org_id, action, "removed")


@router.post(f"{BASE}/{{org_id}}/invitations")
async def invite(visit: Visiting, org_id: str) -> Response:
    async def action(member: Member, fields: dict[str, str]) -> None:
        problems: dict[str, str] = {}
        request = model(InviteRequest, {"email": fields.get("email", ""), "role": fields.get("role") or None}, problems)
        await visit.services.invitations.invite(member, request.email, request.role)

    return await _act(visit, org_id, action, "invited")


@router.post(f"{BASE}/{{org_id}}/invitations/{{invitation_id}}/withdraw")
async def withdraw(visit: Visiting, org_id: str, invitation_id: str) -> Response:
    async def action(member: Member, _fields: dict[str, str]) -> None:
        await visit.services.invitations.revoke(member, _uuid(invitation_id))

    return await _act(visit, org_id, action, "withdrawn")


@router.post(f"{BASE}/{{org_id}}/keys")
async def create_organization_key(visit: Visiting, org_id: str) -> Response:
    async def action(member: Member, fields: dict[str, str]) -> Response:
        problems: dict[str, str] = {}
        request = model(OrganizationKeyRequest, key_form_values(fields, problems, operator=False), problems)
        created = await visit.services.organization_keys.create(member, request)
        return visit.page("key_created.html", created=created, action="created",
                          back=f"{BASE}/{member.organization_id}")  # fmt: skip

    return await _act(visit, org_id, action, "created")


@router.post(f"{BASE}/{{org_id}}/keys/{{key_id}}/revoke")
async def revoke_organization_key(visit: Visiting, org_id: str, key_id: str) -> Response:
    async def action(member: Member, _fields: dict[str, str]) -> None:
        await visit.services.organization_keys.revoke(member, parse_key_id(key_id))

    return await _act(visit, org_id, action, "revocation")


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found("Not found") from None
