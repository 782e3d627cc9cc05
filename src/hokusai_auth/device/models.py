"""The device_authorizations table: one row per device sign-in, from the command line's request to its session.

Both codes are stored only as keyed digests (codes.py). A row moves ``pending`` → ``approved`` or ``denied`` (by a
signed-in user) → ``consumed`` (the session was handed out, once); past ``expires_at`` it answers nothing but
``expired_token`` whatever its status. Rows are deleted a day after they expire (repository.forget_old), which
also frees their user codes: the user code is unique over every row kept.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokusai_auth.db.base import Base
from hokusai_auth.db.types import UTCDateTime
from hokusai_auth.limits import CLIENT_IP_MAX, USER_AGENT_MAX

CLIENT_NAME_MAX = 100
DIGEST_LENGTH = 64  # hex HMAC-SHA256


class DeviceStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CONSUMED = "consumed"


def _statuses() -> str:
    """``status IN ('pending', ...)``: migration 0008 spells these out as they were then."""
    return f"status IN ({', '.join(repr(status.value) for status in DeviceStatus)})"


class DeviceAuthorization(Base):
    __tablename__ = "device_authorizations"
    __table_args__ = (CheckConstraint(_statuses(), name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    device_code_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    user_code_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    # Who asked: what the approval page shows, so a person can tell their own terminal from someone else's.
    client_name: Mapped[str | None] = mapped_column(String(CLIENT_NAME_MAX), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(CLIENT_IP_MAX), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    interval: Mapped[int] = mapped_column(Integer)  # seconds between polls; grows by 5 at each slow_down
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The user who approved or denied it, and when.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
