"""Periodic background work that stops between steps, never in the middle of one.

Cancelling a task while it waits on the database leaves the driver's work running (aiosqlite finishes it on its
own thread, then reports to an event loop that may be gone) and can cut a batch write in half. ``stop()`` lets
the current step finish, then runs ``final`` (e.g. one last flush) before returning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("hokusai_auth.background")


class Periodic:
    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[object]],
        interval: Callable[[], float],
        *,
        final: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.name = name
        self._step = step
        self._interval = interval
        self._final = final
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._final is not None:
            await self._final()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval())
            if self._stopping.is_set():
                return
            try:
                await self._step()
            except Exception:  # one failed step (database away) must not end the loop
                logger.warning("%s failed; will retry", self.name, exc_info=True)
