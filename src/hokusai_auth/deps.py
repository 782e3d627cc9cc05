"""FastAPI dependencies as Annotated aliases: routes declare what they need, never build it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hokusai_auth.errors import ServiceError
from hokusai_auth.runtime import Runtime
from hokusai_auth.security.admin import bearer_token
from hokusai_auth.web.context import RequestContext


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def require_admin(request: Request, runtime: RuntimeDep) -> RequestContext:
    token = bearer_token(request)
    actor = runtime.admin.identify(token)
    if actor is None:
        if token is not None:  # a credential was offered and refused: that is worth an audit record
            ctx = RequestContext.of(request, "unknown", runtime.settings.trusted_proxies)
            await runtime.audit.record_rejected_admin(ctx)
        raise ServiceError(
            401, "unauthorized", "Invalid or missing admin token", headers={"WWW-Authenticate": "Bearer"}
        )
    return RequestContext.of(request, actor, runtime.settings.trusted_proxies)


AdminContext = Annotated[RequestContext, Depends(require_admin)]


async def require_service(request: Request, runtime: RuntimeDep) -> RequestContext:
    """A service credential: a service token (SERVICE_TOKENS) or the admin token. Used by usage reporting."""
    token = bearer_token(request)
    # Both checks always run, so the timing does not tell an admin token from a service token.
    admin_actor = runtime.admin.identify(token)
    service_actor = runtime.service_auth.identify(token)
    actor = admin_actor or service_actor
    if actor is None:
        if token is not None:
            ctx = RequestContext.of(request, "unknown", runtime.settings.trusted_proxies)
            await runtime.audit.record_rejected_service(ctx)
        raise ServiceError(
            401, "unauthorized", "Invalid or missing service credential", headers={"WWW-Authenticate": "Bearer"}
        )
    return RequestContext.of(request, actor, runtime.settings.trusted_proxies)


ServiceContext = Annotated[RequestContext, Depends(require_service)]
