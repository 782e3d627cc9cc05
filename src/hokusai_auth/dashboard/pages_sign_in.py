"""Signing in and out: a browser wallet (EIP-1193 ``window.ethereum`` and SIWE, the same sign-in as the API's),
or an operator's admin token. A refused admin token counts against the address exactly like one refused by the
API, so the form is no way around the throttle."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Query
from starlette.responses import JSONResponse, Response

from hokusai_auth.dashboard import cookies
from hokusai_auth.dashboard.identity import OPERATOR_TTL
from hokusai_auth.dashboard.render import apply
from hokusai_auth.dashboard.visit import CsrfRefused, Visiting
from hokusai_auth.errors import ServiceError
from hokusai_auth.siwe.schemas import VerifyRequest

router = APIRouter(include_in_schema=False)
HOME = "/dashboard/keys"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this dashboard only (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or urlsplit(value).netloc:
        return HOME
    return value


@router.get("/dashboard")
async def home(visit: Visiting) -> Response:
    return visit.redirect(HOME if visit.viewer else "/dashboard/sign-in")


@router.get("/dashboard/sign-in")
async def sign_in_page(visit: Visiting, next_path: Annotated[str | None, Query(alias="next")] = None) -> Response:
    if visit.viewer is not None:
        return visit.redirect(safe_next(next_path))
    return visit.page("sign_in.html", next_path=safe_next(next_path))


@router.post("/dashboard/sign-in/wallet")
async def wallet_sign_in(visit: Visiting, body: Annotated[VerifyRequest, Body()]) -> Response:
    """Called by wallet.js with the signed SIWE message (CSRF token in X-CSRF-Token). The tokens go into
    HttpOnly cookies: the page's scripts never see them."""
    if not visit.services.csrf.valid(visit.binding, visit.request.headers.get("x-csrf-token")):
        raise CsrfRefused
    ctx = visit.identity.context(visit.request, "anonymous")
    try:
        pair, _ = await visit.services.sign_in.verify(body.message, body.signature, ctx)
    except ServiceError as error:
        return JSONResponse({"detail": error.detail, "code": error.code}, status_code=error.status)
    visit.changes.cleared.append(cookies.OPERATOR)
    visit.identity.remember(pair, visit.changes)
    answer = JSONResponse({"redirect": safe_next(visit.request.query_params.get("next"))})
    return apply(answer, visit.request, visit.identity.proxies, visit.changes)


@router.post("/dashboard/sign-in/operator")
async def operator_sign_in(visit: Visiting) -> Response:
    fields = await visit.form()
    ctx = visit.identity.context(visit.request, "unknown")
    failures = visit.services.failures
    wait = await failures.retry_after(ctx.client_ip)
    if wait is not None:
        return visit.page("sign_in.html", status=429, next_path=safe_next(fields.get("next")),
                          error=f"Too many refused tokens from this address; try again in {wait} s.")  # fmt: skip
    statement = visit.identity.operator(fields.get("token", "").strip())
    if statement is None:
        await failures.refused("admin.auth_failed", ctx)
        return visit.page("sign_in.html", status=401, next_path=safe_next(fields.get("next")),
                          error="That is not an admin token of this service.")  # fmt: skip
    visit.changes.cleared.extend((cookies.ACCESS, cookies.REFRESH))
    visit.changes.set.append((cookies.OPERATOR, statement, int(OPERATOR_TTL.total_seconds())))
    return visit.redirect(safe_next(fields.get("next")))


@router.post("/dashboard/sign-out")
async def sign_out(visit: Visiting) -> Response:
    await visit.form()
    if visit.viewer is not None:
        await visit.identity.sign_out(visit.viewer)
    visit.changes.cleared.extend(cookies.ALL)
    return visit.redirect("/dashboard/sign-in")
