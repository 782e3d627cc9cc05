"""The organizations and organization_members tables, as small as the claim link needs them.

An approved registration creates its organization; the user who claims it becomes its Owner. The organizations
feature extends both tables (and keeps these columns): a member's role is one of the contract's four from the
start, so adding Admins, Developers and Viewers needs no change to the CHECK constraint.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokusai_auth.db.base import Base
from hokusai_auth.db.types import UTCDateTime

ORGANIZATION_NAME_MAX = 200
OWNER = "owner"
ROLES = (OWNER, "admin", "developer", "viewer")  # highest first


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(ORGANIZATION_NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrganizationMember(Base):
    __tablename__ = "organization_members"
    __table_args__ = (CheckConstraint(f"role IN ({', '.join(repr(role) for role in ROLES)})", name="role"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)  # fmt: skip
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
