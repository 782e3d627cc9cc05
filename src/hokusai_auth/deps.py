"""FastAPI dependencies as Annotated aliases: routes declare what they need, never build it.

``AdminContext`` and ``ServiceContext`` mark a route as needing an admin token or a service credential. The check
itself runs in security/gate.py, before the body is read; these dependencies pick up what it found (and refuse,
should a route ever be reached without the gate, rather than let a request through unchecked).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hokusai_auth.errors import ServiceError
from hokusai_auth.runtime import Runtime
from hokusai_auth.security.principal import PRINCIPAL_KEY, REFUSED, Principal, Requirement
from hokusai_auth.web.context import RequestContext


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _context(request: Request, runtime: Runtime, requirement: Requirement) -> RequestContext:
    principal = request.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal) or principal.requirement is not requirement:
        raise ServiceError(401, "unauthorized", REFUSED[requirement][1], headers={"WWW-Authenticate": "Bearer"})
    return RequestContext.of(request, principal.actor, runtime.settings.trusted_proxies)


async def require_admin(request: Request, runtime: RuntimeDep) -> RequestContext:
    return _context(request, runtime, Requirement.ADMIN)


async def require_service(request: Request, runtime: RuntimeDep) -> RequestContext:
    """A service credential: a service token (SERVICE_TOKENS) or the admin token. Used by usage reporting."""
    return _context(request, runtime, Requirement.SERVICE)


AdminContext = Annotated[RequestContext, Depends(require_admin)]
ServiceContext = Annotated[RequestContext, Depends(require_service)]
# What the gate looks for in a route's dependencies.
CREDENTIAL_MARKS = {require_admin: Requirement.ADMIN, require_service: Requirement.SERVICE}
