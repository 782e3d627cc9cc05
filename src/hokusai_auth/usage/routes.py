"""Usage and billing over HTTP. Every route takes a service credential (a service token or the admin token).

Full paths on every route (no include prefix), so the route template the metrics see is the real one.
``/api/v1/usage/aggregate`` is declared before the ``{key_id}`` routes it would otherwise look like.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hokusai_auth.components import provided
from hokusai_auth.deps import ServiceContext
from hokusai_auth.keys.service import parse_key_id
from hokusai_auth.usage.schemas import BillingInfo, UsageAggregate, UsageRecorded, UsageRecordIn, UsageStats
from hokusai_auth.usage.service import UsageService

_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "missing or wrong service credential"},
    422: {"description": "a field or query parameter is invalid; `detail` names it"},
}
_NOT_FOUND: dict[int | str, dict[str, str]] = {404: {"description": "API key not found"}}

router = APIRouter(tags=["usage"], responses=_ERRORS)
Usage = Annotated[UsageService, Depends(provided(UsageService))]


@router.get(
    "/api/v1/usage/aggregate",
    operation_id="get_usage_aggregate",
    summary="Usage per day and service, across all keys",
)
async def get_usage_aggregate(
    _ctx: ServiceContext,
    usage: Usage,
    service_id: Annotated[str | None, Query(description="only this service (aliases ok)")] = None,
    start_date: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive; default 29 days before end")] = None,
    end_date: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive; default today (UTC)")] = None,
) -> UsageAggregate:
    return await usage.aggregate(service_id, start_date, end_date)


@router.post(
    "/api/v1/usage/{key_id}",
    operation_id="record_usage",
    summary="Record one request made with an API key",
    responses=_NOT_FOUND,
)
async def record_usage(key_id: str, body: UsageRecordIn, _ctx: ServiceContext, usage: Usage) -> UsageRecorded:
    await usage.ingest(parse_key_id(key_id), body)
    return UsageRecorded()


@router.get(
    "/api/v1/usage/{key_id}/stats",
    operation_id="get_usage_stats",
    summary="A key's usage in one month",
    responses=_NOT_FOUND,
)
async def get_usage_stats(
    key_id: str,
    _ctx: ServiceContext,
    usage: Usage,
    period: Annotated[str | None, Query(description="YYYY-MM (UTC); default the current month")] = None,
) -> UsageStats:
    return await usage.stats(parse_key_id(key_id), period)


@router.get(
    "/api/v1/usage/{key_id}/billing",
    operation_id="get_usage_billing",
    summary="A key's plan, usage this billing cycle and overage",
    responses=_NOT_FOUND,
)
async def get_usage_billing(key_id: str, _ctx: ServiceContext, usage: Usage) -> BillingInfo:
    return await usage.billing(parse_key_id(key_id))
