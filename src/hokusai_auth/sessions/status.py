"""What a bearer-token check needs to know about a session besides the token itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionStatus:
    user_id: uuid.UUID
    revoked: bool
    user_active: bool
