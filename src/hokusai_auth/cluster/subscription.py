"""A Redis pub/sub subscription that survives: reconnects after errors, and replaces a connection that went
silent (a ping every second; nothing heard for three seconds means dead, even if the socket has not said so).

``subscribed`` is set once Redis has confirmed every channel, not when the command was sent. With a
``Heartbeat`` (heartbeat.py) the subscription also listens on the heartbeat's channel and tells it at once when
the connection is lost; the heartbeat, not this class, says whether a message published now would reach us.
Reconnecting is slower than that verdict on purpose: a stalled Redis that resumes delivers everything on the
connection it already has, while a new connection misses what is published before it is confirmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from hokusai_auth.cluster.heartbeat import Heartbeat

logger = logging.getLogger("hokusai_auth.subscription")
RESUBSCRIBE_DELAY_S = 0.5
PING_EVERY_S = 1.0
SILENCE_LIMIT_S = 3.0
_WAIT_S = 0.5  # longest wait for one message, so pings and the silence check still run on a quiet channel


class Subscription:
    def __init__(
        self,
        connect: Callable[[], Redis],
        channel: str,
        on_message: Callable[[bytes], None],
        *,
        on_resubscribe: Callable[[], None] | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self._connect = connect
        self.channel = channel
        # The heartbeat's channel last: Redis confirms channels in order, so a heartbeat arriving proves the
        # invalidation channel is confirmed too.
        self._handlers: dict[str, Callable[[bytes], None]] = {channel: on_message}
        if heartbeat is not None:
            self._handlers[heartbeat.channel] = heartbeat.received
        self._heartbeat = heartbeat
        # After a gap messages may have been missed; for listeners with no other way to hear of them (the
        # validation stack has the database change feed and passes none).
        self._on_resubscribe = on_resubscribe
        self._confirmed_before = False
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running = False

    def start(self) -> None:
        self._running = True
        self._task = asyncio.create_task(self._forever(), name=f"subscription:{self.channel}")

    async def stop(self) -> None:
        self._running = False  # ends the loop even if Redis code loses the cancellation (link.py)
        if self._task is not None:
            self._task.cancel()  # no database work here: waiting on a socket is safe to cancel
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _forever(self) -> None:
        while self._running:
            connection = self._connect()
            pubsub = connection.pubsub()
            try:
                # Connecting sends CLIENT SETINFO and waits for the answer, which a hung server never gives.
                async with asyncio.timeout(SILENCE_LIMIT_S):
                    await pubsub.subscribe(*self._handlers)
                await self._pump(pubsub)
            except (RedisError, OSError) as exc:  # TimeoutError is an OSError
                logger.warning("subscription to %s lost: %s", self.channel, type(exc).__name__)
            finally:
                self.subscribed.clear()
                if self._heartbeat is not None:
                    self._heartbeat.subscription_lost()
                for closer in (pubsub.aclose, connection.aclose):
                    with contextlib.suppress(RedisError, OSError):
                        await closer()
            await asyncio.sleep(RESUBSCRIBE_DELAY_S)

    async def _pump(self, pubsub: Any) -> None:
        loop = asyncio.get_running_loop()
        last_ping = last_heard = loop.time()
        unconfirmed = set(self._handlers)
        while True:
            message = await pubsub.get_message(timeout=_WAIT_S)
            now = loop.time()
            if message is not None:
                last_heard = now
                kind = message.get("type")
                if kind == "message":
                    self._dispatch(_text(message["channel"]), message["data"])
                elif kind == "subscribe" and unconfirmed:
                    unconfirmed.discard(_text(message["channel"]))
                    if not unconfirmed:
                        self._confirmed()
            if now - last_ping >= PING_EVERY_S:
                await pubsub.ping()
                last_ping = now
            if now - last_heard > SILENCE_LIMIT_S:
                raise OSError("subscription silent")
            if not self._running:
                return

    def _confirmed(self) -> None:
        if self._confirmed_before and self._on_resubscribe is not None:
            self._on_resubscribe()
        self._confirmed_before = True
        self.subscribed.set()

    def _dispatch(self, channel: str, data: bytes) -> None:
        handler = self._handlers.get(channel)
        if handler is None:
            return
        try:
            handler(data)
        except Exception:  # one bad message must not end the subscription (the task would die with it)
            logger.exception("ignoring a message on %s that could not be applied", channel)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
