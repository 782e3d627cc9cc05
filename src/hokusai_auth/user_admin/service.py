"""Operators disabling and enabling users.

Disabling a user ends every session they have and stops every key they own, on every instance within a second:
the sessions through the session change feed (sessions/feed.py), the keys as any key change travels (each key
moves to a new version, caches reload it and find its owner disabled: ``user_disabled``). Enabling reverses the
keys; ended sessions stay ended. Above users, keys and sessions, because it changes all three in one transaction.
"""

from __future__ import annotations

import uuid

from hokusai._vocabulary import Failure
from hokusai_auth.audit import recorder
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import not_found
from hokusai_auth.keys import repository as keys
from hokusai_auth.keys.changes import KeyChanges
from hokusai_auth.keys.store import state_of
from hokusai_auth.sessions import repository as sessions
from hokusai_auth.sessions.states import SessionStates
from hokusai_auth.users import repository
from hokusai_auth.users.models import User
from hokusai_auth.users.service import USER_NOT_FOUND
from hokusai_auth.web.context import RequestContext


class UserAdministration:
    def __init__(
        self, *, database: Database, clock: Clock, key_changes: KeyChanges, session_states: SessionStates
    ) -> None:
        self._db = database
        self._clock = clock
        self._key_changes = key_changes
        self._session_states = session_states

    async def set_active(self, user_id: uuid.UUID, active: bool, ctx: RequestContext) -> User:
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            user = await repository.get(session, user_id, for_update=True)
            if user is None:
                raise not_found(USER_NOT_FOUND)
            if user.is_active == active:
                return user
            user.is_active = active
            user.updated_at = now
            ended = 0 if active else await sessions.end_all_of_user(session, user_id, Failure.USER_DISABLED, now)
            touched = await keys.touch_owned_by(session, str(user_id), now)
            states = [(state_of(row, owner_active=active), row.lookup_digest) for row in touched]
            recorder.record(
                session,
                ctx,
                action="user.enable" if active else "user.disable",
                at=now,
                target_type="user",
                target_id=str(user_id),
                details={"sessions_ended": ended, "keys_affected": len(touched)},
            )
        self._session_states.user_changed(user_id)
        for state, digest in states:
            await self._key_changes.key_changed(state, digest)
        return user
