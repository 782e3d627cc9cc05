"""Reading the audit log: listing events, and checking their hash chain."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from hokusai_auth import times
from hokusai_auth.audit.models import AuditEvent
from hokusai_auth.audit.schemas import AuditEventOut
from hokusai_auth.audit.verify import Verification, verify_chain
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import invalid_field


@dataclass(frozen=True)
class AuditFilter:
    target_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    organization_id: uuid.UUID | None = None


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEventOut]
    next_cursor: str | None


def _encode(event: AuditEvent) -> str:
    return base64.urlsafe_b64encode(f"{event.occurred_at.isoformat()}|{event.id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        moment, event_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|", 1)
        # A naive or far-off time is no cursor of ours: it would fail (500) when bound to the query.
        return times.parse(moment), uuid.UUID(event_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_field("cursor", "not a cursor returned by this endpoint", "query") from None


class AuditService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def list(self, flt: AuditFilter, limit: int, cursor: str | None) -> AuditPage:
        for name, moment in (("since", flt.since), ("until", flt.until)):
            if moment is None:
                continue
            try:  # the route's parameter type checks this too; again here for every other caller
                times.check(moment)
            except ValueError as exc:
                raise invalid_field(name, str(exc), "query") from None
        query = select(AuditEvent)
        if flt.target_id is not None:
            query = query.where(AuditEvent.target_id == flt.target_id)
        if flt.actor is not None:
            query = query.where(AuditEvent.actor == flt.actor)
        if flt.action is not None:
            query = query.where(AuditEvent.action == flt.action)
        if flt.since is not None:
            query = query.where(AuditEvent.occurred_at >= flt.since)
        if flt.until is not None:
            query = query.where(AuditEvent.occurred_at < flt.until)
        if flt.organization_id is not None:
            query = query.where(AuditEvent.organization_id == flt.organization_id)
        if cursor:
            moment, event_id = _decode(cursor)
            query = query.where(
                or_(AuditEvent.occurred_at < moment, and_(AuditEvent.occurred_at == moment, AuditEvent.id < event_id))
            )
        query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit + 1)
        async with self._db.reader() as session:
            rows = (await session.execute(query)).scalars().all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [AuditEventOut.model_validate(row, from_attributes=True) for row in rows]
        return AuditPage(items, _encode(rows[-1]) if more and rows else None)

    async def verify(self) -> Verification:
        return await verify_chain(self._db)
