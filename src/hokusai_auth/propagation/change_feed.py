"""Hearing about key changes from the database itself: the push channel that needs no Redis.

Every instance polls ``api_keys.updated_at`` (indexed) for rows changed since its last successful poll, less
``OVERLAP``, and drops its local copy of any key it holds at an older version. Without Redis this is how
revocation, rotation and updates reach every worker and every instance; with Redis it backs up pub/sub. The window
trails by ``OVERLAP`` so that transactions committing late and moderate clock skew between instances (writers
stamp updated_at with their own clock) are still seen; the version check makes re-reading a change harmless.

How often: every ``interval`` (CHANGE_FEED_INTERVAL) unless the Redis push is proven (heartbeat.py) and has been
for ``RELAX_AFTER_S``, with a poll started since; only then every ``relaxed_interval``. A relaxed feed still wakes
every ``TICK_S`` to look at the push, so when Redis falls into doubt it polls at once (if its last poll is older
than ``interval``) instead of finishing a long sleep. The worst cases per Redis failure are in heartbeat.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from hokusai_auth.background import Periodic
from hokusai_auth.clock import Clock
from hokusai_auth.cluster.heartbeat import RELAX_AFTER_S
from hokusai_auth.db.engine import Database
from hokusai_auth.keys import repository
from hokusai_auth.validation.cache import LocalKeyCache

logger = logging.getLogger("hokusai_auth.change_feed")
OVERLAP = timedelta(seconds=10)
TICK_S = 0.05  # how late a relaxed feed may notice that Redis fell into doubt
_EARLY_S = 0.001  # a wake-up this close to the due time counts as on time (sleeps are not exact)


class ChangeFeed:
    def __init__(
        self,
        database: Database,
        cache: LocalKeyCache,
        clock: Clock,
        *,
        interval: float,
        relaxed_interval: float | None = None,
        push_proven_since: Callable[[], float | None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._cache = cache
        self._clock = clock
        self._interval = interval
        self._relaxed_interval = max(relaxed_interval or interval, interval)
        self._push_proven_since = push_proven_since  # the Redis push's health, on the ``monotonic`` clock
        self._monotonic = monotonic
        self._last_attempt = float("-inf")  # monotonic start of the last poll, failed or not
        self._last_success: float | None = None  # monotonic start of the last poll that read the database
        self._covered_from: datetime | None = None  # wall-clock start of that poll: the next window starts there
        self._applied: dict[str, int] = {}  # digest -> newest version seen by the last poll
        self._loop = Periodic("key-change-feed", self._tick, self._sleep)
        self.polls = 0

    def relaxed(self) -> bool:
        """True while polls may be slow: the push proven for ``RELAX_AFTER_S`` and a poll started since."""
        since = self._push_proven_since()
        if since is None or self._last_success is None:
            return False
        return self._monotonic() - since >= RELAX_AFTER_S and self._last_success >= since

    def _due_in(self, relaxed: bool) -> float:
        period = self._relaxed_interval if relaxed else self._interval
        return self._last_attempt + period - self._monotonic()

    def _sleep(self) -> float:
        relaxed = self.relaxed()
        due_in = max(0.0, self._due_in(relaxed))
        # Fast polling can only become slower, which needs no early wake-up; a relaxed feed must notice doubt.
        return min(due_in, TICK_S) if relaxed else due_in

    async def _tick(self) -> None:
        if self._due_in(self.relaxed()) <= _EARLY_S:
            await self.poll_once()

    async def poll_once(self) -> int:
        """Apply changes in the window; the number of local entries dropped."""
        started, started_wall = self._monotonic(), self._clock.now()
        self._last_attempt = started
        covered = started_wall if self._covered_from is None else min(self._covered_from, started_wall)
        async with self._db.reader() as session:
            changes = await repository.changed_since(session, covered - OVERLAP)
        dropped = 0
        applied: dict[str, int] = {}
        for _key_id, digest, version in changes:
            applied[digest] = max(version, applied.get(digest, 0))
            known = self._cache.get(digest)
            outdated = known is not None and known.state is not None and known.state.version < version
            # A change seen for the first time is applied even to a key we do not hold: that moves the cache's
            # epoch, so a load that read the row before the change cannot store the old state after this poll.
            if outdated or self._applied.get(digest, 0) < version:
                self._cache.invalidate_digest(digest, version)
                dropped += int(outdated)
        self._applied = applied
        self._covered_from = started_wall
        self._last_success = started
        self.polls += 1
        return dropped

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
