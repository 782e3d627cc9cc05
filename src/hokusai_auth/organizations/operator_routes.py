"""Operators on organizations (admin token): list, read, and set the billing plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from hokusai_auth.components import provided
from hokusai_auth.deps import AdminContext
from hokusai_auth.organizations.operators import OrganizationAdministration
from hokusai_auth.organizations.schemas import OrganizationRecord, UpdatePlanRequest
from hokusai_auth.organizations.service import parse_organization_id
from hokusai_auth.web.pagination import set_next_page

Administration = Annotated[OrganizationAdministration, Depends(provided(OrganizationAdministration))]
PATH = "/api/v1/admin/organizations"
router = APIRouter(tags=["organizations"])


@router.get(PATH, operation_id="list_all_organizations", summary="List every organization (newest first)")
async def list_all_organizations(
    request: Request,
    response: Response,
    _ctx: AdminContext,
    administration: Administration,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> list[OrganizationRecord]:
    items, following = await administration.list(limit, cursor)
    set_next_page(request, response, following)
    return items


@router.get(
    f"{PATH}/{{org_id}}",
    operation_id="get_any_organization",
    summary="Get one organization (deleted ones too)",
    responses={404: {"description": "Organization not found"}},
)
async def get_any_organization(org_id: str, _ctx: AdminContext, administration: Administration) -> OrganizationRecord:
    return await administration.get(parse_organization_id(org_id))


@router.patch(
    f"{PATH}/{{org_id}}",
    operation_id="set_organization_plan",
    summary="Set an organization's billing plan: its keys move to it on every instance",
    responses={404: {"description": "Organization not found (or deleted)"}},
)
async def set_organization_plan(
    org_id: str, body: UpdatePlanRequest, ctx: AdminContext, administration: Administration
) -> OrganizationRecord:
    return await administration.set_plan(parse_organization_id(org_id), body.billing_plan, ctx)
