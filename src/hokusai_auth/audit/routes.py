"""GET /api/v1/audit-logs (admin): filter by key, actor, action and time; newest first, paginated.
GET /api/v1/audit-logs/verify (admin): check the hash chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from hokusai_auth.audit.schemas import AuditEventOut, ChainVerificationOut
from hokusai_auth.audit.service import AuditFilter, AuditService
from hokusai_auth.components import provided
from hokusai_auth.deps import AdminContext
from hokusai_auth.times import BOUNDS_TEXT, AwareTime
from hokusai_auth.web.pagination import set_next_page

router = APIRouter(tags=["audit"])
Audit = Annotated[AuditService, Depends(provided(AuditService))]


# Before any /api/v1/audit-logs/{...} route, so "verify" is never taken for an id.
@router.get(
    "/api/v1/audit-logs/verify",
    operation_id="verify_audit_logs",
    summary="Check the audit log's hash chain",
    description="Reads every event in chain order (seconds for a large log). ok is false when an event was "
    "deleted, edited or inserted outside the service; first_bad_event_id names where the chain breaks.",
)
async def verify_audit_logs(_ctx: AdminContext, audit: Audit) -> ChainVerificationOut:
    return ChainVerificationOut.model_validate((await audit.verify()).to_json())


@router.get("/api/v1/audit-logs", operation_id="list_audit_logs", summary="Read the audit log")
async def list_audit_logs(
    request: Request,
    response: Response,
    _ctx: AdminContext,
    audit: Audit,
    key_id: Annotated[str | None, Query(description="events about this key")] = None,
    actor: str | None = None,
    action: Annotated[str | None, Query(description="e.g. api_key.create, api_key.revoke")] = None,
    since: Annotated[AwareTime | None, Query(description=f"inclusive, RFC 3339, {BOUNDS_TEXT}")] = None,
    until: Annotated[AwareTime | None, Query(description=f"exclusive, RFC 3339, {BOUNDS_TEXT}")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> list[AuditEventOut]:
    page = await audit.list(
        AuditFilter(target_id=key_id, actor=actor, action=action, since=since, until=until), limit, cursor
    )
    set_next_page(request, response, page.next_cursor)
    return page.items
