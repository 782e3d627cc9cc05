"""Invalidation messages between instances over Redis pub/sub, and the replay of what could not be sent.

The instance that changes a key writes the new state to the shared cache and publishes
``{"digest", "key_id", "version"}``; every instance drops its local copy when the message arrives (milliseconds).
If Redis is down at that moment, the change is remembered and replayed (shared entry deleted, message
published) as soon as Redis answers again; in the meantime the database change feed carries it (see
change_feed.py). The subscription proves itself with a heartbeat (heartbeat.py): while it is in doubt the change
feed polls fast, which is also why a subscriber that reconnects keeps its local entries (heartbeat.py says why).
"""

from __future__ import annotations

import logging
import uuid

import orjson

from hokusai_auth.cluster.heartbeat import HEARTBEAT_CHANNEL, Heartbeat
from hokusai_auth.cluster.link import RedisDown, RedisLink
from hokusai_auth.cluster.subscription import Subscription
from hokusai_auth.propagation.shared_cache import SharedKeyCache
from hokusai_auth.validation.cache import LocalKeyCache
from hokusai_auth.validation.state import KeyState

logger = logging.getLogger("hokusai_auth.invalidation")
CHANNEL = "invalidate"


class RedisInvalidationBus:
    def __init__(self, link: RedisLink, shared: SharedKeyCache, local: LocalKeyCache) -> None:
        self._link = link
        self._shared = shared
        self._local = local
        self.channel = link.key(CHANNEL)
        self._unsent: dict[str, tuple[uuid.UUID, int]] = {}  # digest -> (key id, version) not yet published
        # A channel of this instance's own: only its own heartbeats come back to it.
        self.heartbeat = Heartbeat(link, link.key(HEARTBEAT_CHANNEL, uuid.uuid4().hex))
        self._subscription = Subscription(link.new_connection, self.channel, self._apply, heartbeat=self.heartbeat)
        self.subscribed = self._subscription.subscribed
        self.received = 0
        link.on_recovery(self._replay)

    async def publish(self, state: KeyState, digest: str) -> None:
        """After a committed change: share the new state and tell every instance."""
        message = orjson.dumps({"digest": digest, "key_id": str(state.key_id), "version": state.version})
        stored = await self._shared.put(digest, state)
        try:
            if not stored:
                raise RedisDown
            await self._link.call(lambda client: client.publish(self.channel, message))
        except RedisDown:
            self._unsent[digest] = (state.key_id, state.version)

    async def _replay(self) -> None:
        """Runs when Redis answers again, before it is used: stale shared entries go, missed messages go out."""
        client = self._link.client
        for digest, (key_id, version) in list(self._unsent.items()):
            await self._shared.delete(digest, client)
            message = orjson.dumps({"digest": digest, "key_id": str(key_id), "version": version})
            await client.publish(self.channel, message)
            self._unsent.pop(digest, None)

    def proven_since(self) -> float | None:
        """Since when a change published now has been sure to reach this instance; None while in doubt."""
        return self.heartbeat.proven_since()

    def start(self) -> None:
        self._subscription.start()
        self.heartbeat.start()

    async def stop(self) -> None:
        await self.heartbeat.stop()
        await self._subscription.stop()

    def _apply(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            self._local.invalidate_digest(str(message["digest"]), int(message["version"]))
            self.received += 1
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring a malformed invalidation message")
