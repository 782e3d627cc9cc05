"""Engines and session factories for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite note: a deferred transaction that reads and then writes can fail at once with SQLITE_BUSY when another
connection is writing (the busy timeout does not apply to a lock upgrade). Write transactions therefore start
with ``BEGIN IMMEDIATE`` and wait for the lock; reads stay deferred so they never queue behind writers (WAL).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 5.0
POOL_TIMEOUT_S = 10.0
STATEMENT_TIMEOUT_S = 30.0
PING_TIMEOUT_S = 2.0
_BEGIN_OPTION = "hokusai_sqlite_begin"


def async_url(database_url: str) -> URL:
    """The async-driver URL for a contract-style ``sqlite:///path`` or ``postgresql://...`` URL."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    raise ValueError(f"DATABASE_URL must be sqlite:///... or postgresql://..., got a {backend!r} URL")


def create_engine(database_url: str, *, pool_size: int = 10, sqlite_foreign_keys: bool = True) -> AsyncEngine:
    """``hide_parameters``: SQLAlchemy puts a failed statement's parameters into its error text, which reaches
    logs; parameters here include lookup digests, bcrypt hashes and usage records."""
    url = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True)
        _configure_sqlite(engine, foreign_keys=sqlite_foreign_keys)
        return engine
    # Bounded waits: a database that hangs (rather than refusing) must turn into a 503 in seconds, not hold a
    # request for asyncpg's default 60 s connect timeout or for ever on a statement.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT_S,
        hide_parameters=True,
        connect_args={"timeout": CONNECT_TIMEOUT_S, "command_timeout": STATEMENT_TIMEOUT_S},
    )


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to issue (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Off only for migrations: SQLite rebuilds tables to alter them, which foreign keys would block.
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


@dataclass(frozen=True)
class Database:
    """One engine and the two kinds of session: ``reader`` for queries, ``writer`` for transactions that change."""

    engine: AsyncEngine
    reader: async_sessionmaker[AsyncSession]
    writer: async_sessionmaker[AsyncSession]

    async def ping(self, within_s: float = PING_TIMEOUT_S) -> bool:
        """One round trip (the readiness check): False on any failure, or after ``within_s``."""
        try:
            async with asyncio.timeout(within_s), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready"
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def open_database(database_url: str) -> Database:
    engine = create_engine(database_url)
    write_engine = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return Database(
        engine=engine,
        reader=async_sessionmaker(engine, expire_on_commit=False),
        writer=async_sessionmaker(write_engine, expire_on_commit=False),
    )
