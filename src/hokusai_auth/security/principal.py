"""Who is calling, for the routes that need an operator or a Hokusai service: checked from the headers alone,
before anything reads the request body (see security/gate.py).

``admin``: a configured admin token. ``service``: a configured service token or an admin token (usage reports).
Both checks always run for ``service``, so the timing does not tell an admin token from a service token.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from hokusai_auth.errors import ServiceError
from hokusai_auth.web.asgi import Scope
from hokusai_auth.web.context import RequestContext
from hokusai_auth.web.credentials import bearer_token

if TYPE_CHECKING:
    from hokusai_auth.runtime import Runtime


class Requirement(StrEnum):
    ADMIN = "admin"
    SERVICE = "service"


REFUSED = {
    Requirement.ADMIN: ("admin.auth_failed", "Invalid or missing admin token"),
    Requirement.SERVICE: ("service.auth_failed", "Invalid or missing service credential"),
}


@dataclass(frozen=True, slots=True)
class Principal:
    requirement: Requirement  # what it was checked for
    actor: str  # as audit records name it: admin:<fingerprint> or service:<fingerprint>


PRINCIPAL_KEY = "hokusai.principal"  # where the gate leaves the principal in the ASGI scope


async def authenticate(runtime: Runtime, scope: Scope, requirement: Requirement) -> Principal:
    """The caller as ``requirement`` asks, or ServiceError (401, or 429 while its address is throttled)."""
    action, message = REFUSED[requirement]
    refusal = ServiceError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
    token = bearer_token(scope)
    if token is None:
        raise refusal  # nothing offered, nothing to count
    ctx = RequestContext.from_scope(scope, "unknown", runtime.settings.trusted_proxies)
    wait = await runtime.failed_credentials.retry_after(ctx.client_ip)
    if wait is not None:
        raise ServiceError(
            429,
            "too_many_failed_attempts",
            f"Too many refused credentials from this address; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    actor = runtime.admin.identify(token)
    if requirement is Requirement.SERVICE:
        service_actor = runtime.service_auth.identify(token)
        actor = actor or service_actor
    if actor is None:
        await runtime.failed_credentials.refused(action, ctx)
        raise refusal
    return Principal(requirement, actor)
