"""Whether a session may still be used, answered from memory when warm.

Every bearer-token check (``/api/v1/tokens/validate``, a user's call to the key endpoints) asks this after the
token's signature and claims: the signature proves who issued the token, not that its session is still open.
A warm answer does no I/O; a miss reads the session and its user in one indexed query each.

Staleness is bounded by the change feed (sessions/feed.py): it polls for sessions ended and users changed on any
instance and forgets those entries, so a logout or a disabled user reaches every instance within its interval.
A load that began before such a change must not store its older answer: the epoch, moved by every change,
tells.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from hokusai_auth.db.engine import Database
from hokusai_auth.sessions import repository
from hokusai_auth.sessions.status import SessionStatus


@dataclass(slots=True)
class _Entry:
    status: SessionStatus | None  # None: no such session
    fresh_until: float


class SessionStates:
    def __init__(
        self,
        database: Database,
        *,
        ttl: float,
        max_entries: int = 200_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._ttl = ttl
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[uuid.UUID, _Entry] = {}
        self._by_user: dict[uuid.UUID, set[uuid.UUID]] = {}
        self._epoch = 0
        self.reads = 0  # tests count these: a warm check reads nothing

    async def status(self, session_id: uuid.UUID) -> SessionStatus | None:
        entry = self._entries.get(session_id)
        if entry is not None and self._monotonic() < entry.fresh_until:
            return entry.status
        epoch = self._epoch
        async with self._db.reader() as session:
            status = await repository.session_status(session, session_id)
        self.reads += 1
        if epoch == self._epoch:  # nothing changed while we read: the answer may be kept
            self._store(session_id, status)
        return status

    def _store(self, session_id: uuid.UUID, status: SessionStatus | None) -> None:
        if len(self._entries) >= self._max_entries:
            oldest = next(iter(self._entries))
            self._drop(oldest)
        self._entries[session_id] = _Entry(status, self._monotonic() + self._ttl)
        if status is not None:
            self._by_user.setdefault(status.user_id, set()).add(session_id)

    def _drop(self, session_id: uuid.UUID) -> None:
        entry = self._entries.pop(session_id, None)
        if entry is not None and entry.status is not None:
            sessions = self._by_user.get(entry.status.user_id)
            if sessions is not None:
                sessions.discard(session_id)
                if not sessions:
                    del self._by_user[entry.status.user_id]

    def session_changed(self, session_id: uuid.UUID) -> None:
        self._epoch += 1
        self._drop(session_id)

    def user_changed(self, user_id: uuid.UUID) -> None:
        self._epoch += 1
        for session_id in list(self._by_user.get(user_id, ())):
            self._drop(session_id)

    def __len__(self) -> int:
        return len(self._entries)
