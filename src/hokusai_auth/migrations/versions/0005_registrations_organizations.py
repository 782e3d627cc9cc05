"""Registrations and their verification tokens; organizations (minimal), their members and claim links.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hokusai_auth.db.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOLDING = "status IN ('pending_email_verification', 'pending_approval', 'approved')"


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )

    op.create_table(
        "organization_members",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'developer', 'viewer')", name=op.f("ck_organization_members_role")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_members_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_organization_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("organization_id", "user_id", name=op.f("pk_organization_members")),
    )
    op.create_index("ix_organization_members_user_id", "organization_members", ["user_id"])

    op.create_table(
        "registrations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=False),
        sa.Column("contact_name", sa.String(100), nullable=False),
        sa.Column("use_case", sa.Text(), nullable=False),
        sa.Column("website_url", sa.String(2048), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("email_verified_at", UTCDateTime(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("rejection_reason", sa.String(1000), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending_email_verification', 'pending_approval', 'approved', 'rejected')",
            name=op.f("ck_registrations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_registrations_organization_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
    )
    op.create_index("ix_registrations_created_at_id", "registrations", ["created_at", "id"])
    op.create_index("ix_registrations_contact_email", "registrations", ["contact_email"])
    op.create_index("ix_registrations_status", "registrations", ["status"])
    # One pending or approved registration per address; rejected ones do not count.
    op.create_index(
        "uq_registrations_contact_email_holding",
        "registrations",
        ["contact_email"],
        unique=True,
        sqlite_where=sa.text(HOLDING),
        postgresql_where=sa.text(HOLDING),
    )

    op.create_table(
        "registration_verifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_registration_verifications_registration_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_verifications")),
        sa.UniqueConstraint("digest", name=op.f("uq_registration_verifications_digest")),
    )
    op.create_index("ix_registration_verifications_registration_id", "registration_verifications", ["registration_id"])

    op.create_table(
        "organization_claims",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("registration_id", sa.Uuid(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_claims_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_organization_claims_registration_id_registrations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["users.id"], name=op.f("fk_organization_claims_claimed_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_claims")),
        sa.UniqueConstraint("digest", name=op.f("uq_organization_claims_digest")),
    )
    op.create_index("ix_organization_claims_organization_id", "organization_claims", ["organization_id"])


def downgrade() -> None:
    op.drop_index("ix_organization_claims_organization_id", table_name="organization_claims")
    op.drop_table("organization_claims")
    op.drop_index("ix_registration_verifications_registration_id", table_name="registration_verifications")
    op.drop_table("registration_verifications")
    op.drop_index("uq_registrations_contact_email_holding", table_name="registrations")
    op.drop_index("ix_registrations_status", table_name="registrations")
    op.drop_index("ix_registrations_contact_email", table_name="registrations")
    op.drop_index("ix_registrations_created_at_id", table_name="registrations")
    op.drop_table("registrations")
    op.drop_index("ix_organization_members_user_id", table_name="organization_members")
    op.drop_table("organization_members")
    op.drop_table("organizations")
