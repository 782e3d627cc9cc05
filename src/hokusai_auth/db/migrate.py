"""Run Alembic migrations from code (``hokusai-auth migrate``, ``serve``, tests) on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from hokusai_auth.db.engine import create_engine

# Above db/ (hokusai_auth/migrations): the migration environment knows every feature's tables (tables.py).
MIGRATIONS_DIR = Path(__file__).parents[1] / "migrations"
# Any constant works; it only has to be the same for every process that migrates this database.
_PG_MIGRATION_LOCK = 0x486F6B75


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def _with_connection(database_url: str, action: Callable[[Any], Any]) -> Any:
    engine = create_engine(database_url, pool_size=1, sqlite_foreign_keys=False)
    try:
        async with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # Several instances starting at once must not run the same migration twice.
                await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            return await connection.run_sync(action)
    finally:
        await engine.dispose()


async def upgrade(database_url: str, revision: str = "head") -> None:
    def action(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    await _with_connection(database_url, action)


async def downgrade(database_url: str, revision: str) -> None:
    def action(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    await _with_connection(database_url, action)


async def current_revision(database_url: str) -> str | None:
    def action(connection: Any) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    result: str | None = await _with_connection(database_url, action)
    return result


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head
