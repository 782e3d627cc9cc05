"""CSRF tokens: an HMAC of what the page's session is (a wallet session's id, an operator session's statement, or
the anonymous ``hk_csrf`` cookie), so a token is good only with the cookies of the browser it was shown to, and
needs no storage. Every form carries it as ``csrf``; scripts send it as ``X-CSRF-Token``."""

from __future__ import annotations

import hashlib
import hmac

FIELD = "csrf"
HEADER = "x-csrf-token"


class CsrfTokens:
    __slots__ = ("_key",)

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"hokusai/dashboard-csrf/v1", hashlib.sha256).digest()

    def token(self, binding: str) -> str:
        return hmac.new(self._key, binding.encode(), hashlib.sha256).hexdigest()

    def valid(self, binding: str, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(self.token(binding), presented)
