"""The audit log as JSON Lines for a SIEM: every event in chain order, each line the canonical document (the
contract's fields plus seq, exactly as hashed) with its prev_hash and hash, so anyone can re-check the chain.

The export stops at the head read when it starts: a stable end, whatever is appended meanwhile. Unfiltered, its
last line's hash is the head's, the value to anchor elsewhere (docs/audit.md).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement

from hokusai_auth.audit import chain
from hokusai_auth.audit.models import AuditEvent
from hokusai_auth.audit.stream import BATCH, batches_in_order, read_head
from hokusai_auth.db.engine import Database


async def export_events(
    database: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    organization_id: uuid.UUID | None = None,
    batch: int = BATCH,
) -> AsyncIterator[dict[str, Any]]:
    """Events by seq: ``since`` inclusive, ``until`` exclusive (occurred_at), of one organization if given."""
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(AuditEvent.occurred_at >= since)
    if until is not None:
        where.append(AuditEvent.occurred_at < until)
    if organization_id is not None:
        where.append(AuditEvent.organization_id == organization_id)
    head = await read_head(database)
    async for rows in batches_in_order(database, up_to=head.seq if head else None, where=where, batch=batch):
        for row in rows:
            yield {**chain.document(row), "prev_hash": row.prev_hash, "hash": row.hash}
