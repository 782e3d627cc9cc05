"""Reading the audit log in chain order, in bounded memory: what verification and export walk.

Events are read by ``seq`` in batches (keyset pagination on the unique seq index), each batch in a short read of
its own and yielded after it, so neither a large log nor a slow consumer holds a transaction or much memory.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, select

from hokusai_auth.audit import chain
from hokusai_auth.audit.models import HEAD_ID, AuditChainHead, AuditEvent
from hokusai_auth.db.engine import Database

BATCH = 500
_COLUMNS = (*(getattr(AuditEvent, name) for name in chain.FIELDS), AuditEvent.prev_hash, AuditEvent.hash)
# What a column that does not read as its type raises (SQLite keeps any text in any column).
_UNREADABLE = (ValueError, TypeError)


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    event_id: uuid.UUID | None


class UnreadableEvent(Exception):
    """An event whose columns cannot be read as an event: its seq and, when that much reads, its id."""

    def __init__(self, seq: int | None, event_id: uuid.UUID | None) -> None:
        super().__init__(f"audit event at seq {seq} cannot be read")
        self.seq = seq
        self.event_id = event_id


async def read_head(database: Database) -> Head | None:
    query = select(AuditChainHead.seq, AuditChainHead.hash, AuditChainHead.event_id).where(AuditChainHead.id == HEAD_ID)
    async with database.reader() as session:
        row = (await session.execute(query)).first()
    return None if row is None else Head(int(row.seq), str(row.hash), row.event_id)


async def first_after(database: Database, seq: int) -> tuple[int, uuid.UUID | None] | None:
    """The first event after ``seq``: its (seq, id)."""
    query = select(AuditEvent.seq).where(AuditEvent.seq > seq).order_by(AuditEvent.seq).limit(1)
    async with database.reader() as session:
        found = (await session.execute(query)).scalar()
    return None if found is None else (int(found), await _id_at(database, int(found)))


async def _id_at(database: Database, seq: int) -> uuid.UUID | None:
    async with database.reader() as session:
        try:
            found: uuid.UUID | None = (
                await session.execute(select(AuditEvent.id).where(AuditEvent.seq == seq))
            ).scalar()
        except _UNREADABLE:
            return None
        return found


async def batches_in_order(
    database: Database,
    *,
    up_to: int | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    batch: int = BATCH,
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Every event with seq ≤ ``up_to`` that matches ``where``, by seq, ``batch`` at a time. An event that cannot
    be read raises UnreadableEvent once the readable ones before it have been yielded."""
    after: int | None = None
    size = batch
    while True:
        conditions = list(where)
        if after is not None:
            conditions.append(AuditEvent.seq > after)
        if up_to is not None:
            conditions.append(AuditEvent.seq <= up_to)
        unreadable: int | None = None
        async with database.reader() as session:
            try:
                rows = (
                    await session.execute(select(*_COLUMNS).where(*conditions).order_by(AuditEvent.seq).limit(size))
                ).all()
            except _UNREADABLE:
                if size > 1:  # find it: one at a time from here, so the readable ones before it still count
                    size = 1
                    continue
                rows = []
                unreadable = (
                    await session.execute(select(AuditEvent.seq).where(*conditions).order_by(AuditEvent.seq).limit(1))
                ).scalar()
        if unreadable is not None:
            raise UnreadableEvent(unreadable, await _id_at(database, unreadable))
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = int(rows[-1].seq)
