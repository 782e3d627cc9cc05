"""The Redis connection and its health.

Redis is a performance and coordination aid, never a dependency of correctness: when it stops answering, the
link marks itself down after the first failure, callers skip Redis at once (no timeout per request), and a
monitor pings it until it answers again; then the recovery hooks run (re-subscribe, replay what could not be
published) before anyone relies on Redis again.

Stopping the loops of this package (recovery monitor, heartbeat, subscription): on Python 3.11 redis-py sends
every command under ``asyncio.wait_for``, which loses a cancellation that arrives just as the send completes
(CPython gh-86296, fixed in 3.12); the task then carries on as if nothing happened and whoever awaits it after
cancelling waits forever. So each loop also checks a flag that ``stop``/``close`` clears first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger("hokusai_auth.redis")
T = TypeVar("T")
RECHECK_INTERVAL_S = 0.5


class RedisDown(Exception):
    """Redis did not answer (or is known to be down); the caller falls back."""


class RedisLink:
    def __init__(self, url: str, *, prefix: str, timeout: float = 0.25) -> None:
        self.prefix = prefix
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # fail fast: the caller has a fallback, a retry only adds latency
            health_check_interval=0,
        )
        self._url = url
        self._timeout = timeout
        self.up = True
        self._recovery_hooks: list[Callable[[], Awaitable[None]]] = []
        self._monitor: asyncio.Task[None] | None = None
        self._closed = False

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def on_recovery(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._recovery_hooks.append(hook)

    async def call(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """Run ``operation``; raise RedisDown at once while Redis is known to be down, or when it fails now."""
        if not self.up:
            raise RedisDown
        try:
            return await operation(self.client)
        except (RedisError, OSError, TimeoutError) as exc:
            self.mark_down(exc)
            raise RedisDown from exc

    def mark_down(self, exc: BaseException | None = None) -> None:
        if self.up:
            logger.warning("redis unavailable, continuing without it: %s", type(exc).__name__ if exc else "")
        self.up = False
        if self._closed:
            return
        if self._monitor is None or self._monitor.done():
            self._monitor = asyncio.create_task(self._watch(), name="redis-recovery")

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout * 4):
                return bool(await self.client.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    async def _watch(self) -> None:
        while not await self.ping():  # polling a remote server, not waiting on a local event
            if self._closed:
                return
            await asyncio.sleep(RECHECK_INTERVAL_S)
        if self._closed:
            return
        for hook in self._recovery_hooks:
            try:
                await hook()
            except Exception:  # a failed hook must not keep Redis marked down forever
                logger.exception("redis recovery hook failed")
        self.up = True
        logger.warning("redis available again")

    async def close(self) -> None:
        self._closed = True
        if self._monitor is not None:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
        await self.client.aclose()

    def new_connection(self, **kwargs: Any) -> Redis:
        """A separate client (for the pub/sub subscription, which holds its connection)."""
        return Redis.from_url(self._url, socket_connect_timeout=self._timeout, retry=Retry(NoBackoff(), 0), **kwargs)
