"""Applying a committed key change (``keys.changes.KeyChanges``): at once in this instance, then to every other
instance through the bus."""

from __future__ import annotations

from typing import Protocol

from hokusai_auth.validation.cache import LocalKeyCache
from hokusai_auth.validation.state import KeyState


class Bus(Protocol):
    async def publish(self, state: KeyState, digest: str) -> None: ...


class Invalidator:
    def __init__(self, cache: LocalKeyCache, bus: Bus | None = None) -> None:
        self._cache = cache
        self._bus = bus

    async def key_changed(self, state: KeyState, digest: str) -> None:
        """``state`` is the key as committed. This instance answers from it immediately; others hear of it over
        the bus (Redis) in milliseconds or from the database change feed within its poll interval."""
        self._cache.invalidate_digest(digest, state.version)
        self._cache.put(digest, state)
        if self._bus is not None:
            await self._bus.publish(state, digest)
