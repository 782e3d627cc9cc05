"""API keys and audit events.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hokusai_auth.db.types import PortableJSON, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("lookup_digest", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(72), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("service_id", sa.String(32), nullable=False),
        sa.Column("scopes", PortableJSON, nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("billing_plan", sa.String(16), nullable=False),
        sa.Column("rate_limit_per_hour", sa.Integer(), nullable=False),
        sa.Column("burst", sa.Integer(), nullable=True),
        sa.Column("monthly_prediction_limit", sa.BigInteger(), nullable=True),
        sa.Column("allowed_ips", PortableJSON, nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("rotated_from", sa.Uuid(), nullable=True),
        sa.Column("rotated_to", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "billing_plan IN ('free', 'starter', 'pro', 'enterprise')", name=op.f("ck_api_keys_billing_plan")
        ),
        sa.CheckConstraint(
            "environment IN ('production', 'test', 'development')", name=op.f("ck_api_keys_environment")
        ),
        sa.CheckConstraint("rate_limit_per_hour > 0", name=op.f("ck_api_keys_rate_limit_positive")),
        sa.ForeignKeyConstraint(
            ["rotated_from"], ["api_keys.id"], name=op.f("fk_api_keys_rotated_from_api_keys"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["rotated_to"], ["api_keys.id"], name=op.f("fk_api_keys_rotated_to_api_keys"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("lookup_digest", name=op.f("uq_api_keys_lookup_digest")),
    )
    op.create_index("ix_api_keys_created_at_id", "api_keys", ["created_at", "id"])
    op.create_index(op.f("ix_api_keys_organization_id"), "api_keys", ["organization_id"])
    op.create_index(op.f("ix_api_keys_service_id"), "api_keys", ["service_id"])
    op.create_index(op.f("ix_api_keys_updated_at"), "api_keys", ["updated_at"])
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=True),
        sa.Column("target_id", sa.String(64), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("client_ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("details", PortableJSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"])
    op.create_index(op.f("ix_audit_events_actor"), "audit_events", ["actor"])
    op.create_index("ix_audit_events_occurred_at_id", "audit_events", ["occurred_at", "id"])
    op.create_index(op.f("ix_audit_events_organization_id"), "audit_events", ["organization_id"])
    op.create_index("ix_audit_events_target_id_occurred_at", "audit_events", ["target_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("api_keys")
