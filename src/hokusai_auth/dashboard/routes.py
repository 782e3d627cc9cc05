"""The dashboard's routes, its static files (a fixed table: no path from a request reaches the file system), and
what its pages answer when a form lacks its CSRF token or a page needs someone signed in."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI, HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hokusai_auth.dashboard import (
    pages_audit,
    pages_device,
    pages_keys,
    pages_operators,
    pages_organizations,
    pages_public,
    pages_sign_in,
)
from hokusai_auth.dashboard.visit import CsrfRefused, NotForThisViewer, SignInNeeded, sign_in_path, visit

STATIC = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "wallet.js": "text/javascript; charset=utf-8",
}
_CACHE = "public, max-age=3600"
assets = APIRouter(include_in_schema=False)


@assets.get("/dashboard/static/{name}")
async def static_file(name: str) -> Response:
    media_type = STATIC.get(name)
    if media_type is None:
        raise HTTPException(404, "Not Found")
    content = files("hokusai_auth.dashboard").joinpath("static", name).read_bytes()
    return Response(content, media_type=media_type, headers={"Cache-Control": _CACHE})


ROUTERS = (
    assets,
    pages_sign_in.router,
    pages_keys.router,
    pages_organizations.router,
    pages_audit.router,
    pages_operators.router,
    pages_public.router,
    pages_device.router,
)


def install(app: FastAPI) -> None:
    """The dashboard's answers to its own exceptions (pages, not JSON)."""

    async def csrf_refused(request: Request, _exc: Exception) -> Response:
        page = await visit(request)
        back = request.headers["referer"] if _same_origin_referer(request) else "/dashboard"
        text = "The page was open too long, or you signed in or out elsewhere. Reload it and try again."
        return page.page("message.html", status=403, heading="This form has expired", text=text, back=back)

    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInNeeded)
        page = await visit(request)
        return page.redirect(sign_in_path(exc.next_path))

    async def not_for_this_viewer(request: Request, _exc: Exception) -> Response:
        page = await visit(request)
        return page.page("message.html", status=403, heading="Not available",
                         text="This page is for another kind of account (operators or wallet users).",
                         back="/dashboard")  # fmt: skip

    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(NotForThisViewer, not_for_this_viewer)


def _same_origin_referer(request: Request) -> bool:
    referer = request.headers.get("referer", "")
    return referer.startswith(str(request.base_url))
