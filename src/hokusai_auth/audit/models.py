"""The audit_events table: who did what to which target, from where, with what outcome. Never a secret.

Events form a hash chain (audit/chain.py): ``seq`` numbers them in commit order, ``prev_hash`` is the previous
event's ``hash``. ``audit_chain_head`` is one row holding the chain's tip; the writer locks it to append
(audit/recorder.py), so it also serializes appends across every instance.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokusai_auth.audit.actors import ACTOR_TYPE_MAX, ActorType
from hokusai_auth.db.base import Base
from hokusai_auth.db.types import PortableJSON, UTCDateTime
from hokusai_auth.limits import ACTOR_MAX, CLIENT_IP_MAX, REQUEST_ID_MAX, USER_AGENT_MAX

HASH_LENGTH = 64  # SHA-256 in lower-case hex
HEAD_ID = 1


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at_id", "occurred_at", "id"),
        Index("ix_audit_events_target_id_occurred_at", "target_id", "occurred_at"),
        CheckConstraint(f"actor_type IN ({', '.join(repr(kind.value) for kind in ActorType)})", name="actor_type"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX), index=True)
    actor_type: Mapped[str] = mapped_column(String(ACTOR_TYPE_MAX))
    actor_id: Mapped[str | None] = mapped_column(String(ACTOR_MAX), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    target_type: Mapped[str | None] = mapped_column(String(32), default=None)
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True, default=None)
    client_ip: Mapped[str | None] = mapped_column(String(CLIENT_IP_MAX), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX), default=None)
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX), default=None)
    details: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, default=None)
    # The chain. The unique index on seq is also what verification and export walk.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditChainHead(Base):
    """The chain's tip: the last event's seq and hash (0 and the genesis hash when there is none yet). A deleted
    tail is found by comparing the last event with this row."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint(f"id = {HEAD_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
