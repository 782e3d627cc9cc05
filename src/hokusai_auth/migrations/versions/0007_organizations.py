"""Organizations in full: plans, soft deletion, member bookkeeping, invitations, and keys that refer to them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hokusai_auth.db.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "role IN ('owner', 'admin', 'developer', 'viewer')"
PLANS = "billing_plan IN ('free', 'starter', 'pro', 'enterprise')"


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("billing_plan", sa.String(16), nullable=False, server_default="free"))
        batch.add_column(sa.Column("deleted_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE organizations SET updated_at = created_at")
    with op.batch_alter_table("organizations") as batch:
        batch.alter_column("updated_at", existing_type=UTCDateTime(), nullable=False)
        batch.alter_column("billing_plan", existing_type=sa.String(16), server_default=None)
        batch.create_check_constraint("billing_plan", PLANS)

    with op.batch_alter_table("organization_members") as batch:
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("invited_by", sa.Uuid(), nullable=True))
    op.execute("UPDATE organization_members SET updated_at = created_at")
    with op.batch_alter_table("organization_members") as batch:
        batch.alter_column("updated_at", existing_type=UTCDateTime(), nullable=False)

    op.create_table(
        "organization_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(ROLES, name=op.f("ck_organization_invitations_role")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_invitations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_invitations")),
        sa.UniqueConstraint("digest", name=op.f("uq_organization_invitations_digest")),
    )
    op.create_index(
        "uq_organization_invitations_organization_id_email",
        "organization_invitations",
        ["organization_id", "email"],
        unique=True,
    )

    # A key's organization_id was a free-standing column until now; a reference that names no organization
    # means nothing, so it is cleared before the foreign key makes such references impossible.
    op.execute(
        "UPDATE api_keys SET organization_id = NULL WHERE organization_id IS NOT NULL "
        "AND organization_id NOT IN (SELECT id FROM organizations)"
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.create_foreign_key(
            op.f("fk_api_keys_organization_id_organizations"), "organizations", ["organization_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("fk_api_keys_organization_id_organizations"), type_="foreignkey")
    op.drop_index("uq_organization_invitations_organization_id_email", table_name="organization_invitations")
    op.drop_table("organization_invitations")
    with op.batch_alter_table("organization_members") as batch:
        batch.drop_column("invited_by")
        batch.drop_column("updated_at")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_constraint(op.f("ck_organizations_billing_plan"), type_="check")
        batch.drop_column("deleted_at")
        batch.drop_column("billing_plan")
        batch.drop_column("updated_at")
