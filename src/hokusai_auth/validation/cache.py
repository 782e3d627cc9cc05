"""The in-process cache of key states, keyed by lookup digest.

Three facts per digest:
- fresh state (or "no such key") until ``ttl`` / ``negative_ttl`` runs out: a warm validation reads only this;
- after that, the state is stale but the entry still remembers which bcrypt hash the key was verified against,
  so a refresh costs one indexed query and no bcrypt (bcrypt at cost 12 is ~0.4 s of CPU per key);
- an invalidation epoch: a load that started before an invalidation must not put its (old) answer back.

Bounded: the oldest entries go first when ``max_entries`` is reached (a flood of random well-formed keys cannot
grow memory without limit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from hokusai_auth.validation.state import KeyState


class Miss(Enum):
    """Returned by ``get_fresh`` when the cache cannot answer (absent or stale): distinct from None, which is a
    fresh answer of its own ("no key has this digest")."""

    MISS = 0


@dataclass(slots=True)
class _Entry:
    state: KeyState | None  # None: no key has this digest
    fresh_until: float
    invalidated: bool = False  # told it changed: the old state must not be served even when the database is down
    min_version: int = 0  # told the key reached this version: anything older (e.g. a lagging shared entry) is stale


@dataclass(frozen=True, slots=True)
class Lookup:
    """A cache answer. Fresh entries are used as they are. A stale entry still says which bcrypt hash the key
    was verified against, and, unless it was invalidated, may stand in for the database while that is down."""

    state: KeyState | None
    fresh: bool
    invalidated: bool
    min_version: int = 0


class LocalKeyCache:
    def __init__(
        self,
        ttl: float,
        negative_ttl: float,
        *,
        max_entries: int = 200_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}
        self.epoch = 0

    def get(self, digest: str) -> Lookup | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        return Lookup(entry.state, self._monotonic() < entry.fresh_until, entry.invalidated, entry.min_version)

    def get_fresh(self, digest: str) -> KeyState | Miss | None:
        """The hot path: the fresh state, None for a fresh "no such key", Miss.MISS when it cannot say."""
        entry = self._entries.get(digest)
        if entry is None or self._monotonic() >= entry.fresh_until:
            return Miss.MISS
        return entry.state

    def put(self, digest: str, state: KeyState | None) -> None:
        lifetime = self.negative_ttl if state is None else self.ttl
        current = self._entries.get(digest)
        floor = current.min_version if current is not None else 0
        if state is not None:
            newest_known = current.state.version if current is not None and current.state is not None else 0
            if state.version < max(floor, newest_known):
                return  # never replace a newer state with an older one
        if current is None and len(self._entries) >= self._max_entries:
            self._evict_oldest()
        self._entries[digest] = _Entry(state, self._monotonic() + lifetime, min_version=floor)

    def remember_verified(self, digest: str, state: KeyState) -> None:
        """A state read while the key was being changed (the epoch moved during the load): not to be served, not
        even while the database is down, but it says which hash the presented key was verified against, so the
        next load, which reads the state again, needs no second bcrypt. Never replaces a newer state."""
        current = self._entries.get(digest)
        if current is not None and current.state is not None and current.state.version > state.version:
            return
        if current is None and len(self._entries) >= self._max_entries:
            self._evict_oldest()
        floor = current.min_version if current is not None else 0
        self._entries[digest] = _Entry(state, 0.0, invalidated=True, min_version=floor)

    def invalidate_digest(self, digest: str, version: int = 0) -> None:
        """The key changed (to ``version``, when known): its state must be read again, and nothing older than
        ``version`` may be accepted for it. The entry stays, remembering which hash the key was verified with.

        A digest not held here is remembered too (a stale marker with the version floor, bounded like every
        entry): otherwise a first lookup right after the change could take an older state from the shared cache,
        which another instance may not have updated yet (Redis paused while it published)."""
        self.epoch += 1
        entry = self._entries.get(digest)
        if entry is None:
            if version > 0:
                if len(self._entries) >= self._max_entries:
                    self._evict_oldest()
                self._entries[digest] = _Entry(None, 0.0, invalidated=True, min_version=version)
            return
        if entry.state is not None and entry.state.version >= version > 0:
            return  # we already hold that version (typically: our own change, echoed back by the bus)
        entry.fresh_until = 0.0
        entry.invalidated = True
        entry.min_version = max(entry.min_version, version)

    def __len__(self) -> int:
        return len(self._entries)

    def _evict_oldest(self) -> None:
        del self._entries[next(iter(self._entries))]
