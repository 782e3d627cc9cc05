"""How the key service tells the rest of the process that a key changed, without knowing who listens: after the
change committed, ``key_changed`` with the key as committed. The cache invalidation implements it
(propagation/invalidation.py: this instance's cache at once, the other instances over Redis)."""

from __future__ import annotations

from typing import Protocol

from hokusai_auth.validation.state import KeyState


class KeyChanges(Protocol):
    async def key_changed(self, state: KeyState, digest: str) -> None: ...
