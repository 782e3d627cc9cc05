"""Writing audit events. Callers pass their own session so the event commits (or not) with the change itself.

``record`` does not add the event at once: it queues it on the session, and the session's ``before_commit``
appends the queued events to the hash chain (audit/chain.py) as the transaction commits:

1. flush the caller's own changes, so no row lock of theirs is waited for while the chain is held;
2. lock the chain's head row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the writer's ``BEGIN IMMEDIATE``
   already holds the database's single write lock);
3. give each queued event, in the order recorded, the next ``seq``, the previous ``hash`` as its ``prev_hash`` and
   its own ``hash``; insert them and move the head.

The head is locked only from there to the commit, so chain order is commit order, across any number of instances
sharing the database: one appender at a time, for the shortest time. A rollback (of the transaction, or of a
savepoint the event was recorded in) drops the queued events with the changes they describe.

The listeners are put on the recording session only (not on every Session of the process) the first time it
records. The events are not in the session before the commit: nothing may read back an event it just recorded in
the same transaction (nothing does; the audit log is read through the reader after commit).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from hokusai_auth.audit import chain
from hokusai_auth.audit.actors import classify
from hokusai_auth.audit.models import HEAD_ID, AuditChainHead, AuditEvent
from hokusai_auth.web.context import RequestContext

_QUEUE = "hokusai.audit_queue"


@dataclass(frozen=True, slots=True)
class _Queued:
    event: AuditEvent
    savepoint: SessionTransaction | None  # the innermost savepoint it was recorded in, if any


def record(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    action: str,
    at: datetime,
    outcome: str = "success",
    target_type: str | None = None,
    target_id: str | None = None,
    organization_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    actor_type, actor_id = classify(ctx.actor)
    row = AuditEvent(
        id=uuid.uuid4(),
        occurred_at=at,
        actor=ctx.actor,
        actor_type=actor_type.value,
        actor_id=actor_id,
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=target_id,
        organization_id=organization_id,
        client_ip=ctx.client_ip,
        user_agent=ctx.user_agent,
        request_id=ctx.request_id,
        # Stored as it will be hashed (and read back): e.g. 1.0 as 1 (chain.json_value). Refused here, at the
        # call, if it cannot be stored at all.
        details=chain.json_value(details),
    )
    _queue(session.sync_session).append(_Queued(row, session.sync_session.get_nested_transaction()))


def _queue(session: Session) -> list[_Queued]:
    queue: list[_Queued] | None = session.info.get(_QUEUE)
    if queue is None:
        queue = session.info[_QUEUE] = []
        event.listen(session, "before_commit", _append_to_chain)
        event.listen(session, "after_soft_rollback", _drop_rolled_back)
        event.listen(session, "after_transaction_end", _drop_at_end)
    return queue


def _append_to_chain(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its events wait for the real commit
        return
    queue: list[_Queued] = session.info[_QUEUE]
    if not queue:
        return
    session.flush()
    events = [queued.event for queued in queue]
    queue.clear()
    seq, prev_hash = _lock_head(session)
    for row in events:
        seq += 1
        row.seq = seq
        row.prev_hash = prev_hash
        row.hash = prev_hash = chain.event_hash(prev_hash, row)
    session.add_all(events)
    session.flush()
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=seq, hash=prev_hash, event_id=events[-1].id)
        .execution_options(synchronize_session=False)
    )


def _lock_head(session: Session) -> tuple[int, str]:
    """The head's (seq, hash), locked until the commit. A missing head row (a database emptied by hand, tests
    that truncate) is put back from the last event, or at genesis when there is none."""
    locking = select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == HEAD_ID).with_for_update()
    head = session.execute(locking).first()
    if head is None:
        last = session.execute(
            select(AuditEvent.seq, AuditEvent.hash, AuditEvent.id).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        seq, hash_, event_id = (last.seq, last.hash, last.id) if last else (0, chain.GENESIS, None)
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(
            insert(AuditChainHead).values(id=HEAD_ID, seq=seq, hash=hash_, event_id=event_id).on_conflict_do_nothing()
        )
        head = session.execute(locking).one()  # another instance may have put it back first: theirs counts
    return int(head.seq), str(head.hash)


def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back: its events (and those of savepoints inside it) go with it."""
    if not previous.nested:
        return  # the whole transaction: _drop_at_end
    queue: list[_Queued] = session.info[_QUEUE]
    queue[:] = [queued for queued in queue if not _inside(queued.savepoint, previous)]


def _drop_at_end(session: Session, transaction: SessionTransaction) -> None:
    """The transaction is over (committed, rolled back or closed): nothing queued survives it."""
    if transaction.parent is None:
        session.info[_QUEUE].clear()


def _inside(savepoint: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is outer:
            return True
        savepoint = savepoint.parent
    return False
