"""Approving a command line's sign-in (``hokusai auth login --web``, RFC 8628): the user, signed in here, checks
that the code matches the one their terminal shows, and approves or denies it. The terminal then receives a new
session of this user; nothing about this browser's session travels to it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hokusai_auth.dashboard.visit import Visiting
from hokusai_auth.errors import ServiceError

router = APIRouter(include_in_schema=False)
PATH = "/dashboard/device"


@router.get(PATH)
async def device_page(visit: Visiting, user_code: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    visit.user()
    pending = await visit.services.devices.pending(user_code) if user_code else None
    return visit.page("device.html", user_code=user_code or "", pending=pending,
                      error=None if pending or not user_code else "No sign-in waits with this code: it may have "
                      "expired (codes live 10 minutes) or been used. Start again in your terminal.")  # fmt: skip


@router.post(PATH)
async def decide(visit: Visiting) -> Response:
    viewer = visit.user()
    assert viewer.user_id is not None
    fields = await visit.form()
    user_code = fields.get("user_code", "")[:32]
    devices = visit.services.devices
    try:
        if fields.get("decision") == "approve":
            await devices.approve(user_code, viewer.user_id, viewer.context)
            heading, text = "Signed in", "Your terminal is signed in now; you can close this page."
        else:
            await devices.deny(user_code, viewer.user_id, viewer.context)
            heading, text = "Sign-in denied", "The terminal that asked was refused; nothing was signed in."
    except ServiceError as error:
        return visit.page("device.html", status=error.status, user_code=user_code, pending=None, error=error.detail)
    return visit.page("message.html", heading=heading, text=text, back="/dashboard")
