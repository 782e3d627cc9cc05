"""Hearing of sessions ended and users changed on other instances, from the database.

Polls ``user_sessions.updated_at`` and ``users.updated_at`` (both indexed) every CHANGE_FEED_INTERVAL (0.5 s by
default) for rows changed since the last successful poll, less an overlap for late commits and clock skew, and
tells the session cache to forget them. This is what makes a logout, a revoked session or a disabled user reach
every instance within a second with or without Redis; the instance that made the change forgets at once.
Keys of a disabled user travel with the key changes (propagation/), as any key change does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hokusai_auth.background import Periodic
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.sessions import repository
from hokusai_auth.sessions.states import SessionStates

OVERLAP = timedelta(seconds=10)


class SessionFeed:
    def __init__(self, database: Database, states: SessionStates, clock: Clock, *, interval: float) -> None:
        self._db = database
        self._states = states
        self._clock = clock
        self._covered_from: datetime | None = None
        self._seen: set[tuple[str, object, datetime]] = set()  # what the last poll applied (the overlap re-reads it)
        self._loop = Periodic("session-change-feed", self.poll_once, lambda: interval)
        self.polls = 0

    async def poll_once(self) -> int:
        """Forget what changed in the window; the number of changes applied for the first time."""
        started = self._clock.now()
        since = (started if self._covered_from is None else self._covered_from) - OVERLAP
        async with self._db.reader() as session:
            sessions = await repository.sessions_changed_since(session, since)
            users = await repository.users_changed_since(session, since)
        seen: set[tuple[str, object, datetime]] = set()
        applied = 0
        for session_id, updated_at in sessions:
            seen.add(("session", session_id, updated_at))
            if ("session", session_id, updated_at) not in self._seen:
                self._states.session_changed(session_id)
                applied += 1
        for user_id, updated_at in users:
            seen.add(("user", user_id, updated_at))
            if ("user", user_id, updated_at) not in self._seen:
                self._states.user_changed(user_id)
                applied += 1
        self._seen = seen
        self._covered_from = started
        self.polls += 1
        return applied

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
