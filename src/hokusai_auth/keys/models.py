"""The api_keys table. The key itself is never stored: only its HMAC lookup digest and a bcrypt hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokusai._vocabulary import Environment, Plan
from hokusai_auth.db.base import Base
from hokusai_auth.db.types import PortableJSON, UTCDateTime


def _one_of(column: str, values: type[StrEnum]) -> str:
    """``environment IN ('production', 'test', 'development')``: the migrations spell these out, and
    tests/test_migrations.py checks they match, so a new member needs a migration."""
    return f"{column} IN ({', '.join(repr(value.value) for value in values)})"


class APIKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(_one_of("environment", Environment), name="environment"),
        CheckConstraint(_one_of("billing_plan", Plan), name="billing_plan"),
        CheckConstraint("rate_limit_per_hour > 0", name="rate_limit_positive"),
        # keyset pagination of listings walks (created_at, id) newest first
        Index("ix_api_keys_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    key_prefix: Mapped[str] = mapped_column(String(16))
    lookup_digest: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(72))

    # Owner: a user id (free-form string; "admin" for keys an operator creates) and, for organization keys,
    # the organization, which owns the key; user_id then names the member who created it.
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id"), index=True, default=None
    )

    service_id: Mapped[str] = mapped_column(String(32), index=True)
    scopes: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    environment: Mapped[str] = mapped_column(String(16))
    billing_plan: Mapped[str] = mapped_column(String(16), default=Plan.FREE.value)

    rate_limit_per_hour: Mapped[int] = mapped_column(default=1000)
    burst: Mapped[int | None] = mapped_column(default=None)
    monthly_prediction_limit: Mapped[int | None] = mapped_column(BigInteger, default=None)
    allowed_ips: Mapped[list[str] | None] = mapped_column(PortableJSON, default=None)

    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Every change bumps updated_at and version: instances poll updated_at to catch changes they were not
    # told about, and caches refuse to replace a newer version of a key's state with an older one.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    version: Mapped[int] = mapped_column(default=1)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # When the key stopped working by revocation or rotation; during a rotation grace period, a future time.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    rotated_from: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("api_keys.id", ondelete="SET NULL"), default=None
    )
    rotated_to: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("api_keys.id", ondelete="SET NULL"), default=None
    )
