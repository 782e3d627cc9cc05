"""Queries on user_sessions and refresh_tokens. Never commits: the service that calls it owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.organizations import repository as organizations
from hokusai_auth.sessions.models import RefreshToken, UserSession
from hokusai_auth.sessions.status import SessionStatus
from hokusai_auth.users.models import User


async def session_status(session: AsyncSession, session_id: uuid.UUID) -> SessionStatus | None:
    row = (
        await session.execute(
            select(UserSession.user_id, UserSession.revoked_at, User.is_active)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.id == session_id)
        )
    ).one_or_none()
    if row is None:
        return None
    memberships = await organizations.memberships_of(session, row.user_id)
    return SessionStatus(
        user_id=row.user_id, revoked=row.revoked_at is not None, user_active=row.is_active, memberships=memberships
    )


async def get(session: AsyncSession, session_id: uuid.UUID, *, for_update: bool = False) -> UserSession | None:
    query = select(UserSession).where(UserSession.id == session_id)
    if for_update:
        query = query.with_for_update()
    result: UserSession | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def of_user(session: AsyncSession, user_id: uuid.UUID, *, now: datetime) -> Sequence[UserSession]:
    """The user's open sessions, newest first."""
    query = (
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > now)
        .order_by(UserSession.created_at.desc(), UserSession.id)
    )
    return (await session.execute(query)).scalars().all()


async def refresh_token(session: AsyncSession, digest: str) -> RefreshToken | None:
    result: RefreshToken | None = (
        await session.execute(select(RefreshToken).where(RefreshToken.digest == digest))
    ).scalar_one_or_none()
    return result


async def spend(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> bool:
    """Mark a refresh token used, once: of two concurrent refreshes with one token exactly one wins."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def end(session: AsyncSession, session_id: uuid.UUID, reason: str, now: datetime) -> bool:
    """End a session (if still open); True when this call ended it."""
    result = await session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def end_all_of_user(session: AsyncSession, user_id: uuid.UUID, reason: str, now: datetime) -> int:
    result = await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def sessions_changed_since(session: AsyncSession, since: datetime) -> Sequence[tuple[uuid.UUID, datetime]]:
    query = select(UserSession.id, UserSession.updated_at).where(
        UserSession.updated_at >= since, UserSession.revoked_at.is_not(None)
    )
    return [(row.id, row.updated_at) for row in await session.execute(query)]


async def users_changed_since(session: AsyncSession, since: datetime) -> Sequence[tuple[uuid.UUID, datetime]]:
    query = select(User.id, User.updated_at).where(User.updated_at >= since)
    return [(row.id, row.updated_at) for row in await session.execute(query)]
