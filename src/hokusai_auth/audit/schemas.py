from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventOut(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    actor: str
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    organization_id: uuid.UUID | None
    client_ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, Any] | None
