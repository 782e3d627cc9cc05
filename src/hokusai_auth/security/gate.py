"""Checking credentials before the body is read.

FastAPI reads and parses a request's body before it runs the route's dependencies, so a credential check written
as a dependency comes too late: an anonymous 200 MB POST was read and parsed before its missing token was
noticed. This ASGI layer finds the route a request will reach, and when that route depends on ``require_admin``
or ``require_service`` (deps.py) it authenticates from the headers first; a refusal is answered without a byte of
the body being read. The dependencies then only pick up the principal found here.

The routes declare what they need (their dependency); this layer only reads that declaration, so a new route is
covered as soon as it declares it. It reads the routes from the routers the app includes (app.py hands it the
same list), in the same order, so its first full match is the router's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import Match

from hokusai_auth.components import components_of
from hokusai_auth.deps import PRINCIPAL_KEY, Requirement
from hokusai_auth.errors import UNAVAILABLE_ERRORS, ServiceError, unavailable
from hokusai_auth.security.principal import Credentials
from hokusai_auth.web.asgi import ASGIApp, Receive, Scope, Send, send_json


def requirement_of(dependant: Dependant, marks: dict[Callable[..., Any], Requirement]) -> Requirement | None:
    pending = [dependant]
    while pending:
        current = pending.pop()
        if current.call in marks:
            return marks[current.call]
        pending.extend(current.dependencies)
    return None


RouteTable = list[tuple[APIRoute, Requirement | None]]


def route_requirements(routers: Iterable[APIRouter], marks: dict[Callable[..., Any], Requirement]) -> RouteTable:
    """Every route of ``routers`` in registration order, with the credential it declares (or None)."""
    return [
        (route, requirement_of(route.dependant, marks))
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


class CredentialGate:
    def __init__(self, app: ASGIApp, *, table: RouteTable) -> None:
        self.app = app
        self.table = table

    def requirement(self, scope: Scope) -> Requirement | None:
        """What the route this request will reach needs (the first full match, as the router finds it), or None."""
        for route, requirement in self.table:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return requirement
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            requirement = self.requirement(scope)
            if requirement is not None:
                try:
                    credentials = components_of(scope["app"]).get(Credentials)
                    scope[PRINCIPAL_KEY] = await credentials.authenticate(scope, requirement)
                except UNAVAILABLE_ERRORS:  # a check that needs the database (a session's state) and cannot reach it
                    await _answer(send, unavailable())
                    return
                except ServiceError as error:
                    await _answer(send, error)
                    return
        await self.app(scope, receive, send)


async def _answer(send: Send, error: ServiceError) -> None:
    await send_json(send, error.status, error.body(), error.raw_headers())
