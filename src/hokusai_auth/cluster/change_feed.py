"""Hearing about key changes from the database itself: the push channel that needs no Redis.

Every instance polls ``api_keys.updated_at`` (indexed) for rows changed in a trailing window and drops its local
copy of any key it holds at an older version. Without Redis this is how revocation, rotation and updates reach
every worker and every instance; with Redis it backs up pub/sub (polling slower while the subscription is
healthy). The window trails by ``OVERLAP`` so that transactions committing late and moderate clock skew between
instances (writers stamp updated_at with their own clock) are still seen; the version check makes re-reading
the same change harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from hokusai_auth.background import Periodic
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
        self._loop = Periodic("key-change-feed", self.poll_once, self._next_interval)
        self.polls = 0

    def _next_interval(self) -> float:
        return self._relaxed_interval if self._relaxed() else self._interval

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
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
