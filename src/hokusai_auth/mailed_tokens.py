"""Secrets a mail carries (a verification link, a claim link): from the OS CSPRNG, handed out once, stored only
as a keyed digest, so a copy of the database alone neither opens a link nor tests guesses.

``PurposeDigester`` is the pattern of the refresh tokens and API keys (an HMAC key derived from SECRET_KEY with a
purpose label, so one master secret serves every purpose without reuse), written once for any token that is
mailed: verification and claim links (registrations/) and invitations (organizations/).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

MAX_LENGTH = 128  # generated tokens are 47 characters; anything far longer is not one of ours


def generate(prefix: str) -> str:
    """A new token: ``prefix`` (which tells a secret scanner what it is) and 256 random bits."""
    return prefix + secrets.token_urlsafe(32)


def plausible(token: str, prefix: str) -> bool:
    """Whether ``token`` could be one of ours: the right prefix and a sane length (checked before any lookup)."""
    return token.startswith(prefix) and len(token) <= MAX_LENGTH


class PurposeDigester:
    __slots__ = ("_keyed",)

    def __init__(self, secret_key: str, purpose: str) -> None:
        key = hmac.new(secret_key.encode(), f"hokusai/{purpose}/v1".encode(), hashlib.sha256).digest()
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def digest(self, token: str) -> str:
        mac = self._keyed.copy()
        mac.update(token.encode())
        return mac.hexdigest()
