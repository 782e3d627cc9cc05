"""Sessions and their refresh tokens. A refresh token is stored only as a keyed digest; each is single-use
(``used_at``), and presenting a used one ends its session (a stolen copy and the real one cannot both live)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokusai_auth.db.base import Base
from hokusai_auth.db.types import UTCDateTime
from hokusai_auth.limits import CLIENT_IP_MAX, USER_AGENT_MAX


class UserSession(Base):
    __tablename__ = "user_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Every change bumps updated_at (indexed): instances poll it to hear of sessions ended elsewhere.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the refresh token's horizon
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(CLIENT_IP_MAX), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX), default=None)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("user_sessions.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
