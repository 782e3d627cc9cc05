"""The audit log: an operator reads every event; a user reads what they did, and, as an Admin or Owner, their
organization's events (the same rule as ``GET …/audit-logs``). Filters by action; newest first, in pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hokusai_auth.audit.service import AuditFilter
from hokusai_auth.dashboard.pages_organizations import member_of
from hokusai_auth.dashboard.visit import Visiting
from hokusai_auth.errors import ServiceError
from hokusai_auth.organizations.roles import Role
from hokusai_auth.organizations.service import ORGANIZATION_NOT_FOUND

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/dashboard/audit")
async def audit_page(
    visit: Visiting,
    action: Annotated[str | None, Query(max_length=64)] = None,
    organization: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    viewer = visit.signed_in()
    action = action or None
    if organization:
        try:
            member = await member_of(visit, organization)
        except ServiceError:
            return visit.page("missing.html", status=404, what=ORGANIZATION_NOT_FOUND)
        if not member.role.at_least(Role.ADMIN):
            return visit.page("message.html", status=403, heading="Not available", back="/dashboard/organizations",
                              text="An organization's audit log is for its Admins and Owners.")  # fmt: skip
        flt = AuditFilter(organization_id=member.organization_id, action=action)
    elif viewer.is_operator:
        flt = AuditFilter(action=action)
    else:
        flt = AuditFilter(actor=viewer.actor, action=action)
    try:
        page = await visit.services.audit.list(flt, PAGE_SIZE, cursor)
    except ServiceError:  # not a cursor of ours: the first page
        page = await visit.services.audit.list(flt, PAGE_SIZE, None)
    return visit.page("audit.html", events=page.items, next_cursor=page.next_cursor, action=action or "",
                      organization=organization or "")  # fmt: skip
