"""The organizations, organization_members and organization_invitations tables.

An organization is created by a signed-in user (who becomes its Owner) or by an approved registration (whose
claimant becomes its Owner). Organizations are never deleted from the database: ``DELETE`` marks one deleted,
ends its memberships and invitations and revokes its keys, so its keys, usage and audit events keep naming it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokusai._vocabulary import Plan
from hokusai_auth.db.base import Base
from hokusai_auth.db.types import UTCDateTime
from hokusai_auth.limits import EMAIL_MAX
from hokusai_auth.organizations.roles import Role

ORGANIZATION_NAME_MAX = 200
OWNER = Role.OWNER.value
ROLES = tuple(role.value for role in sorted(Role, key=lambda role: -role.rank))  # highest first
_ROLE_CHECK = f"role IN ({', '.join(repr(role) for role in ROLES)})"


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(f"billing_plan IN ({', '.join(repr(plan.value) for plan in Plan)})", name="billing_plan"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(ORGANIZATION_NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The plan the organization's keys are billed on (an operator's to change, like a key's billing_plan).
    billing_plan: Mapped[str] = mapped_column(String(16), default=Plan.FREE.value)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class OrganizationMember(Base):
    __tablename__ = "organization_members"
    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)  # fmt: skip
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)  # None: the creator or the claimant


class OrganizationInvitation(Base):
    """A pending invitation: the mailed token is stored only as its keyed digest. Accepted, revoked and replaced
    invitations are deleted (their story is in the audit log), so a row is always a usable invitation until
    ``expires_at``; at most one per (organization, email)."""

    __tablename__ = "organization_invitations"
    __table_args__ = (
        CheckConstraint(_ROLE_CHECK, name="role"),
        Index("uq_organization_invitations_organization_id_email", "organization_id", "email", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    role: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
