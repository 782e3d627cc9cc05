"""Queries on device authorizations. Never commits: the service that calls it owns the transaction. Every change
of status is a conditional UPDATE naming the status it leaves and the expiry, so of two concurrent approvals,
denials or token requests exactly one wins."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.device.models import DeviceAuthorization, DeviceStatus

KEEP_AFTER_EXPIRY = timedelta(days=1)  # expired rows stay this long (an operator may look), then go


async def by_device_code(session: AsyncSession, digest: str, *, for_update: bool = False) -> DeviceAuthorization | None:
    query = select(DeviceAuthorization).where(DeviceAuthorization.device_code_digest == digest)
    if for_update:
        query = query.with_for_update()
    result: DeviceAuthorization | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def by_user_code(session: AsyncSession, digest: str) -> DeviceAuthorization | None:
    query = select(DeviceAuthorization).where(DeviceAuthorization.user_code_digest == digest)
    result: DeviceAuthorization | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def user_code_taken(session: AsyncSession, digest: str) -> bool:
    query = select(DeviceAuthorization.id).where(DeviceAuthorization.user_code_digest == digest)
    return (await session.execute(query)).first() is not None


async def decide(
    session: AsyncSession, row_id: uuid.UUID, status: DeviceStatus, user_id: uuid.UUID, now: datetime
) -> bool:
    """Approve or deny a pending, unexpired request for ``user_id``. True for exactly one concurrent caller."""
    result = await session.execute(
        update(DeviceAuthorization)
        .where(
            DeviceAuthorization.id == row_id,
            DeviceAuthorization.status == DeviceStatus.PENDING,
            DeviceAuthorization.expires_at > now,
        )
        .values(status=status, user_id=user_id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def consume(session: AsyncSession, row_id: uuid.UUID, now: datetime) -> bool:
    """Hand out the session of an approved, unexpired request. True for exactly one concurrent caller."""
    result = await session.execute(
        update(DeviceAuthorization)
        .where(
            DeviceAuthorization.id == row_id,
            DeviceAuthorization.status == DeviceStatus.APPROVED,
            DeviceAuthorization.expires_at > now,
        )
        .values(status=DeviceStatus.CONSUMED, consumed_at=now, last_polled_at=now)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def forget_old(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(DeviceAuthorization).where(DeviceAuthorization.expires_at < now - KEEP_AFTER_EXPIRY))
