"""The audit log becomes a hash chain: seq, actor_type, actor_id, prev_hash and hash on every event, and the
one-row audit_chain_head holding the chain's tip. Existing events are chained in (occurred_at, id) order.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from hokusai_auth.audit import chain  # a stored format: it never changes, so history may use it
from hokusai_auth.db.types import PortableJSON, UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR_TYPES = "actor_type IN ('admin', 'user', 'service', 'system')"
BATCH = 1000
CHAIN_COLUMNS = (
    ("seq", sa.BigInteger()),
    ("actor_type", sa.String(16)),
    ("actor_id", sa.String(255)),
    ("prev_hash", sa.String(64)),
    ("hash", sa.String(64)),
)
EVENTS = sa.table(
    "audit_events",
    *(
        sa.column(name, type_)
        for name, type_ in (
            ("id", sa.Uuid()),
            ("occurred_at", UTCDateTime()),
            ("actor", sa.String()),
            ("action", sa.String()),
            ("outcome", sa.String()),
            ("target_type", sa.String()),
            ("target_id", sa.String()),
            ("organization_id", sa.Uuid()),
            ("client_ip", sa.String()),
            ("user_agent", sa.String()),
            ("request_id", sa.String()),
            ("details", PortableJSON),
            *CHAIN_COLUMNS,
        )
    ),
)
HEAD = sa.table(
    "audit_chain_head",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.BigInteger()),
    sa.column("hash", sa.String()),
    sa.column("event_id", sa.Uuid()),
)


def _classify(actor: str) -> tuple[str, str | None]:
    """actor → (actor_type, actor_id) as when this revision was written (hokusai_auth/audit/actors.py)."""
    if actor == "anonymous":
        return "user", None
    kind, _, ident = actor.partition(":")
    if kind in ("admin", "service", "user"):
        return kind, ident or None
    return "system", None


def _chain_existing(connection: sa.Connection) -> None:
    """Chain every event in (occurred_at, id) order, a batch at a time, and set the head."""
    seq, prev_hash, last_id = 0, chain.GENESIS, None
    after: tuple[object, object] | None = None
    update = (
        EVENTS.update()
        .where(EVENTS.c.id == sa.bindparam("b_id"))
        .values(
            seq=sa.bindparam("b_seq"),
            actor_type=sa.bindparam("b_actor_type"),
            actor_id=sa.bindparam("b_actor_id"),
            prev_hash=sa.bindparam("b_prev_hash"),
            hash=sa.bindparam("b_hash"),
        )
    )
    while True:
        query = sa.select(EVENTS).order_by(EVENTS.c.occurred_at, EVENTS.c.id).limit(BATCH)
        if after is not None:
            moment, event_id = after
            query = query.where(
                sa.or_(
                    EVENTS.c.occurred_at > moment,
                    sa.and_(EVENTS.c.occurred_at == moment, EVENTS.c.id > event_id),
                )
            )
        rows = connection.execute(query).all()
        if not rows:
            break
        changes = []
        for row in rows:
            seq += 1
            actor_type, actor_id = _classify(row.actor)
            event = SimpleNamespace(**{**row._asdict(), "actor_type": actor_type, "actor_id": actor_id, "seq": seq})
            event_hash = chain.event_hash(prev_hash, event)
            changes.append(
                {
                    "b_id": row.id,
                    "b_seq": seq,
                    "b_actor_type": actor_type,
                    "b_actor_id": actor_id,
                    "b_prev_hash": prev_hash,
                    "b_hash": event_hash,
                }
            )
            prev_hash, last_id = event_hash, row.id
        connection.execute(update, changes)
        after = (rows[-1].occurred_at, rows[-1].id)
    connection.execute(HEAD.insert().values(id=1, seq=seq, hash=prev_hash, event_id=last_id))


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        for name, type_ in CHAIN_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))

    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )

    _chain_existing(op.get_bind())

    with op.batch_alter_table("audit_events") as batch:
        for name, type_ in CHAIN_COLUMNS:
            if name != "actor_id":
                batch.alter_column(name, existing_type=type_, nullable=False)
        batch.create_unique_constraint(op.f("uq_audit_events_seq"), ["seq"])
        batch.create_check_constraint(op.f("ck_audit_events_actor_type"), ACTOR_TYPES)


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("ck_audit_events_actor_type"), type_="check")
        batch.drop_constraint(op.f("uq_audit_events_seq"), type_="unique")
        for name, _ in reversed(CHAIN_COLUMNS):
            batch.drop_column(name)
