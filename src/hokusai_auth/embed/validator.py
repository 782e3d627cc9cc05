"""The Python API: ``async with EmbeddedValidator.open(settings) as v: verdict = await v.validate(key, ...)``."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from hokusai_auth import bootstrap
from hokusai_auth.clock import Clock
from hokusai_auth.runtime import open_token_checking, open_validation
from hokusai_auth.sessions.verification import TokenChecker
from hokusai_auth.settings import Settings
from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.validation.validator import Validator, Verdict
from hokusai_auth.web.client_ip import IPNetwork


@dataclass(frozen=True, slots=True)
class AuthenticatedKey:
    """What a handler learns about the caller once its key was accepted (``request.state.hokusai``)."""

    key_id: uuid.UUID
    user_id: str
    organization_id: uuid.UUID | None
    service_id: str
    scopes: tuple[str, ...]
    environment: str
    billing_plan: str
    expires_at: datetime | None
    rate_limit_remaining: int | None

    @classmethod
    def of(cls, verdict: Verdict) -> AuthenticatedKey:
        state = verdict.state
        if state is None or not verdict.valid:
            raise ValueError("only a valid verdict describes an authenticated key")
        return cls(
            key_id=state.key_id,
            user_id=state.user_id,
            organization_id=state.organization_id,
            service_id=state.service_id,
            scopes=state.scopes,
            environment=state.environment,
            billing_plan=state.billing_plan,
            expires_at=state.expires_at,
            rate_limit_remaining=verdict.limit.remaining if verdict.limit else None,
        )

    def has_scope(self, scope: str) -> bool:
        return not self.scopes or scope in self.scopes


@dataclass(frozen=True, slots=True)
class AuthenticatedUser:
    """What a handler learns about the caller once a user's access token was accepted (``request.state.hokusai``,
    with ``accept_session_tokens=True``)."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    wallet_address: str | None
    expires_at: datetime


class EmbeddedValidator:
    def __init__(
        self,
        validator: Validator,
        *,
        trusted_proxies: tuple[IPNetwork, ...] = (),
        token_checker: TokenChecker | None = None,
    ) -> None:
        self._validator = validator
        self.trusted_proxies = trusted_proxies  # which proxies may name the client's address (the middleware)
        self.token_checker = token_checker  # set when opened with session_tokens=True

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: Settings | None = None, *, clock: Clock | None = None, session_tokens: bool = False
    ) -> AsyncIterator[EmbeddedValidator]:
        """Open against ``settings`` (default: from the environment, like the service: on one machine with no
        configuration it finds the embedded default's data directory). ``session_tokens``: also check users'
        access tokens, exactly as the service does (same database: signing keys, sessions, revocations)."""
        prepared, _ = bootstrap.prepare(settings or Settings())
        async with AsyncExitStack() as exits:
            runtime = await exits.enter_async_context(open_validation(prepared, clock=clock))
            checker = None
            if session_tokens:
                checking = open_token_checking(prepared, runtime.database, runtime.clock)
                checker = (await exits.enter_async_context(checking)).checker
            yield cls(runtime.validator, trusted_proxies=runtime.trusted_proxies, token_checker=checker)

    async def validate(
        self,
        key: str | None,
        *,
        service_id: str | None = None,
        required_scope: str | None = None,
        client_ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address | None = None,
        environment: str | None = None,
        cost: int = 1,
    ) -> Verdict:
        """The same decision as POST /api/v1/keys/validate. ``verdict.valid``; else ``verdict.rejection``
        carries status, error, code, detail and retry_after."""
        address = ipaddress.ip_address(client_ip) if isinstance(client_ip, str) else client_ip
        request = CheckRequest(
            service_id=service_id, required_scope=required_scope, client_ip=address, environment=environment, cost=cost
        )
        return await self.check(key, request)

    async def check(self, key: str | None, request: CheckRequest) -> Verdict:
        """``validate`` with the request already built (the middleware's way)."""
        return await self._validator.validate(key, request)
