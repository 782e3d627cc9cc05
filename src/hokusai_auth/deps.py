"""Who a route serves, as FastAPI dependencies (Annotated aliases): routes declare it, never check it.

``AdminContext`` and ``ServiceContext`` mark a route as needing an admin token or a service credential. The check
itself runs in security/gate.py, before the body is read; these dependencies pick up the principal it found (and
refuse, should a route ever be reached without the gate, rather than let a request through unchecked). What a
route needs besides its caller (its service) comes from components.py.
"""

from __future__ import annotations

import uuid
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
    USER = "user"  # a signed-in user's access token
    ADMIN_OR_USER = "admin_or_user"  # the key endpoints: an operator for every key, a user for their own


# requirement -> (the audit action of a refusal, the public message)
REFUSED = {
    Requirement.ADMIN: ("admin.auth_failed", "Invalid or missing admin token"),
    Requirement.SERVICE: ("service.auth_failed", "Invalid or missing service credential"),
    Requirement.USER: ("user.auth_failed", "Invalid or missing access token"),
    Requirement.ADMIN_OR_USER: ("admin.auth_failed", "Invalid or missing admin token or access token"),
}


@dataclass(frozen=True, slots=True)
class Principal:
    requirement: Requirement  # what it was checked for
    context: RequestContext  # the request, with the actor as audit records name it (admin:…, service:…, user:…)
    user_id: uuid.UUID | None = None  # a signed-in user (None: an operator or a service)
    session_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.user_id is None


PRINCIPAL_KEY = "hokusai.principal"  # where the gate leaves the principal in the ASGI scope


def _principal(request: Request, requirement: Requirement) -> Principal:
    principal = request.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal) or principal.requirement is not requirement:
        raise ServiceError(401, ErrorCode.UNAUTHORIZED, REFUSED[requirement][1], headers={"WWW-Authenticate": "Bearer"})
    return principal


def _context(request: Request, requirement: Requirement) -> RequestContext:
    return _principal(request, requirement).context


async def require_admin(request: Request) -> RequestContext:
    return _context(request, Requirement.ADMIN)


async def require_service(request: Request) -> RequestContext:
    """A service credential: a service token (SERVICE_TOKENS) or the admin token. Used by usage reporting."""
    return _context(request, Requirement.SERVICE)


@dataclass(frozen=True, slots=True)
class SignedInUser:
    user_id: uuid.UUID
    session_id: uuid.UUID
    context: RequestContext


async def require_user(request: Request) -> SignedInUser:
    """A signed-in user's access token (its session open, its user enabled)."""
    principal = _principal(request, Requirement.USER)
    if principal.user_id is None or principal.session_id is None:  # the gate sets both for a user
        raise ServiceError(401, ErrorCode.UNAUTHORIZED, REFUSED[Requirement.USER][1])
    return SignedInUser(principal.user_id, principal.session_id, principal.context)


async def require_admin_or_user(request: Request) -> Principal:
    """The admin token (``is_admin``), or a user's access token (``user_id`` set)."""
    return _principal(request, Requirement.ADMIN_OR_USER)


AdminContext = Annotated[RequestContext, Depends(require_admin)]
ServiceContext = Annotated[RequestContext, Depends(require_service)]
UserPrincipal = Annotated[SignedInUser, Depends(require_user)]
AdminOrUser = Annotated[Principal, Depends(require_admin_or_user)]
# What the gate looks for in a route's dependencies.
CREDENTIAL_MARKS = {
    require_admin: Requirement.ADMIN,
    require_service: Requirement.SERVICE,
    require_user: Requirement.USER,
    require_admin_or_user: Requirement.ADMIN_OR_USER,
}
