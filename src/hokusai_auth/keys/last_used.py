"""last_used_at, written in batches: a validation only notes the time in memory; a background task writes the
newest time per key every few seconds and once more on shutdown. Nothing is written on the request path."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from hokusai_auth.background import Periodic
from hokusai_auth.db.engine import Database
from hokusai_auth.keys import repository

logger = logging.getLogger("hokusai_auth.last_used")


class LastUsedRecorder:
    def __init__(self, database: Database, interval: float) -> None:
        self._db = database
        self._pending: dict[uuid.UUID, datetime] = {}
        self._loop = Periodic("last-used-flush", self.flush, lambda: interval, final=self.flush)

    def touch(self, key_id: uuid.UUID, when: datetime) -> None:
        self._pending[key_id] = when

    async def flush(self) -> int:
        if not self._pending:
            return 0
        batch, self._pending = self._pending, {}
        try:
            async with self._db.writer.begin() as session:
                await repository.record_last_used(session, sorted(batch.items()))
        except (SQLAlchemyError, OSError):
            logger.warning("could not write last_used_at; will retry", exc_info=True)
            for key_id, when in batch.items():  # keep the newest of what failed and what came since
                if key_id not in self._pending or self._pending[key_id] < when:
                    self._pending[key_id] = when
            return 0
        return len(batch)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        """Let a running flush finish, then flush what is left (graceful shutdown loses nothing)."""
        await self._loop.stop()
