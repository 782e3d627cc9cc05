"""Bearer tokens of one kind (the admin tokens, the service tokens): which configured token, if any, a request
presents. Several may be valid at once (rotation); all are compared, in constant time, on fixed-length digests,
so neither which token matched nor how much of it matched shows in the timing. The actor recorded in audit logs
is ``<kind>:<8 hex>``, a fingerprint that tells tokens apart without revealing anything usable of them."""

from __future__ import annotations

import hashlib
import hmac


def _fingerprint(token: str) -> str:
    return hashlib.sha256(b"actor:" + token.encode()).hexdigest()[:8]


class BearerTokens:
    def __init__(self, kind: str, tokens: tuple[str, ...]) -> None:
        self.kind = kind
        self._digests = [hashlib.sha256(token.encode()).digest() for token in tokens]
        self._actors = [f"{kind}:{_fingerprint(token)}" for token in tokens]

    def identify(self, presented: str | None) -> str | None:
        """The actor name for a configured token, else None."""
        candidate = hashlib.sha256((presented or "").encode()).digest()
        matched: str | None = None
        for digest, actor in zip(self._digests, self._actors, strict=True):
            if hmac.compare_digest(candidate, digest) and presented is not None:
                matched = actor
        return matched

    def configured(self, actor: str) -> bool:
        """Whether ``actor`` (a fingerprint ``identify`` answered) still names a configured token: a dashboard
        operator session signed in with a token that has since been rotated out ends with it."""
        return actor in self._actors
