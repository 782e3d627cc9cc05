"""The signing_keys table. Every instance signs with the newest key and verifies with any published one; a
retired key stays published until every token it signed has expired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hokusai_auth.db.base import Base
from hokusai_auth.db.types import UTCDateTime


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))  # "EdDSA" (Ed25519)
    public_key: Mapped[str] = mapped_column(String(64))  # base64url of the raw 32-byte public key
    private_key_sealed: Mapped[str] = mapped_column(Text)  # AES-GCM under a key derived from SECRET_KEY
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
