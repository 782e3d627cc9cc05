"""The pages mailed links open, and the registration form: /register, /registration/verify, /claim and
/invitations/accept. A mailed link never acts on GET (mail scanners open links): the page shows a button, and
the token travels in the form's body from there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hokusai_auth.dashboard.forms import FormError, model
from hokusai_auth.dashboard.visit import Visiting, sign_in_path
from hokusai_auth.errors import ServiceError
from hokusai_auth.registrations.schemas import RegisterRequest

router = APIRouter(include_in_schema=False)
TOKEN_MAX = 128


def _token(value: str | None) -> str:
    return (value or "").strip()[:TOKEN_MAX]


@router.get("/register")
async def register_page(visit: Visiting) -> Response:
    return visit.page("register.html", form={}, problems={})


@router.post("/register/form")
async def register_form(visit: Visiting) -> Response:
    fields = await visit.form()
    problems: dict[str, str] = {}
    values = {name: fields.get(name, "").strip() for name in ("organization_name", "contact_email", "contact_name",
                                                             "use_case", "website_url")}  # fmt: skip
    try:
        request = model(RegisterRequest, values, problems)
        receipt = await visit.services.registrations.register(request, visit.identity.context(visit.request,
                                                                                             "anonymous"))  # fmt: skip
    except FormError as error:
        return visit.page("register.html", status=422, form=fields, problems=error.problems,
                          error="Please correct the marked fields.")  # fmt: skip
    except ServiceError as error:
        return visit.page("register.html", status=error.status, form=fields, problems={}, error=error.detail)
    return visit.page("message.html", heading="Check your mail", back="/dashboard",
                      text=f"We sent a link to {receipt.contact_email}. Open it to verify the address; an operator "
                           "then reviews the registration, and you hear from us by mail.")  # fmt: skip


@router.get("/registration/verify")
async def verify_page(visit: Visiting, token: Annotated[str | None, Query()] = None) -> Response:
    return visit.page("confirm_token.html", heading="Verify your email address", token=_token(token),
                      action="/registration/verify", button="Verify my address",
                      text="Confirm that this address belongs to your company's contact.")  # fmt: skip


@router.post("/registration/verify")
async def verify(visit: Visiting) -> Response:
    fields = await visit.form()
    try:
        await visit.services.registrations.verify_email(_token(fields.get("token")),
                                                        visit.identity.context(visit.request, "anonymous"))  # fmt: skip
    except ServiceError as error:
        return visit.page("message.html", status=error.status, heading="This link does not work",
                          text=error.detail, back="/register")  # fmt: skip
    text = "Thank you. An operator reviews the registration now; you will hear from us by mail."
    return visit.page("message.html", heading="Address verified", back="/dashboard", text=text)


def _needs_sign_in(visit: Visiting, path: str, token: str) -> Response | None:
    if visit.viewer is not None and not visit.viewer.is_operator:
        return None
    return visit.page("sign_in_first.html", next_path=f"{path}?token={token}", sign_in=sign_in_path(path))


@router.get("/claim")
async def claim_page(visit: Visiting, token: Annotated[str | None, Query()] = None) -> Response:
    return _needs_sign_in(visit, "/claim", _token(token)) or visit.page(
        "confirm_token.html", heading="Claim your organization", token=_token(token), action="/claim",
        button="Claim the organization",
        text="You become its Owner and receive its first production API key, shown once.",
    )  # fmt: skip


@router.post("/claim")
async def claim(visit: Visiting) -> Response:
    viewer = visit.user()
    assert viewer.user_id is not None
    fields = await visit.form()
    try:
        claimed = await visit.services.registrations.claim(_token(fields.get("token")), viewer.user_id, viewer.context)
    except ServiceError as error:
        return visit.page("message.html", status=error.status, heading="This claim link does not work",
                          text=error.detail, back="/dashboard")  # fmt: skip
    return visit.page("key_created.html", created=claimed, action="created",
                      back=f"/dashboard/organizations/{claimed.organization_id}")  # fmt: skip


@router.get("/invitations/accept")
async def invitation_page(visit: Visiting, token: Annotated[str | None, Query()] = None) -> Response:
    return _needs_sign_in(visit, "/invitations/accept", _token(token)) or visit.page(
        "confirm_token.html", heading="Join the organization", token=_token(token), action="/invitations/accept",
        button="Accept the invitation", text="You become a member with the role the invitation names.",
    )  # fmt: skip


@router.post("/invitations/accept")
async def accept_invitation(visit: Visiting) -> Response:
    viewer = visit.user()
    assert viewer.user_id is not None
    fields = await visit.form()
    try:
        joined = await visit.services.invitations.accept(_token(fields.get("token")), viewer.user_id, viewer.context)
    except ServiceError as error:
        return visit.page("message.html", status=error.status, heading="This invitation does not work",
                          text=error.detail, back="/dashboard/organizations")  # fmt: skip
    return visit.redirect(f"/dashboard/organizations/{joined.id}?done=accepted")
