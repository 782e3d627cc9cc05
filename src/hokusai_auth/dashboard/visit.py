"""One request to a dashboard page: who is looking (identity.py), the CSRF token of its forms, its form fields,
and the cookies the answer must set or clear. Routes take it as a dependency (``Visiting``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from hokusai_auth.components import components_of
from hokusai_auth.dashboard import cookies, csrf, render
from hokusai_auth.dashboard.identity import Cookies, DashboardIdentity, Viewer
from hokusai_auth.dashboard.services import DashboardServices

MAX_FORM_FIELDS = 64
ANONYMOUS_CSRF_AGE = 86_400


class CsrfRefused(Exception):
    """A form without this browser's CSRF token: answered with a page that says to reload, nothing done."""


class SignInNeeded(Exception):
    """A page for signed-in people, visited by someone who is not (or no longer) signed in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class NotForThisViewer(Exception):
    """An operator's page visited by a user (or the reverse)."""


@dataclass
class Visit:
    request: Request
    services: DashboardServices
    viewer: Viewer | None
    changes: Cookies
    binding: str

    @property
    def identity(self) -> DashboardIdentity:
        return self.services.identity

    @property
    def csrf(self) -> str:
        return self.services.csrf.token(self.binding)

    def signed_in(self) -> Viewer:
        if self.viewer is None:  # back here after signing in, query included (the device page's code)
            query = self.request.url.query
            raise SignInNeeded(f"{self.request.url.path}?{query}" if query else self.request.url.path)
        return self.viewer

    def user(self) -> Viewer:
        viewer = self.signed_in()
        if viewer.user_id is None:
            raise NotForThisViewer
        return viewer

    def operator(self) -> Viewer:
        viewer = self.signed_in()
        if viewer.user_id is not None:
            raise NotForThisViewer
        return viewer

    async def form(self) -> dict[str, str]:
        """The submitted fields (URL-encoded form; a field given twice keeps its last value), after the CSRF
        check: a form from another site, or from before a sign-in, changes nothing."""
        fields = await self.form_lists()
        return {name: values[-1] for name, values in fields.items()}

    async def form_lists(self) -> dict[str, list[str]]:
        body = (await self.request.body()).decode("utf-8", errors="replace")
        fields = parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        given = fields.get(csrf.FIELD)
        presented = given[-1] if given else self.request.headers.get(csrf.HEADER)
        if not self.services.csrf.valid(self.binding, presented):
            raise CsrfRefused
        return fields

    def page(self, template: str, *, status: int = 200, **context: Any) -> Response:
        return render.page(self.request, template, viewer=self.viewer, csrf=self.csrf, changes=self.changes,
                           proxies=self.identity.proxies, status=status, **context)  # fmt: skip

    def redirect(self, to: str) -> Response:
        return render.redirect(self.request, to, changes=self.changes, proxies=self.identity.proxies)


def sign_in_path(next_path: str) -> str:
    return f"/dashboard/sign-in?next={quote(next_path, safe='/')}"


async def visit(request: Request) -> Visit:
    services = components_of(request.app).get(DashboardServices)
    changes = Cookies()
    viewer = await services.identity.viewer(request, changes)
    if viewer is not None:
        binding = viewer.binding
    else:
        anonymous = request.cookies.get(cookies.ANONYMOUS_CSRF)
        if not anonymous or len(anonymous) > 64:
            anonymous = secrets.token_urlsafe(24)
            changes.set.append((cookies.ANONYMOUS_CSRF, anonymous, ANONYMOUS_CSRF_AGE))
        binding = f"anonymous:{anonymous}"
    return Visit(request, services, viewer, changes, binding)


Visiting = Annotated[Visit, Depends(visit)]
