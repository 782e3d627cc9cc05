"""Device sign-in (RFC 8628): one row per request of a command line, its codes kept only as keyed digests.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hokusai_auth.db.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "status IN ('pending', 'approved', 'denied', 'consumed')"


def upgrade() -> None:
    op.create_table(
        "device_authorizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_code_digest", sa.String(64), nullable=False),
        sa.Column("user_code_digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("client_name", sa.String(100), nullable=True),
        sa.Column("client_ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", UTCDateTime(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("consumed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(STATUSES, name=op.f("ck_device_authorizations_status")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_device_authorizations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_authorizations")),
        sa.UniqueConstraint("device_code_digest", name=op.f("uq_device_authorizations_device_code_digest")),
        sa.UniqueConstraint("user_code_digest", name=op.f("uq_device_authorizations_user_code_digest")),
    )
    op.create_index("ix_device_authorizations_expires_at", "device_authorizations", ["expires_at"])
    op.create_index("ix_device_authorizations_user_id", "device_authorizations", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_device_authorizations_user_id", table_name="device_authorizations")
    op.drop_index("ix_device_authorizations_expires_at", table_name="device_authorizations")
    op.drop_table("device_authorizations")
