"""Who is looking at a dashboard page: a wallet user (their session's access token, renewed with its refresh
token when it expires) or an operator (a signed statement of which admin token they signed in with).

A user's dashboard session is their API session: ``/auth/logout`` elsewhere, an operator disabling them, or a
reused refresh token ends it here too, on the next page. An operator's ends after OPERATOR_TTL, or at once when
the admin token they signed in with is no longer configured.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starlette.requests import Request

from hokusai_auth.clock import Clock
from hokusai_auth.dashboard import cookies
from hokusai_auth.errors import ServiceError
from hokusai_auth.security.tokens import BearerTokens
from hokusai_auth.sessions.service import SessionService, TokenPair
from hokusai_auth.sessions.verification import TokenChecker, TokenHolder
from hokusai_auth.web.client_ip import IPNetwork
from hokusai_auth.web.context import RequestContext

OPERATOR_TTL = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class Viewer:
    actor: str  # as the audit log names them: user:<id> or admin:<fingerprint>
    context: RequestContext
    binding: str  # what the page's CSRF token is bound to
    user_id: uuid.UUID | None = None  # a wallet user (None: an operator)
    session_id: uuid.UUID | None = None
    wallet_address: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.user_id is None


@dataclass(slots=True)
class Cookies:
    """What the answer must do to the browser's cookies (a renewed session, an ended one)."""

    set: list[tuple[str, str, int]] = field(default_factory=list)  # name, value, max-age
    cleared: list[str] = field(default_factory=list)


class OperatorStatements:
    """``admin:<fingerprint>|<expiry>|<mac>``: nothing in it opens anything without the service's secret."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"hokusai/dashboard-operator/v1", hashlib.sha256).digest()

    def _mac(self, payload: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()).decode()

    def issue(self, actor: str, now: datetime) -> str:
        payload = f"{actor}|{int((now + OPERATOR_TTL).timestamp())}"
        return f"{payload}|{self._mac(payload)}"

    def read(self, value: str, now: datetime) -> str | None:
        payload, _, mac = value.rpartition("|")
        actor, _, expiry = payload.partition("|")
        if not (payload and expiry.isdigit()) or not hmac.compare_digest(self._mac(payload), mac):
            return None
        return actor if int(expiry) > now.timestamp() else None


class DashboardIdentity:
    def __init__(
        self,
        *,
        checker: TokenChecker,
        sessions: SessionService,
        admin: BearerTokens,
        secret_key: str,
        clock: Clock,
        proxies: tuple[IPNetwork, ...],
        refresh_ttl: int,
    ) -> None:
        self._checker = checker
        self._sessions = sessions
        self._admin = admin
        self._operators = OperatorStatements(secret_key)
        self._clock = clock
        self.proxies = proxies
        self._refresh_ttl = refresh_ttl

    def context(self, request: Request, actor: str) -> RequestContext:
        return RequestContext.of(request, actor, self.proxies)

    async def viewer(self, request: Request, changes: Cookies) -> Viewer | None:
        statement = request.cookies.get(cookies.OPERATOR)
        if statement:
            actor = self._operators.read(statement, self._clock.now())
            if actor is not None and self._admin.configured(actor):
                return Viewer(actor, self.context(request, actor), binding=f"operator:{statement}")
            changes.cleared.append(cookies.OPERATOR)
        access = request.cookies.get(cookies.ACCESS)
        refresh = request.cookies.get(cookies.REFRESH)
        if not access and not refresh:
            return None
        checked = await self._checker.check(access) if access else None
        if not isinstance(checked, TokenHolder) and refresh:
            try:  # expired (or gone): the refresh token renews it, once, like the SDK does
                pair = await self._sessions.refresh(refresh, self.context(request, "anonymous"))
            except ServiceError:
                pair = None
            if pair is not None:
                self.remember(pair, changes)
                checked = await self._checker.check(pair.access_token)
        if not isinstance(checked, TokenHolder):
            changes.cleared.extend((cookies.ACCESS, cookies.REFRESH))
            return None
        actor = f"user:{checked.user_id}"
        return Viewer(actor, self.context(request, actor), binding=f"user:{checked.session_id}",
                      user_id=checked.user_id, session_id=checked.session_id,
                      wallet_address=checked.wallet_address)  # fmt: skip

    def remember(self, pair: TokenPair, changes: Cookies) -> None:
        """Keep a new session's tokens in the browser (HttpOnly: no script on the page can read them)."""
        changes.set.append((cookies.ACCESS, pair.access_token, self._refresh_ttl))
        changes.set.append((cookies.REFRESH, pair.refresh_token, self._refresh_ttl))

    def operator(self, token: str) -> str | None:
        """The operator's cookie for an admin token, or None for a token that is not one."""
        actor = self._admin.identify(token)
        return self._operators.issue(actor, self._clock.now()) if actor is not None else None

    async def sign_out(self, viewer: Viewer) -> None:
        if viewer.user_id is not None and viewer.session_id is not None:
            with contextlib.suppress(ServiceError):  # already ended elsewhere: signed out either way
                await self._sessions.end(viewer.user_id, viewer.session_id, viewer.context, reason="logout")
