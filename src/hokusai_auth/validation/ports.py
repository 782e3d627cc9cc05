"""What the validator needs from outside the hot path's core, as protocols the outer packages implement.

validation/ knows no database, Redis, usage or wiring. keys/ implements KeyStore (store.py), Digester (tokens.py),
Verifier (hashing.py) and LastUse (last_used.py); propagation/ implements SharedStates (shared_cache.py); usage/
implements Quota (quota.py); runtime.py plugs them into the Validator.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hokusai_auth.validation.rejection import Rejection
from hokusai_auth.validation.state import KeyState


class StoreUnavailable(Exception):
    """A store could not answer (the database is down or too slow). The validator answers 503, or serves a cached
    state that was never contradicted."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as stored: its state, and the bcrypt hash a presented key must match before the state is believed."""

    state: KeyState
    key_hash: str


class KeyStore(Protocol):
    async def find(self, digest: str) -> StoredKey | None:
        """The key with this lookup digest, or None. Raises StoreUnavailable."""
        ...


class Digester(Protocol):
    def digest(self, key: str) -> str:
        """The key's lookup digest (keyed, no I/O)."""
        ...


class Verifier(Protocol):
    async def verify(self, key: str, key_hash: str) -> bool:
        """Whether ``key`` matches its stored bcrypt hash (off the event loop)."""
        ...


class LastUse(Protocol):
    def touch(self, key_id: uuid.UUID, when: datetime) -> None:
        """Note a valid use; written later, in batches, never on the request path."""
        ...


class SharedStates(Protocol):
    """States shared by every instance (Redis): asked on a local miss, before the store and bcrypt."""

    async def get(self, digest: str) -> KeyState | None: ...

    async def put(self, digest: str, state: KeyState) -> bool: ...


class Quota(Protocol):
    async def check(self, state: KeyState, now: datetime) -> Rejection | None:
        """The refusal once the key's allowance is used up, else None. Raises StoreUnavailable."""
        ...
