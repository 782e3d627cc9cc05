"""A Redis pub/sub subscription that survives: reconnects after errors, and notices a connection that went
silent (a ping every few seconds; no answer for a while means dead, even if the socket has not said so)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("hokusai_auth.subscription")
RESUBSCRIBE_DELAY_S = 0.5
PING_EVERY_S = 2.0
SILENCE_LIMIT_S = 6.0


class Subscription:
    def __init__(
        self,
        connect: Callable[[], Redis],
        channel: str,
        on_message: Callable[[bytes], None],
        *,
        on_resubscribe: Callable[[], None] | None = None,
    ) -> None:
        self._connect = connect
        self.channel = channel
        self._on_message = on_message
        self._on_resubscribe = on_resubscribe  # after a gap: messages may have been missed
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name=f"subscription:{self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()  # no database work here: waiting on a socket is safe to cancel
            await asyncio.gather(self._task, return_exceptions=True)

    async def _forever(self) -> None:
        first = True
        while True:
            connection = self._connect()
            pubsub = connection.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if not first and self._on_resubscribe is not None:
                    self._on_resubscribe()
                first = False
                self.subscribed.set()
                await self._pump(pubsub)
            except (RedisError, OSError) as exc:
                logger.warning("subscription to %s lost: %s", self.channel, type(exc).__name__)
            finally:
                self.subscribed.clear()
                for closer in (pubsub.aclose, connection.aclose):
                    with contextlib.suppress(RedisError, OSError):
                        await closer()
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
                    self._on_message(message["data"])
            if now - last_ping >= PING_EVERY_S:
                await pubsub.ping()
                last_ping = now
            if now - last_heard > SILENCE_LIMIT_S:
                raise OSError("subscription silent")
