"""Alembic environment. ``hokusai_auth.db.migrate`` passes a live connection; the alembic CLI (for writing new
revisions: ``alembic revision --autogenerate``) builds one from DATABASE_URL."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context

from hokusai_auth.db.engine import create_engine
from hokusai_auth.tables import metadata as target_metadata


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by rebuilding them; batch mode does that portably
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_engine(url, pool_size=1, sqlite_foreign_keys=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    database_url = os.environ.get("HOKUSAI_DATABASE_URL") or os.environ.get("DATABASE_URL") or "sqlite:///dev.db"
    asyncio.run(_run_from_url(database_url))
