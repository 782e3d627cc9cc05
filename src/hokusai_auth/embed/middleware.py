"""ASGI middleware that puts a service behind Hokusai API keys, validating in-process.

    app.add_middleware(HokusaiAuthMiddleware, service_id="prediction", required_scope="predict")

It opens its validation stack in the app's lifespan (or uses the EmbeddedValidator it is given), takes the key
from ``Authorization: Bearer|ApiKey``, ``X-API-Key`` or ``?api_key=`` (request bodies are not read: that would
mean buffering every upload), and answers refusals itself with the contract's JSON and status. Accepted requests
reach the app with ``request.state.hokusai`` (an AuthenticatedKey) and leave with the X-RateLimit-* headers.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack

from hokusai._vocabulary import ErrorCode
from hokusai_auth.embed.validator import AuthenticatedKey, EmbeddedValidator
from hokusai_auth.settings import Settings
from hokusai_auth.validation.responses import render, verdict_headers
from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.web.asgi import ASGIApp, Message, Receive, Scope, Send, send_json
from hokusai_auth.web.client_ip import client_ip
from hokusai_auth.web.credentials import duplicated_place, find_key

ScopeRule = str | Callable[[Scope], str | None] | None


class HokusaiAuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        service_id: str | None = None,
        required_scope: ScopeRule = None,
        exempt_paths: tuple[str, ...] = ("/health",),
        settings: Settings | None = None,
        validator: EmbeddedValidator | None = None,
    ) -> None:
        self.app = app
        self.service_id = service_id
        self.required_scope = required_scope
        self.exempt_paths = exempt_paths
        self._settings = settings
        self.validator = validator
        self._exits: AsyncExitStack | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] != "http" or scope["path"] in self.exempt_paths or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        if self.validator is None:
            raise RuntimeError("HokusaiAuthMiddleware was not started: run the app with its lifespan")

        duplicated = duplicated_place(scope)
        if duplicated is not None:  # the same rule as the service and the gateway: never guess which copy counts
            await send_json(
                send, 400, {"detail": f"{duplicated} given more than once", "code": ErrorCode.DUPLICATE_CREDENTIAL}
            )
            return
        rule = self.required_scope
        check = CheckRequest(
            service_id=self.service_id,
            required_scope=rule(scope) if callable(rule) else rule,
            client_ip=client_ip(scope, self.validator.trusted_proxies),
        )
        verdict = await self.validator.check(find_key(scope), check)
        if not verdict.valid:
            status, body, headers = render(verdict)
            await send_json(send, status, body, headers)
            return

        scope.setdefault("state", {})["hokusai"] = AuthenticatedKey.of(verdict)
        extra = verdict_headers(verdict)

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_limits)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_and_start() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and self.validator is None:
                self._exits = AsyncExitStack()
                self.validator = await self._exits.enter_async_context(EmbeddedValidator.open(self._settings))
            return message

        async def send_and_stop(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and self._exits is not None:
                await self._exits.aclose()
                self._exits = None
                self.validator = None
            await send(message)

        await self.app(scope, receive_and_start, send_and_stop)
