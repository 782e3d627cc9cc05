"""create_app(settings): the Hokusai Auth service as an ASGI app. Components are built in the lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hokusai_auth import __version__, openapi
from hokusai_auth.audit.routes import router as audit_router
from hokusai_auth.clock import Clock
from hokusai_auth.dashboard import routes as dashboard
from hokusai_auth.deps import CREDENTIAL_MARKS
from hokusai_auth.device.routes import build_router as build_device_router
from hokusai_auth.errors import install_error_handlers
from hokusai_auth.keys.routes import build_router as build_keys_router
from hokusai_auth.ops.metrics import Metrics
from hokusai_auth.ops.routes import router as ops_router
from hokusai_auth.organizations.operator_routes import router as organization_operators_router
from hokusai_auth.organizations.routes import build_router as build_organizations_router
from hokusai_auth.registrations.routes import build_router as build_registrations_router
from hokusai_auth.runtime import open_runtime
from hokusai_auth.security.gate import CredentialGate, route_requirements
from hokusai_auth.sessions.routes import TOKEN_VALIDATE_PATH
from hokusai_auth.sessions.routes import build_router as build_sessions_router
from hokusai_auth.sessions.token_endpoint import answer_token
from hokusai_auth.settings import Settings
from hokusai_auth.signing.routes import router as signing_router
from hokusai_auth.siwe.routes import build_router as build_sign_in_router
from hokusai_auth.usage.routes import router as usage_router
from hokusai_auth.user_admin.routes import router as users_router
from hokusai_auth.validation.endpoint import answer
from hokusai_auth.validation.fast_path import VALIDATE_PATHS, FastPath, Handler
from hokusai_auth.validation.routes import router as validation_router
from hokusai_auth.web import api_docs
from hokusai_auth.web.asgi import Receive, Scope, Send
from hokusai_auth.web.middleware import EnvelopeMiddleware

DESCRIPTION = """
Identity, API keys and access control for the Hokusai platform.

Three kinds of credentials: the **admin token** (`Authorization: Bearer <ADMIN_TOKEN>`) for key management,
**API keys** (`hk_live_…`, `hk_test_…`, `hk_dev_…`) validated by `POST /api/v1/keys/validate`, and JWT session
tokens. The validation endpoints are public.
"""


class ServiceApp(FastAPI):
    """FastAPI with the request envelope and the validate fast path in front of it rather than inside it.

    Every Hokusai request pays for one validation, so that path must cost little more than the floor of Python
    HTTP. Inside FastAPI it would first pass the framework's own per-request work (its telemetry check reads the
    environment on every call, then Starlette's error and middleware layers); in front, an HTTP request reaches
    the envelope directly and only what is not a validation goes on into the framework.
    """

    front: EnvelopeMiddleware

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["app"] = self
            await self.front(scope, receive, send)
        else:  # lifespan
            await super().__call__(scope, receive, send)

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, *, clock: Clock | None = None, freeze_gc: bool = False) -> ServiceApp:
    """``freeze_gc``: once started, move every object built so far out of the garbage collector's sight.
    The framework and ORM leave hundreds of thousands of long-lived objects; a full collection walks them all
    and stalls the event loop for tens of milliseconds (measured: p99 of validation with Redis limits dropped
    from 41 ms to a few ms). For server processes; tests that build many apps in one process leave it off."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: ServiceApp) -> AsyncIterator[None]:
        async with open_runtime(settings, clock=clock) as runtime:
            app.state.runtime = runtime  # the validate fast path's validator and trusted proxies
            app.state.components = runtime.components()  # every other route's service (components.py)
            metrics.watch(lambda: runtime.validator.outcomes, runtime.gauges)
            if freeze_gc:
                gc.collect()
                gc.freeze()
            try:
                yield
            finally:
                app.front.access_log.flush()  # the last lines, written in batches, are not lost at shutdown

    app = ServiceApp(
        title="Hokusai Auth",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load their assets from a CDN; ours are served from the package
        redoc_url=None,
    )
    app.state.metrics = metrics
    install_error_handlers(app)
    routers = [
        validation_router,
        build_keys_router("/api/v1/keys", alias=False),
        build_keys_router("/api/v1/auth/keys", alias=True),
        audit_router,
        usage_router,
        build_sign_in_router(settings.trusted_proxies),
        build_sessions_router(settings.trusted_proxies),
        build_device_router(settings.trusted_proxies),
        signing_router,
        users_router,
        build_registrations_router(settings.trusted_proxies),
        build_organizations_router(),
        organization_operators_router,
        ops_router,
    ]
    for router in routers:
        app.include_router(router)
    table = route_requirements(routers, CREDENTIAL_MARKS)
    for router in dashboard.ROUTERS:  # pages: they find who is signed in from cookies (dashboard/identity.py)
        app.include_router(router)
    dashboard.install(app)
    openapi.install(app, table)
    app.include_router(api_docs.build_router(app.title))

    fast_paths: dict[str, Handler] = dict.fromkeys(VALIDATE_PATHS, _validate_key)
    fast_paths[TOKEN_VALIDATE_PATH] = _validate_token

    def body_limit(scope: Scope) -> int | None:
        return settings.max_validate_body_bytes if scope["path"] in fast_paths else settings.max_body_bytes

    # A request goes: envelope → fast paths (validate a key, a token) → (the framework) credential gate → routes.
    # The fast paths answer validations before the framework or the gate spend anything on them.
    app.add_middleware(CredentialGate, table=table)
    app.front = EnvelopeMiddleware(
        FastPath(app.framework, fast_paths, max_body_bytes=settings.max_validate_body_bytes),
        metrics=metrics,
        trusted_proxies=settings.trusted_proxies,
        access_log_enabled=settings.access_log,
        body_limit=body_limit,
    )
    return app


async def _validate_key(scope: Scope, body: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    return await answer(scope["app"].state.runtime, scope, body)


async def _validate_token(scope: Scope, body: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    return await answer_token(scope["app"].state.runtime, scope, body)
