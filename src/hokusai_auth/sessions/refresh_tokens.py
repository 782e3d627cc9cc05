"""Refresh tokens: opaque, from the OS CSPRNG, stored only as a keyed digest (like API keys: a copy of the
database alone cannot be used to test guesses). The ``hkr_`` prefix lets a secret scanner tell them apart."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "hkr_"
MAX_LENGTH = 128  # generated tokens are 47 characters; anything far longer is not one of ours


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


class RefreshDigester:
    __slots__ = ("_keyed",)

    def __init__(self, secret_key: str) -> None:
        key = hmac.new(secret_key.encode(), b"hokusai/refresh-token/v1", hashlib.sha256).digest()
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def digest(self, token: str) -> str:
        mac = self._keyed.copy()
        mac.update(token.encode())
        return mac.hexdigest()
