from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from hokusai_auth.audit.actors import ActorType
from hokusai_auth.audit.verify import Break
from hokusai_auth.choices import literal_of

ActorTypeChoice = Annotated[ActorType, literal_of(ActorType)]


class AuditEventOut(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    actor: str
    actor_type: ActorTypeChoice
    actor_id: str | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    organization_id: uuid.UUID | None
    client_ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, Any] | None


class ChainVerificationOut(BaseModel):
    ok: bool
    events_checked: int = Field(description="events read and checked, the first bad one included")
    first_bad_event_id: uuid.UUID | None = Field(
        description="the first event that breaks the chain (for events deleted at the end: the last one written)"
    )
    reason: str | None = Field(description=f"why ({', '.join(reason.value for reason in Break)}); null when ok")
    first_bad_seq: int | None = Field(description="that event's seq; null when ok")
    head_seq: int | None = Field(description="the chain's head when the check began: the last event's seq")
    head_hash: str | None = Field(description="and its hash: record it elsewhere to detect a rewrite later")
