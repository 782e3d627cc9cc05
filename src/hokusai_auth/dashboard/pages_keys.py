"""My keys: list, create (the new key shown once, with a copy button), a key's settings and usage (requests and
predictions per day, the month's quota, billing), rotate with a grace period, revoke after a confirmation.

A wallet user sees and changes their own keys (organization keys are on the organization's page); an operator
sees every key and may set its owner and plan, as with the admin token in the API. The key itself appears in the
one answer that creates it, never in a URL, and that page is not cached.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from hokusai._vocabulary import Environment, Plan, Service, describe_services
from hokusai_auth.dashboard.charts import Day, bar_chart
from hokusai_auth.dashboard.forms import FormError, model, optional_int, word_list
from hokusai_auth.dashboard.visit import Visit, Visiting
from hokusai_auth.errors import ServiceError
from hokusai_auth.keys.repository import KeyFilter
from hokusai_auth.keys.schemas import CreateKeyRequest
from hokusai_auth.keys.service import KEY_NOT_FOUND, parse_key_id
from hokusai_auth.ratelimit.base import LimiterUnavailable

router = APIRouter(include_in_schema=False)
CHART_DAYS = 30
SERVICES = tuple(service.value for service in Service)
DONE = {"revocation": "The key was revoked: it no longer validates."}  # ?done= names a message, never holds one


def key_form_values(fields: dict[str, str], problems: dict[str, str], *, operator: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": fields.get("name", "").strip(),
        "service_id": fields.get("service_id", ""),
        "environment": fields.get("environment") or None,
        "scopes": word_list(fields, "scopes") or [],
        "allowed_ips": word_list(fields, "allowed_ips"),
    }
    for name in ("rate_limit_per_hour", "burst", "monthly_prediction_limit", "expires_in_days"):
        values[name] = optional_int(fields, name, problems)
    if operator:
        values["user_id"] = fields.get("user_id", "").strip() or None
        values["billing_plan"] = fields.get("billing_plan") or None
    return values


def _listing(visit: Visit, **context: Any) -> dict[str, Any]:
    return {
        "services": SERVICES,
        "environments": [environment.value for environment in Environment],
        "plans": [plan.value for plan in Plan],
        "service_text": describe_services(),
        **context,
    }


@router.get("/dashboard/keys")
async def keys_page(
    visit: Visiting,
    service: Annotated[str | None, Query()] = None,
    active_only: Annotated[bool, Query()] = False,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    viewer = visit.signed_in()
    if viewer.user_id is not None:
        flt = KeyFilter(service_id=service or None, user_id=str(viewer.user_id), personal_only=True)
    else:
        flt = KeyFilter(service_id=service or None)
    if flt.service_id not in (None, *SERVICES):
        flt = KeyFilter(user_id=flt.user_id, personal_only=flt.personal_only)
    try:
        page = await visit.services.keys.list(flt, 50, cursor, active_only=active_only)
    except ServiceError:  # a cursor that is not ours: start from the first page
        page = await visit.services.keys.list(flt, 50, None, active_only=active_only)
    return visit.page("keys.html", **_listing(visit, keys=page.items, next_cursor=page.next_cursor,
                                               service=flt.service_id or "", active_only=active_only,
                                               form={}, problems={}))  # fmt: skip


@router.post("/dashboard/keys")
async def create_key(visit: Visiting) -> Response:
    viewer = visit.signed_in()
    fields = await visit.form()
    problems: dict[str, str] = {}
    try:
        request = model(CreateKeyRequest, key_form_values(fields, problems, operator=viewer.is_operator), problems)
        created = await visit.services.keys.create(request, viewer.context, owner=viewer.user_id)
    except (FormError, ServiceError) as error:
        problems = error.problems if isinstance(error, FormError) else {"form": error.detail}
        page = await visit.services.keys.list(
            KeyFilter(user_id=str(viewer.user_id), personal_only=True) if viewer.user_id else KeyFilter(), 50, None
        )
        return visit.page("keys.html", status=422, **_listing(visit, keys=page.items, next_cursor=page.next_cursor,
                                                             service="", active_only=False, form=fields,
                                                             problems=problems),
                          error="The key was not created: " + "; ".join(problems.values()))  # fmt: skip
    return visit.page("key_created.html", created=created, action="created")


async def _owned_key(visit: Visit, key_id: str) -> Any:
    viewer = visit.signed_in()
    return await visit.services.keys.get(parse_key_id(key_id), owner=viewer.user_id)


@router.get("/dashboard/keys/{key_id}")
async def key_page(visit: Visiting, key_id: str, done: Annotated[str | None, Query()] = None) -> Response:
    return await _key_page(visit, key_id, notice=DONE.get(done or ""))


async def _key_page(
    visit: Visit, key_id: str, *, status: int = 200, notice: str | None = None, error: str | None = None
) -> Response:
    """A key's settings, usage and controls; 404 for a key that is not the viewer's (or does not exist)."""
    try:
        key = await _owned_key(visit, key_id)
    except ServiceError:
        return visit.page("missing.html", status=404, what=KEY_NOT_FOUND)
    usage = visit.services.usage
    days = await usage.daily(key.key_id, CHART_DAYS)
    billing = await usage.billing(key.key_id)
    try:  # where the key stands in its rate limit now: a hit that costs nothing
        position = await visit.services.limiter.hit(
            str(key.key_id), key.rate_limit_per_hour, key.burst or key.rate_limit_per_hour, 0
        )
    except LimiterUnavailable:
        position = None
    requests_chart = bar_chart("requests", f"Requests per day, last {CHART_DAYS} days",
                               [Day(day, requests) for day, requests, _ in days], "requests")  # fmt: skip
    predictions_chart = bar_chart("predictions", f"Predictions per day, last {CHART_DAYS} days",
                                  [Day(day, predictions) for day, _, predictions in days], "predictions")  # fmt: skip
    return visit.page("key.html", status=status, key=key, days=days, billing=billing, requests_chart=requests_chart,
                      predictions_chart=predictions_chart, position=position, notice=notice, error=error)  # fmt: skip


@router.post("/dashboard/keys/{key_id}/rotate")
async def rotate_key(visit: Visiting, key_id: str) -> Response:
    viewer = visit.signed_in()
    fields = await visit.form()
    problems: dict[str, str] = {}
    grace = optional_int(fields, "grace_period_seconds", problems) or 0
    if problems or not 0 <= grace <= 7 * 86_400:
        return await _key_error(visit, key_id, "grace_period_seconds: a whole number of seconds, 0 to 604800")
    try:
        created = await visit.services.keys.rotate(parse_key_id(key_id), grace, viewer.context, owner=viewer.user_id)
    except ServiceError as error:
        return await _key_error(visit, key_id, error.detail, error.status)
    return visit.page("key_created.html", created=created, action="rotated", grace=grace)


@router.get("/dashboard/keys/{key_id}/revoke")
async def confirm_revoke(visit: Visiting, key_id: str) -> Response:
    try:
        key = await _owned_key(visit, key_id)
    except ServiceError:
        return visit.page("missing.html", status=404, what=KEY_NOT_FOUND)
    return visit.page("revoke.html", key=key)


@router.post("/dashboard/keys/{key_id}/revoke")
async def revoke_key(visit: Visiting, key_id: str) -> Response:
    viewer = visit.signed_in()
    await visit.form()
    try:
        await visit.services.keys.revoke(parse_key_id(key_id), viewer.context, owner=viewer.user_id)
    except ServiceError:
        return visit.page("missing.html", status=404, what=KEY_NOT_FOUND)
    return visit.redirect(f"/dashboard/keys/{uuid.UUID(key_id)}?done=revocation")


async def _key_error(visit: Visit, key_id: str, message: str, status: int = 422) -> Response:
    return await _key_page(visit, key_id, status=status, error=message)
