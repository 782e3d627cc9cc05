"""Usage rollups, idempotency keys and flushed batches.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hokusai_auth.db.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported from usage.histogram: a migration must keep meaning what it meant when written.
LATENCY_COLUMNS = (
    "latency_le_1ms",
    "latency_le_2ms",
    "latency_le_5ms",
    "latency_le_10ms",
    "latency_le_20ms",
    "latency_le_50ms",
    "latency_le_100ms",
    "latency_le_200ms",
    "latency_le_500ms",
    "latency_le_1000ms",
    "latency_le_2000ms",
    "latency_le_5000ms",
    "latency_le_10000ms",
    "latency_over_10000ms",
)


def upgrade() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("bucket_start", UTCDateTime(), nullable=False),
        sa.Column("service_id", sa.String(32), nullable=False),
        sa.Column("endpoint", sa.String(255), nullable=False),
        sa.Column("status_class", sa.SmallInteger(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("predictions", sa.BigInteger(), nullable=False),
        sa.Column("compute_ms", sa.BigInteger(), nullable=False),
        sa.Column("response_time_ms_sum", sa.BigInteger(), nullable=False),
        sa.Column("response_time_ms_max", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in LATENCY_COLUMNS),
        sa.CheckConstraint("status_class BETWEEN 1 AND 5", name=op.f("ck_usage_rollups_status_class")),
        sa.PrimaryKeyConstraint(
            "key_id", "bucket_start", "service_id", "endpoint", "status_class", name=op.f("pk_usage_rollups")
        ),
    )
    op.create_index("ix_usage_rollups_bucket_start", "usage_rollups", ["bucket_start"])

    op.create_table(
        "usage_idempotency_keys",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "idempotency_key", name=op.f("pk_usage_idempotency_keys")),
    )
    op.create_index(op.f("ix_usage_idempotency_keys_recorded_at"), "usage_idempotency_keys", ["recorded_at"])

    op.create_table(
        "usage_flushes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("flushed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_flushes")),
    )
    op.create_index(op.f("ix_usage_flushes_flushed_at"), "usage_flushes", ["flushed_at"])


def downgrade() -> None:
    op.drop_table("usage_flushes")
    op.drop_table("usage_idempotency_keys")
    op.drop_table("usage_rollups")
