"""Telling caches that a key changed. The instance that made the change applies it at once; other instances
hear of it through the channels registered here (Redis pub/sub, the database change feed)."""

from __future__ import annotations

import uuid
from typing import Protocol

from hokusai_auth.validation.cache import LocalKeyCache


class Channel(Protocol):
    async def publish(self, key_id: uuid.UUID, digest: str, version: int) -> None: ...


class Invalidator:
    def __init__(self, cache: LocalKeyCache) -> None:
        self._cache = cache
        self._channels: list[Channel] = []

    def add_channel(self, channel: Channel) -> None:
        self._channels.append(channel)

    async def key_changed(self, key_id: uuid.UUID, digest: str, version: int) -> None:
        self._cache.invalidate_digest(digest)
        for channel in self._channels:
            await channel.publish(key_id, digest, version)
