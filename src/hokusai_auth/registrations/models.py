"""The registrations table, the single-use tokens mailed for it (email verification, the organization's claim
link), stored only as keyed digests.

One address has at most one registration that is pending or approved: a partial unique index holds it on both
SQLite and PostgreSQL, so two concurrent registrations of one address cannot both create a record. A rejected
registration does not count, so the company may register again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from hokusai._vocabulary import RegistrationStatus
from hokusai_auth.db.base import Base
from hokusai_auth.db.types import UTCDateTime
from hokusai_auth.limits import ACTOR_MAX, DISPLAY_NAME_MAX, EMAIL_MAX
from hokusai_auth.organizations.models import ORGANIZATION_NAME_MAX

# Sizes the request schemas accept and the columns store (see limits.py for why they are defined once).
CONTACT_NAME_MAX = DISPLAY_NAME_MAX
USE_CASE_MAX = 2000
WEBSITE_URL_MAX = 2048
REJECTION_REASON_MAX = 1000
DIGEST_LENGTH = 64  # hex HMAC-SHA256

# Statuses that hold an address: another registration of it answers as if new, and creates nothing.
HOLDING = (
    RegistrationStatus.PENDING_EMAIL_VERIFICATION,
    RegistrationStatus.PENDING_APPROVAL,
    RegistrationStatus.APPROVED,
)


def _in(column: str, values: tuple[RegistrationStatus, ...] | type[RegistrationStatus]) -> str:
    """``status IN ('pending_email_verification', ...)``: migration 0005 spells these out as they were then,
    so a new status needs a migration."""
    return f"{column} IN ({', '.join(repr(value.value) for value in values)})"


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint(_in("status", RegistrationStatus), name="status"),
        # keyset pagination of listings walks (created_at, id) newest first
        Index("ix_registrations_created_at_id", "created_at", "id"),
        Index("ix_registrations_contact_email", "contact_email"),
        Index(
            "uq_registrations_contact_email_holding",
            "contact_email",
            unique=True,
            sqlite_where=text(_in("status", HOLDING)),
            postgresql_where=text(_in("status", HOLDING)),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organization_name: Mapped[str] = mapped_column(String(ORGANIZATION_NAME_MAX))
    contact_email: Mapped[str] = mapped_column(String(EMAIL_MAX))  # normalized: see text_fields.normalize_email
    contact_name: Mapped[str] = mapped_column(String(CONTACT_NAME_MAX))
    use_case: Mapped[str] = mapped_column(Text)
    website_url: Mapped[str | None] = mapped_column(String(WEBSITE_URL_MAX), default=None)
    status: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(ACTOR_MAX), default=None)  # the audit log's actor
    rejection_reason: Mapped[str | None] = mapped_column(String(REJECTION_REASON_MAX), default=None)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="SET NULL"), default=None
    )


class RegistrationVerification(Base):
    """One verification link (24 h). A registration may have several (a repeated registration of an address
    still unverified mails a new one); verifying with any spends them all."""

    __tablename__ = "registration_verifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    registration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class OrganizationClaim(Base):
    """The one-time claim link (7 days) of an approved registration's organization."""

    __tablename__ = "organization_claims"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("registrations.id", ondelete="SET NULL"), default=None
    )
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    claimed_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
