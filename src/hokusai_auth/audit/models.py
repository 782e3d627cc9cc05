"""The audit_events table: who did what to which target, from where, with what outcome. Never a secret."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokusai_auth.db.base import Base
from hokusai_auth.db.types import PortableJSON, UTCDateTime
from hokusai_auth.limits import ACTOR_MAX, CLIENT_IP_MAX, REQUEST_ID_MAX, USER_AGENT_MAX


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at_id", "occurred_at", "id"),
        Index("ix_audit_events_target_id_occurred_at", "target_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    target_type: Mapped[str | None] = mapped_column(String(32), default=None)
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True, default=None)
    client_ip: Mapped[str | None] = mapped_column(String(CLIENT_IP_MAX), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX), default=None)
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX), default=None)
    details: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, default=None)
