"""The users table. A wallet address is stored EIP-55 checksummed; lookups checksum what they are given first,
so addresses compare case-insensitively while the column keeps one spelling per address (unique)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokusai_auth.db.base import Base
from hokusai_auth.db.types import UTCDateTime
from hokusai_auth.limits import DISPLAY_NAME_MAX, EMAIL_MAX, WALLET_ADDRESS_LENGTH


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    wallet_address: Mapped[str | None] = mapped_column(String(WALLET_ADDRESS_LENGTH), unique=True, default=None)
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX), unique=True, default=None)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Every change bumps updated_at (indexed): instances poll it to hear of users disabled elsewhere.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
