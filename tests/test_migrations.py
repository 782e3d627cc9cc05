"""Migrations run unchanged, up and down, on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hokusai_auth.audit import recorder
from hokusai_auth.audit.models import AuditEvent
from hokusai_auth.audit.verify import verify_chain
from hokusai_auth.db import migrate
from hokusai_auth.db.engine import create_engine, open_database
from hokusai_auth.db.types import PortableJSON, UTCDateTime
from hokusai_auth.keys.models import APIKey
from hokusai_auth.organizations.models import Organization, OrganizationMember
from hokusai_auth.tables import metadata
from hokusai_auth.web.context import RequestContext
from tests.conftest import _pg_admin


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _diff(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata)
            )
    finally:
        await engine.dispose()


USAGE_TABLES = {"usage_rollups", "usage_idempotency_keys", "usage_flushes"}
IDENTITY_TABLES = {"users", "user_sessions", "refresh_tokens", "siwe_nonces", "signing_keys"}
MAIL_TABLES = {"mail_outbox"}
REGISTRATION_TABLES = {
    "registrations",
    "registration_verifications",
    "organizations",
    "organization_members",
    "organization_claims",
}
ORGANIZATION_TABLES = {"organization_invitations"}
DEVICE_TABLES = {"device_authorizations"}
TABLES = {
    "api_keys",
    "audit_events",
    *USAGE_TABLES,
    *IDENTITY_TABLES,
    *MAIL_TABLES,
    *REGISTRATION_TABLES,
    *ORGANIZATION_TABLES,
    *DEVICE_TABLES,
}


async def _round_trip(url: str) -> None:
    await migrate.upgrade(url)
    assert await migrate.current_revision(url) == migrate.head_revision()
    assert await _tables(url) >= TABLES
    assert await _diff(url) == [], "models and migrations agree"
    await migrate.downgrade(url, "0007")  # one step down removes device sign-in only
    remaining = await _tables(url)
    assert not DEVICE_TABLES & remaining
    assert remaining >= ORGANIZATION_TABLES
    await migrate.upgrade(url)  # and up again
    assert await _diff(url) == []
    await migrate.downgrade(url, "0006")  # one step down removes invitations and the organizations' new columns
    remaining = await _tables(url)
    assert not ORGANIZATION_TABLES & remaining
    assert remaining >= REGISTRATION_TABLES
    await migrate.upgrade(url)  # and up again: 0007 applies to what 0006 left
    assert await _diff(url) == []
    await migrate.downgrade(url, "0004")  # one step down removes registrations and organizations only
    remaining = await _tables(url)
    assert not REGISTRATION_TABLES & remaining
    assert remaining >= MAIL_TABLES
    await migrate.downgrade(url, "0003")  # the next removes the outbox only
    assert not MAIL_TABLES & await _tables(url)
    await migrate.downgrade(url, "0002")  # the next removes the identity tables only
    remaining = await _tables(url)
    assert remaining >= USAGE_TABLES
    assert not IDENTITY_TABLES & remaining
    await migrate.downgrade(url, "0001")  # one step down removes the usage tables only
    remaining = await _tables(url)
    assert {"api_keys", "audit_events"} <= remaining
    assert not USAGE_TABLES & remaining
    await migrate.upgrade(url)
    await migrate.downgrade(url, "base")
    assert await migrate.current_revision(url) is None
    assert not TABLES & await _tables(url)
    await migrate.upgrade(url)
    assert await migrate.current_revision(url) == migrate.head_revision()


async def test_sqlite_up_and_down(tmp_path: Path) -> None:
    await _round_trip(f"sqlite:///{tmp_path / 'm.db'}")


async def test_postgresql_up_and_down(pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    database = make_url(pg_url).database
    assert database is not None
    name = database + "_migrations"
    await _pg_admin(f'CREATE DATABASE "{name}"', pg_url)
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        await _round_trip(url)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', pg_url)


# The audit_events table as revision 0005 left it: before the hash chain.
EVENTS_0005 = sa.table(
    "audit_events",
    sa.column("id", sa.Uuid()),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("outcome", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column("details", PortableJSON),
)


async def _chain_existing_events(url: str) -> None:
    """Events written before the chain existed are chained by 0006 in (occurred_at, id) order, and verify."""
    await migrate.upgrade(url, "0005")
    start = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
    tied = sorted(uuid.uuid4() for _ in range(3))  # three events of one instant: ordered by id
    rows: list[dict[str, Any]] = [
        {"id": tied[2], "occurred_at": start, "actor": "anonymous", "details": None},
        {"id": uuid.uuid4(), "occurred_at": start + timedelta(seconds=5), "actor": "unknown", "details": {"n": 2.0}},
        {"id": tied[0], "occurred_at": start, "actor": "admin:0a1b2c3d", "details": {"name": "k", "ü": [1, 1e16]}},
        {"id": uuid.uuid4(), "occurred_at": start - timedelta(days=1), "actor": "service:gateway", "details": None},
        {"id": tied[1], "occurred_at": start, "actor": f"user:{uuid.uuid4()}", "details": {}},
    ]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                EVENTS_0005.insert(),
                [{**row, "action": "api_key.create", "outcome": "success", "target_id": "t"} for row in rows],
            )
    finally:
        await engine.dispose()

    await migrate.upgrade(url, "0006")
    database = open_database(url)
    try:
        verification = await verify_chain(database)
        assert (verification.ok, verification.events_checked) == (True, 5), verification
        async with database.reader() as session:
            chained = (await session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq))).scalars().all()
        assert [event.id for event in chained] == [rows[3]["id"], *tied, rows[1]["id"]]
        assert [(event.seq, event.actor_type) for event in chained] == [
            (1, "service"),
            (2, "admin"),
            (3, "user"),
            (4, "user"),
            (5, "system"),
        ]
        assert [event.actor_id for event in chained][:3] == ["gateway", "0a1b2c3d", rows[4]["actor"][5:]]
        async with database.writer.begin() as session:  # the service goes on from the migrated head
            recorder.record(session, RequestContext("admin:0a1b2c3d", None, None, None), action="x", at=start)
        verification = await verify_chain(database)
        assert (verification.ok, verification.events_checked) == (True, 6), verification
    finally:
        await database.dispose()
    await migrate.downgrade(url, "0005")  # and back: the events stay, the chain goes
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(sa.select(sa.func.count()).select_from(EVENTS_0005))).scalar() == 6
    finally:
        await engine.dispose()


async def test_existing_audit_events_are_chained_on_sqlite(tmp_path: Path) -> None:
    await _chain_existing_events(f"sqlite:///{tmp_path / 'chain.db'}")


async def test_existing_audit_events_are_chained_on_postgresql(pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    name = f"{make_url(pg_url).database}_chain"
    await _pg_admin(f'CREATE DATABASE "{name}"', pg_url)
    try:
        await _chain_existing_events(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', pg_url)


def _table(table_name: str, /, **columns: Any) -> sa.TableClause:
    return sa.table(table_name, *(sa.column(column, kind) for column, kind in columns.items()))


# The tables as revision 0006 left them, with just the columns written here.
ORGANIZATIONS_0006 = _table("organizations", id=sa.Uuid(), name=sa.String(), created_at=UTCDateTime())
USERS_0006 = _table("users", id=sa.Uuid(), is_active=sa.Boolean(), created_at=UTCDateTime(), updated_at=UTCDateTime())
MEMBERS_0006 = _table("organization_members", organization_id=sa.Uuid(), user_id=sa.Uuid(), role=sa.String(),
                      created_at=UTCDateTime())  # fmt: skip
KEYS_0006 = _table(
    "api_keys", id=sa.Uuid(), name=sa.String(), key_prefix=sa.String(), lookup_digest=sa.String(),
    key_hash=sa.String(), user_id=sa.String(), organization_id=sa.Uuid(), service_id=sa.String(),
    scopes=PortableJSON, environment=sa.String(), billing_plan=sa.String(), rate_limit_per_hour=sa.Integer(),
    is_active=sa.Boolean(), created_at=UTCDateTime(), updated_at=UTCDateTime(), version=sa.Integer(),
)  # fmt: skip


async def _organizations_of_0006_upgrade(url: str) -> None:
    """0007 gives existing organizations and members their new columns, and clears a key's organization_id that
    names no organization before the foreign key arrives (a claimed organization's key keeps its own)."""
    await migrate.upgrade(url, "0006")
    at = datetime(2026, 5, 1, tzinfo=UTC)
    organization, user, claimed_key, stray_key = (uuid.uuid4() for _ in range(4))
    key = {"name": "k", "key_prefix": "hk_live_abc***", "key_hash": "h", "user_id": "u", "service_id": "platform",
           "scopes": [], "environment": "production", "billing_plan": "free", "rate_limit_per_hour": 1000,
           "is_active": True, "created_at": at, "updated_at": at, "version": 1}  # fmt: skip
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                ORGANIZATIONS_0006.insert(), {"id": organization, "name": "Acme", "created_at": at}
            )
            await connection.execute(USERS_0006.insert(), {"id": user, "is_active": True, "created_at": at,
                                                            "updated_at": at})  # fmt: skip
            await connection.execute(MEMBERS_0006.insert(), {"organization_id": organization, "user_id": user,
                                                              "role": "owner", "created_at": at})  # fmt: skip
            await connection.execute(KEYS_0006.insert(), [
                {**key, "id": claimed_key, "lookup_digest": claimed_key.hex, "organization_id": organization},
                {**key, "id": stray_key, "lookup_digest": stray_key.hex, "organization_id": uuid.uuid4()},
            ])  # fmt: skip
    finally:
        await engine.dispose()

    await migrate.upgrade(url)
    database = open_database(url)
    try:
        async with database.reader() as session:
            found = await session.get(Organization, organization)
            assert found is not None
            assert (found.billing_plan, found.deleted_at, found.updated_at) == ("free", None, at)
            member = await session.get(OrganizationMember, (organization, user))
            assert member is not None
            assert member.updated_at == at
            keys = dict((await session.execute(sa.select(APIKey.id, APIKey.organization_id))).all())
            assert keys == {claimed_key: organization, stray_key: None}
    finally:
        await database.dispose()


async def test_existing_organizations_are_upgraded_on_sqlite(tmp_path: Path) -> None:
    await _organizations_of_0006_upgrade(f"sqlite:///{tmp_path / 'orgs.db'}")


async def test_existing_organizations_are_upgraded_on_postgresql(pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    name = f"{make_url(pg_url).database}_orgs"
    await _pg_admin(f'CREATE DATABASE "{name}"', pg_url)
    try:
        await _organizations_of_0006_upgrade(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', pg_url)
