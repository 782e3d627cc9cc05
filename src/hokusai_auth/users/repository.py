"""Queries on users. Never commits: the service that calls it owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.users.models import User


async def get(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.id == user_id)
    if for_update:
        query = query.with_for_update()
    result: User | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def by_wallet(session: AsyncSession, checksummed: str, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.wallet_address == checksummed)
    if for_update:
        query = query.with_for_update()
    result: User | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def page(session: AsyncSession, limit: int, after: tuple[datetime, uuid.UUID] | None) -> Sequence[User]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(User).order_by(User.created_at.desc(), User.id.desc()).limit(limit)
    if after is not None:
        created_at, user_id = after
        query = query.where(or_(User.created_at < created_at, and_(User.created_at == created_at, User.id < user_id)))
    return (await session.execute(query)).scalars().all()


async def is_active(session: AsyncSession, owner: str) -> bool:
    """Whether the owner a key names may use it: a user id that is disabled may not; any other owner ("admin",
    an owner that is not a user of this service) is not a user who can be disabled."""
    try:
        user_id = uuid.UUID(owner)
    except ValueError:
        return True
    active = (await session.execute(select(User.is_active).where(User.id == user_id))).scalar_one_or_none()
    return active is not False
