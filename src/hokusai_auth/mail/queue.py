"""The outbox's statements: claiming due messages, recording outcomes, listing, retrying. Used by the sender
(mail/sender.py) and by ``hokusai-auth outbox``, which needs no transport.

Claiming is what keeps two senders (two instances, or two workers) from sending one message at once: a claim is
a conditional UPDATE that sets ``locked_until`` only where no live claim exists, and returns the rows it took.
On PostgreSQL the candidates are first read with ``FOR UPDATE SKIP LOCKED``, so concurrent senders take
different rows instead of queueing behind each other; SQLite serialises writers (``BEGIN IMMEDIATE``) and the
UPDATE's condition decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.mail.models import OutboxMessage

LISTED_STATUSES = ("pending", "failed")


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
    )


async def any_due(session: AsyncSession, now: datetime) -> bool:
    """A read without locks: most looks find nothing due, and need not take SQLite's write lock to learn it."""
    found = await session.scalar(select(OutboxMessage.id).where(_due(now)).limit(1))
    return found is not None


async def claim(session: AsyncSession, now: datetime, until: datetime, limit: int) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages, oldest due first, until ``until``; the rows taken."""
    candidates = (
        select(OutboxMessage.id)
        .where(_due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has no row locks and renders nothing
    )
    ids = list((await session.scalars(candidates)).all())
    if not ids:
        return []
    taken = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _due(now))
        .values(locked_until=until)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    rows = list((await session.scalars(taken)).all())
    rows.sort(key=lambda row: (row.next_attempt_at, row.id))
    return rows


async def release(session: AsyncSession, ids: Sequence[uuid.UUID], until: datetime) -> None:
    """Give back claims not used (the sender is stopping, or ran out of time): due again at once, here or on
    another instance. Only claims still ours (``locked_until`` as we set it)."""
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.locked_until == until)
            .values(locked_until=None)
        )


async def record_sent(session: AsyncSession, message_id: uuid.UUID, now: datetime) -> None:
    """Sent: the bodies are erased. They may carry a verification or claim link, which must not outlive its
    delivery in clear; recipient, subject and kind stay for the record."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
        .values(
            status="sent",
            sent_at=now,
            attempts=OutboxMessage.attempts + 1,
            locked_until=None,
            last_error=None,
            text_body="",
            html_body="",
        )
    )


async def record_failure(
    session: AsyncSession, message_id: uuid.UUID, error: str, *, next_attempt_at: datetime | None
) -> None:
    """One more failed attempt: due again at ``next_attempt_at``, or ``failed`` when it is None."""
    values: dict[str, object] = {
        "attempts": OutboxMessage.attempts + 1,
        "locked_until": None,
        "last_error": error[:500],
    }
    if next_attempt_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = next_attempt_at
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == "pending").values(**values)
    )


async def retry(
    session: AsyncSession, now: datetime, ids: Sequence[uuid.UUID] | None = None, *, all_failed: bool = False
) -> list[uuid.UUID]:
    """Make messages due now with a fresh count of attempts: the given ``ids`` (failed or pending; sent ones are
    left alone), or every failed one. The ids changed."""
    if ids is None and not all_failed:
        raise ValueError("name the messages to retry, or ask for all failed ones")
    if ids is not None and not ids:
        return []
    which = (
        OutboxMessage.status == "failed"
        if ids is None
        else and_(OutboxMessage.id.in_(list(ids)), OutboxMessage.status.in_(LISTED_STATUSES))
    )
    changed = await session.scalars(
        update(OutboxMessage)
        .where(which)
        .values(status="pending", attempts=0, next_attempt_at=now)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(changed.all())


@dataclass(frozen=True, slots=True)
class Listed:
    """A message as listings show it: never its body."""

    id: uuid.UUID
    created_at: datetime
    kind: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None

    def to_json(self) -> dict[str, str | int | None]:
        return {
            "id": str(self.id),
            "created_at": _moment(self.created_at),
            "kind": self.kind,
            "recipient": self.recipient,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": _moment(self.next_attempt_at) if self.status == "pending" else None,
            "last_error": self.last_error,
        }


def _moment(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


async def listing(
    session: AsyncSession, statuses: Sequence[str] = LISTED_STATUSES, *, limit: int = 1000
) -> list[Listed]:
    rows = await session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.created_at,
            OutboxMessage.kind,
            OutboxMessage.recipient,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.next_attempt_at,
            OutboxMessage.last_error,
        )
        .where(OutboxMessage.status.in_(list(statuses)))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
    )
    return [Listed(*row) for row in rows.all()]


@dataclass(frozen=True, slots=True)
class Counts:
    pending: int = 0
    failed: int = 0
    oldest_pending: datetime | None = None


async def counts(session: AsyncSession) -> Counts:
    rows = await session.execute(
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_(LISTED_STATUSES))
        .group_by(OutboxMessage.status)
    )
    found = {status: (number, oldest) for status, number, oldest in rows.all()}
    pending, oldest = found.get("pending", (0, None))
    return Counts(pending=pending, failed=found.get("failed", (0, None))[0], oldest_pending=oldest)
