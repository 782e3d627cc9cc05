"""Who a route serves, as FastAPI dependencies (Annotated aliases): routes declare it, never check it.

``AdminContext`` and ``ServiceContext`` mark a route as needing an admin token or a service credential. The check
itself runs in security/gate.py, before the body is read; these dependencies pick up the principal it found (and
refuse, should a route ever be reached without the gate, rather than let a request through unchecked). What a
route needs besides its caller (its service) comes from components.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from hokusai._vocabulary import ErrorCode
from hokusai_auth.errors import ServiceError
from hokusai_auth.web.context import RequestContext


class Requirement(StrEnum):
    ADMIN = "admin"
    SERVICE = "service"


# requirement -> (the audit action of a refusal, the public message)
REFUSED = {
    Requirement.ADMIN: ("admin.auth_failed", "Invalid or missing admin token"),
    Requirement.SERVICE: ("service.auth_failed", "Invalid or missing service credential"),
}


@dataclass(frozen=True, slots=True)
class Principal:
    requirement: Requirement  # what it was checked for
    context: RequestContext  # the request, with the actor as audit records name it (admin:… or service:…)


PRINCIPAL_KEY = "hokusai.principal"  # where the gate leaves the principal in the ASGI scope


def _context(request: Request, requirement: Requirement) -> RequestContext:
    principal = request.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal) or principal.requirement is not requirement:
        raise ServiceError(401, ErrorCode.UNAUTHORIZED, REFUSED[requirement][1], headers={"WWW-Authenticate": "Bearer"})
    return principal.context


async def require_admin(request: Request) -> RequestContext:
    return _context(request, Requirement.ADMIN)


async def require_service(request: Request) -> RequestContext:
    """A service credential: a service token (SERVICE_TOKENS) or the admin token. Used by usage reporting."""
    return _context(request, Requirement.SERVICE)


AdminContext = Annotated[RequestContext, Depends(require_admin)]
ServiceContext = Annotated[RequestContext, Depends(require_service)]
# What the gate looks for in a route's dependencies.
CREDENTIAL_MARKS = {require_admin: Requirement.ADMIN, require_service: Requirement.SERVICE}
