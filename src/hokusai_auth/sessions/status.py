"""What a bearer-token check needs to know about a session besides the token itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionStatus:
    user_id: uuid.UUID
    revoked: bool
    user_active: bool
    # (organization id, role) of each live organization the user is a member of, by organization id: a
    # membership change moves the user's updated_at, so the session feed reloads this on every instance.
    memberships: tuple[tuple[uuid.UUID, str], ...] = ()
