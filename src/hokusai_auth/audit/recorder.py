"""Writing audit events. Callers pass their own session so the event commits (or not) with the change itself."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.audit.models import AuditEvent
from hokusai_auth.web.context import RequestContext


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
    session.add(
        AuditEvent(
            occurred_at=at,
            actor=ctx.actor,
            action=action,
            outcome=outcome,
            target_type=target_type,
            target_id=target_id,
            organization_id=organization_id,
            client_ip=ctx.client_ip,
            user_agent=ctx.user_agent,
            request_id=ctx.request_id,
            details=details,
        )
    )
