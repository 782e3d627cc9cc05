"""Operators' pages: the registrations queue (approve, or reject with a reason that is mailed), users (disable,
enable), and the mail outbox (what waits, what failed, retry). The same use cases as the admin API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hokusai._vocabulary import RegistrationStatus
from hokusai_auth.dashboard.forms import FormError, model
from hokusai_auth.dashboard.visit import Visiting
from hokusai_auth.errors import ServiceError
from hokusai_auth.registrations.schemas import DecisionRequest

router = APIRouter(include_in_schema=False)
DONE = {
    "approved": "Approved: the organization exists and its claim link was mailed to the contact.",
    "rejected": "Rejected: the reason was mailed to the contact.",
    "disabled": "The user is disabled: their sessions ended and their keys stopped.",
    "enabled": "The user is enabled: their keys work again.",
    "retried": "The failed mail is queued again.",
}


@router.get("/dashboard/admin/registrations")
async def registrations_page(
    visit: Visiting,
    status: Annotated[str, Query()] = RegistrationStatus.PENDING_APPROVAL.value,
    done: str | None = None,
) -> Response:
    visit.operator()
    chosen = RegistrationStatus(status) if status in {item.value for item in RegistrationStatus} else None
    page = await visit.services.registrations.list(chosen, 100, None)
    return visit.page("admin_registrations.html", registrations=page.items, shown=status,
                      statuses=[item.value for item in RegistrationStatus], notice=DONE.get(done or ""))  # fmt: skip


@router.post("/dashboard/admin/registrations/{registration_id}")
async def decide(visit: Visiting, registration_id: str) -> Response:
    viewer = visit.operator()
    fields = await visit.form()
    problems: dict[str, str] = {}
    try:
        request = model(DecisionRequest, {"status": fields.get("status"), "reason": fields.get("reason", "").strip()},
                        problems)  # fmt: skip
        await visit.services.registrations.decide(uuid.UUID(registration_id), request, viewer.context)
    except (FormError, ServiceError, ValueError) as error:
        message = error.detail if isinstance(error, ServiceError) else str(error) or "not a registration id"
        page = await visit.services.registrations.list(RegistrationStatus.PENDING_APPROVAL, 100, None)
        return visit.page("admin_registrations.html", status=422, registrations=page.items, shown="pending_approval",
                          statuses=[item.value for item in RegistrationStatus], error=message)  # fmt: skip
    return visit.redirect(f"/dashboard/admin/registrations?done={request.status.value}")


@router.get("/dashboard/admin/users")
async def users_page(visit: Visiting, cursor: str | None = None, done: str | None = None) -> Response:
    visit.operator()
    try:
        page = await visit.services.users.list(100, cursor)
    except ServiceError:
        page = await visit.services.users.list(100, None)
    return visit.page("admin_users.html", users=page.items, next_cursor=page.next_cursor,
                      notice=DONE.get(done or ""))  # fmt: skip


@router.post("/dashboard/admin/users/{user_id}")
async def set_user_active(visit: Visiting, user_id: str) -> Response:
    viewer = visit.operator()
    fields = await visit.form()
    active = fields.get("active") == "true"
    try:
        await visit.services.user_administration.set_active(uuid.UUID(user_id), active, viewer.context)
    except (ServiceError, ValueError):
        return visit.page("missing.html", status=404, what="User not found")
    return visit.redirect(f"/dashboard/admin/users?done={'enabled' if active else 'disabled'}")


@router.get("/dashboard/admin/outbox")
async def outbox_page(visit: Visiting, done: str | None = None) -> Response:
    visit.operator()
    return visit.page("admin_outbox.html", messages=await visit.services.mail.waiting(), notice=DONE.get(done or ""))


@router.post("/dashboard/admin/outbox/retry")
async def retry_failed(visit: Visiting) -> Response:
    visit.operator()
    await visit.form()
    await visit.services.mail.retry(all_failed=True)
    return visit.redirect("/dashboard/admin/outbox?done=retried")
