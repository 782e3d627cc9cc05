"""Migrations run unchanged, up and down, on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hokusai_auth.db import migrate
from hokusai_auth.db.engine import create_engine
from hokusai_auth.tables import metadata
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
TABLES = {"api_keys", "audit_events", *USAGE_TABLES, *IDENTITY_TABLES, *MAIL_TABLES, *REGISTRATION_TABLES}


async def _round_trip(url: str) -> None:
    await migrate.upgrade(url)
    assert await migrate.current_revision(url) == migrate.head_revision()
    assert await _tables(url) >= TABLES
    assert await _diff(url) == [], "models and migrations agree"
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
