"""INSERT with ON CONFLICT, which SQLAlchemy spells per dialect: the right ``insert`` for a session's database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """``postgresql.insert`` or ``sqlite.insert``: both have ``on_conflict_do_nothing``/``_do_update``."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
