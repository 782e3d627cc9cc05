"""Service tokens: the credential Hokusai services (the gateway, the prediction API) use to report usage.

Checked like the admin token: every configured token is compared, in constant time, on fixed-length digests. The
actor recorded for a service is ``service:<8 hex>``, a fingerprint that tells tokens apart without revealing them.
"""

from __future__ import annotations

import hashlib
import hmac


def _fingerprint(token: str) -> str:
    return hashlib.sha256(b"actor:" + token.encode()).hexdigest()[:8]


class ServiceAuthenticator:
    def __init__(self, tokens: tuple[str, ...]) -> None:
        # No tokens is a valid configuration: then only the admin token may report usage.
        self._digests = [hashlib.sha256(token.encode()).digest() for token in tokens]
        self._actors = [f"service:{_fingerprint(token)}" for token in tokens]

    def identify(self, presented: str | None) -> str | None:
        """The actor name for a valid service token, else None."""
        candidate = hashlib.sha256((presented or "").encode()).digest()
        matched: str | None = None
        for digest, actor in zip(self._digests, self._actors, strict=True):
            if hmac.compare_digest(candidate, digest) and presented is not None:
                matched = actor
        return matched
