"""The admin token check. Several tokens may be valid at once (rotation); all are compared, in constant time,
on fixed-length digests, so neither which token matched nor how much of it matched shows in the timing."""

from __future__ import annotations

import hashlib
import hmac


class AdminAuthenticator:
    def __init__(self, tokens: tuple[str, ...]) -> None:
        if not tokens:
            raise ValueError("at least one admin token is required")
        self._digests = [hashlib.sha256(token.encode()).digest() for token in tokens]
        # The actor recorded in audit logs: which admin token acted, without revealing anything usable of it.
        self._actors = [f"admin:{hashlib.sha256(b'actor:' + token.encode()).hexdigest()[:8]}" for token in tokens]

    def identify(self, presented: str | None) -> str | None:
        """The actor name for a valid admin token, else None."""
        candidate = hashlib.sha256((presented or "").encode()).digest()
        matched: str | None = None
        for digest, actor in zip(self._digests, self._actors, strict=True):
            if hmac.compare_digest(candidate, digest) and presented is not None:
                matched = actor
        return matched
