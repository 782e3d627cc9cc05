"""Access tokens: issued at sign-in and refresh, verified on every request a user makes with one.

A token is a JWT (hokusai/_jws.py) signed with the key ring's current key: ``iss`` (PUBLIC_URL), ``sub`` (the user
id), ``aud`` (``hokusai``), ``iat`` = ``nbf``, ``exp`` (``iat`` + ACCESS_TOKEN_TTL), ``jti`` (128 random bits),
``sid`` (the session id) and ``wallet_address`` (null for a user without a wallet). Verification here checks
signature and claims only; whether the session is still open is sessions/verification.py's question.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hokusai import _jws
from hokusai_auth.signing.keyring import SigningKeyRing


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


class AccessTokens:
    def __init__(
        self,
        keyring: SigningKeyRing,
        issuer: str,
        *,
        audience: str = _jws.AUDIENCE,
        ttl: int,
        leeway_s: float = _jws.DEFAULT_LEEWAY_S,
        remembered: int = 16_384,  # ~1.5 KB each: every live token of a busy instance
    ) -> None:
        self._keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self._leeway_s = leeway_s
        self._verified = _jws.VerifiedTokens(remembered)

    def issue(
        self, *, user_id: uuid.UUID | str, session_id: uuid.UUID | str, wallet_address: str | None, now: datetime
    ) -> IssuedToken:
        issued_at = int(now.timestamp())
        expires = issued_at + self.ttl
        jti = secrets.token_urlsafe(16)
        claims = {
            "iss": self.issuer,
            "sub": str(user_id),
            "aud": self.audience,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": expires,
            "jti": jti,
            "sid": str(session_id),
            "wallet_address": wallet_address,
        }
        kid, private_key = self._keyring.current
        return IssuedToken(_jws.sign(claims, kid, private_key), jti, datetime.fromtimestamp(expires, UTC))

    async def verify(self, token: str, now: datetime) -> Mapping[str, Any]:
        """The claims of a good token; ``ExpiredToken`` or ``InvalidToken`` (``_jws``) otherwise. A token signed
        by a key this instance does not know yet (rotated by another instance) reloads the keys, once."""
        try:
            claims = self._verified.verify(token, self._keyring.verification_keys())
        except _jws.UnknownKey as unknown:
            if not await self._keyring.reload_if_unknown(unknown.kid):
                raise
            claims = self._verified.verify(token, self._keyring.verification_keys())
        _jws.check_claims(
            claims, issuer=self.issuer, audience=self.audience, now=now.timestamp(), leeway_s=self._leeway_s
        )
        return claims
