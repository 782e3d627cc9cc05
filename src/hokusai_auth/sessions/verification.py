"""Is this access token good right now? The one check behind ``POST /api/v1/tokens/validate`` and every route a
user reaches with ``Authorization: Bearer <access token>``.

In order: something was sent; it is not an API key (keys and tokens are never accepted for each other); the
signature and claims hold (signing/access_tokens.py); its session is open and its user enabled (from memory when
warm: sessions/states.py). Every refusal is a ``TokenFailure`` with the contract's code; none reveals more than
that code says. When the database is needed and does not answer, the answer is 503 (``errors.unavailable``), never
a refusal: an outage says nothing about the token.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from hokusai._jws import ExpiredToken, InvalidToken
from hokusai._keys import looks_like_key
from hokusai._vocabulary import TokenFailure
from hokusai_auth.clock import Clock
from hokusai_auth.errors import UNAVAILABLE_ERRORS, unavailable
from hokusai_auth.sessions.states import SessionStates


class AccessTokenVerifier(Protocol):
    async def verify(self, token: str, now: datetime) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """Who a good token speaks for."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    wallet_address: str | None
    expires_at: datetime
    memberships: tuple[tuple[uuid.UUID, str], ...] = ()  # (organization id, role)


@dataclass(frozen=True, slots=True)
class TokenRefusal:
    failure: TokenFailure
    detail: str


_DETAILS = {
    TokenFailure.MISSING: 'No access token: send it as {"token": ...} or Authorization: Bearer <token>',
    TokenFailure.INVALID: "Invalid access token",
    TokenFailure.EXPIRED: "Access token has expired: refresh it (POST /auth/token/refresh)",
    TokenFailure.SESSION_REVOKED: "The session of this token has ended: sign in again",
    TokenFailure.USER_DISABLED: "This user has been disabled by an operator",
}


def refusal(failure: TokenFailure, detail: str | None = None) -> TokenRefusal:
    return TokenRefusal(failure, detail or _DETAILS[failure])


class TokenChecker:
    def __init__(self, tokens: AccessTokenVerifier, states: SessionStates, clock: Clock) -> None:
        self._tokens = tokens
        self._states = states
        self._clock = clock

    async def check(self, token: str | None) -> TokenHolder | TokenRefusal:
        if not token:
            return refusal(TokenFailure.MISSING)
        if looks_like_key(token):
            return refusal(TokenFailure.INVALID, "That is an API key: validate it with POST /api/v1/keys/validate")
        try:
            return await self._check(token)
        except UNAVAILABLE_ERRORS:  # the keys or the session could not be read: says nothing about the token
            raise unavailable() from None

    async def _check(self, token: str) -> TokenHolder | TokenRefusal:
        try:
            claims = await self._tokens.verify(token, self._clock.now())
            user_id = uuid.UUID(str(claims["sub"]))
            session_id = uuid.UUID(str(claims["sid"]))
            expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
            wallet = claims.get("wallet_address")
        except ExpiredToken:
            return refusal(TokenFailure.EXPIRED)
        except (InvalidToken, KeyError, ValueError, TypeError, OverflowError):
            return refusal(TokenFailure.INVALID)
        status = await self._states.status(session_id)
        if status is None or status.revoked:
            return refusal(TokenFailure.SESSION_REVOKED)
        if status.user_id != user_id:
            return refusal(TokenFailure.INVALID)
        if not status.user_active:
            return refusal(TokenFailure.USER_DISABLED)
        return TokenHolder(
            user_id, session_id, wallet if isinstance(wallet, str) else None, expires_at, status.memberships
        )
