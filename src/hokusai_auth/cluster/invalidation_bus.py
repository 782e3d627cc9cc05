"""Invalidation messages between instances over Redis pub/sub, and the replay of what could not be sent.

The instance that changes a key writes the new state to the shared cache and publishes
``{"digest", "key_id", "version"}``; every instance drops its local copy when the message arrives (milliseconds).
If Redis is down at that moment, the change is remembered and replayed (shared entry deleted, message
published) as soon as Redis answers again; in the meantime the database change feed carries it (see
change_feed.py). A subscriber that lost its connection makes every local entry stale when it reconnects, since
it may have missed messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import orjson
from redis.exceptions import RedisError

from hokusai_auth.cluster.link import RedisDown, RedisLink
from hokusai_auth.cluster.shared_cache import SharedKeyCache
from hokusai_auth.validation.cache import LocalKeyCache
from hokusai_auth.validation.state import KeyState

logger = logging.getLogger("hokusai_auth.invalidation")
RESUBSCRIBE_DELAY_S = 0.5
PING_EVERY_S = 2.0
SILENCE_LIMIT_S = 6.0  # no pong for this long: the connection is dead even if the socket has not said so


class RedisInvalidationBus:
    def __init__(self, link: RedisLink, shared: SharedKeyCache, local: LocalKeyCache) -> None:
        self._link = link
        self._shared = shared
        self._local = local
        self.channel = link.key("invalidate")
        self._unsent: dict[str, tuple[uuid.UUID, int]] = {}  # digest -> (key id, version) not yet published
        self._listener: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
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

    def start(self) -> None:
        self._listener = asyncio.create_task(self._listen_forever(), name="redis-invalidation-listener")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    async def _listen_forever(self) -> None:
        first = True
        while True:
            connection = self._link.new_connection()
            pubsub = connection.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if not first:
                    self._local.expire_all()  # messages may have been missed while disconnected
                first = False
                self.subscribed.set()
                await self._pump(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                logger.warning("invalidation subscription lost: %s", type(exc).__name__)
            finally:
                self.subscribed.clear()
                await _close_quietly(pubsub, connection)
            await asyncio.sleep(RESUBSCRIBE_DELAY_S)

    async def _pump(self, pubsub: Any) -> None:
        loop = asyncio.get_running_loop()
        last_ping = last_heard = loop.time()
        while True:
            message = await pubsub.get_message(timeout=0.5)
            now = loop.time()
            if message is not None:
                last_heard = now
                if message.get("type") == "message":
                    self._apply(message)
            if now - last_ping >= PING_EVERY_S:
                await pubsub.ping()
                last_ping = now
            if now - last_heard > SILENCE_LIMIT_S:
                raise OSError("invalidation subscription silent")

    def _apply(self, message: dict[str, Any]) -> None:
        try:
            data = orjson.loads(message["data"])
            self._local.invalidate_digest(str(data["digest"]), int(data["version"]))
            self.received += 1
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring a malformed invalidation message")


async def _close_quietly(pubsub: Any, connection: Any) -> None:
    for closer in (pubsub.aclose, connection.aclose):
        with contextlib.suppress(RedisError, OSError):
            await closer()
