"""Which key ids exist, so usage ingest does not query the database per request.

Key ids never disappear (revoked keys keep their row and their usage), so "exists" is kept for good; "does not
exist" only for a few seconds, because the key may be created on another instance right after. Both sides are
bounded: a flood of random ids cannot grow memory without limit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable


class KnownKeys:
    def __init__(
        self,
        negative_ttl: float,
        *,
        max_known: int = 1_000_000,
        max_unknown: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._negative_ttl = negative_ttl
        self._max_known = max_known
        self._max_unknown = max_unknown
        self._monotonic = monotonic
        self._known: dict[uuid.UUID, None] = {}  # insertion-ordered: the oldest entry goes first when full
        self._unknown: dict[uuid.UUID, float] = {}  # id -> monotonic time the answer expires

    def lookup(self, key_id: uuid.UUID) -> bool | None:
        """True: exists. False: did not exist a moment ago. None: ask the database."""
        if key_id in self._known:
            return True
        expires = self._unknown.get(key_id)
        if expires is None:
            return None
        if self._monotonic() < expires:
            return False
        del self._unknown[key_id]
        return None

    def remember(self, key_id: uuid.UUID, exists: bool) -> None:
        if exists:
            self._unknown.pop(key_id, None)
            if len(self._known) >= self._max_known:
                del self._known[next(iter(self._known))]
            self._known[key_id] = None
            return
        if self._negative_ttl <= 0:
            return
        if len(self._unknown) >= self._max_unknown:
            del self._unknown[next(iter(self._unknown))]
        self._unknown[key_id] = self._monotonic() + self._negative_ttl

    def __len__(self) -> int:
        return len(self._known)
