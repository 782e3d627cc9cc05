"""The siwe_nonces table: sign-in challenges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hokusai_auth.db.base import Base
from hokusai_auth.db.types import UTCDateTime
from hokusai_auth.limits import WALLET_ADDRESS_LENGTH


class SiweNonce(Base):
    """A sign-in challenge: single-use, bound to one address, short-lived. In the database so that every
    instance agrees on whether it was used (a conditional UPDATE consumes it exactly once)."""

    __tablename__ = "siwe_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    wallet_address: Mapped[str] = mapped_column(String(WALLET_ADDRESS_LENGTH))
    chain_id: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
