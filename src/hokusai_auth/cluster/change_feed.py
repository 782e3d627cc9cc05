"""Hearing about key changes from the database itself: the push channel that needs no Redis.

Every instance polls ``api_keys.updated_at`` (indexed) for rows changed in a trailing window and drops its local
copy of any key it holds at an older version. Without Redis this is how revocation, rotation and updates reach
every worker and every instance; with Redis it backs up pub/sub (polling slower while the subscription is
healthy). The window trails by ``OVERLAP`` so that transactions committing late and moderate clock skew between
instances (writers stamp updated_at with their own clock) are still seen; the version check makes re-reading
the same change harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.keys import repository
from hokusai_auth.validation.cache import LocalKeyCache

logger = logging.getLogger("hokusai_auth.change_feed")
OVERLAP = timedelta(seconds=10)


class ChangeFeed:
    def __init__(
        self,
        database: Database,
        cache: LocalKeyCache,
        clock: Clock,
        *,
        interval: float,
        relaxed_interval: float | None = None,
        relaxed: Callable[[], bool] = lambda: False,
    ) -> None:
        self._db = database
        self._cache = cache
        self._clock = clock
        self._interval = interval
        self._relaxed_interval = relaxed_interval or interval
        self._relaxed = relaxed  # True while a faster channel (Redis pub/sub) is healthy
        self._task: asyncio.Task[None] | None = None
        self.polls = 0

    async def poll_once(self) -> int:
        """Apply changes in the window; the number of local entries dropped."""
        since = self._clock.now() - OVERLAP
        async with self._db.reader() as session:
            changes = await repository.changed_since(session, since)
        dropped = 0
        for _key_id, digest, version in changes:
            known = self._cache.get(digest)
            if known is not None and known.state is not None and known.state.version < version:
                self._cache.invalidate_digest(digest, version)
                dropped += 1
        self.polls += 1
        return dropped

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="key-change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._relaxed_interval if self._relaxed() else self._interval)
            try:
                await self.poll_once()
            except (SQLAlchemyError, OSError) as exc:
                logger.warning("change feed poll failed: %s", type(exc).__name__)
