"""ASGI middleware that puts a service behind Hokusai API keys, validating in-process.

    app.add_middleware(HokusaiAuthMiddleware, service_id="prediction", required_scope="predict")

It opens its validation stack in the app's lifespan (or uses the EmbeddedValidator it is given), takes the key
from ``Authorization: Bearer|ApiKey``, ``X-API-Key`` or ``?api_key=`` (request bodies are not read: that would
mean buffering every upload), and answers refusals itself with the contract's JSON and status. Accepted requests
reach the app with ``request.state.hokusai`` (an AuthenticatedKey) and leave with the X-RateLimit-* headers.

With ``accept_session_tokens=True`` a signed-in user's access token (``Authorization: Bearer <JWT>``) is accepted
too, checked as ``POST /api/v1/tokens/validate`` checks it (revocations included); the app then finds an
AuthenticatedUser in ``request.state.hokusai``. Keys and tokens are told apart by their shape, never by trying.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack

from hokusai._vocabulary import ErrorCode
from hokusai_auth.embed.validator import AuthenticatedKey, AuthenticatedUser, EmbeddedValidator
from hokusai_auth.errors import ServiceError
from hokusai_auth.sessions.verification import TokenRefusal
from hokusai_auth.settings import Settings
from hokusai_auth.validation.responses import render, verdict_headers
from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.web.asgi import ASGIApp, Message, Receive, Scope, Send, send_json
from hokusai_auth.web.client_ip import client_ip
from hokusai_auth.web.credentials import bearer_token, duplicated_place, find_key, jwt_shaped

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
        accept_session_tokens: bool = False,
    ) -> None:
        self.app = app
        self.accept_session_tokens = accept_session_tokens
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
        token = bearer_token(scope) if self.accept_session_tokens else None
        if token is not None and jwt_shaped(token):
            await self._as_user(token, scope, receive, send)
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

    async def _as_user(self, token: str, scope: Scope, receive: Receive, send: Send) -> None:
        checker = self.validator.token_checker if self.validator is not None else None
        if checker is None:
            raise RuntimeError("accept_session_tokens needs a validator opened with session_tokens=True")
        try:
            checked = await checker.check(token)
        except ServiceError as error:  # 503: the database did not answer
            await send_json(send, error.status, error.body(), error.raw_headers())
            return
        if isinstance(checked, TokenRefusal):
            body = {"detail": checked.detail, "code": checked.failure.value, "error": checked.failure.error}
            await send_json(send, 401, body, [(b"www-authenticate", b'Bearer error="invalid_token"')])
            return
        user = AuthenticatedUser(checked.user_id, checked.session_id, checked.wallet_address, checked.expires_at)
        scope.setdefault("state", {})["hokusai"] = user
        await self.app(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_and_start() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and self.validator is None:
                self._exits = AsyncExitStack()
                opened = EmbeddedValidator.open(self._settings, session_tokens=self.accept_session_tokens)
                self.validator = await self._exits.enter_async_context(opened)
            return message

        async def send_and_stop(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and self._exits is not None:
                await self._exits.aclose()
                self._exits = None
                self.validator = None
            await send(message)

        await self.app(scope, receive_and_start, send_and_stop)
