"""Queries on registrations, their verification tokens and claim links. Never commits: the service that calls
it owns the transaction. A token is spent by a conditional UPDATE, so of two concurrent uses exactly one wins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai._vocabulary import RegistrationStatus
from hokusai_auth.registrations.models import HOLDING, OrganizationClaim, Registration, RegistrationVerification


async def get(session: AsyncSession, registration_id: uuid.UUID, *, for_update: bool = False) -> Registration | None:
    query = select(Registration).where(Registration.id == registration_id)
    if for_update:
        query = query.with_for_update()
    result: Registration | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def holding(session: AsyncSession, email: str) -> Registration | None:
    """The registration that holds ``email`` (pending or approved), if any: there is at most one."""
    query = select(Registration).where(Registration.contact_email == email, Registration.status.in_(HOLDING))
    result: Registration | None = (await session.execute(query)).scalars().first()
    return result


async def latest(session: AsyncSession, email: str) -> Registration | None:
    """The newest registration made with ``email`` (a rejected one, then a new one: the new one)."""
    query = (
        select(Registration)
        .where(Registration.contact_email == email)
        .order_by(Registration.created_at.desc(), Registration.id.desc())
        .limit(1)
    )
    result: Registration | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def page(
    session: AsyncSession,
    status: RegistrationStatus | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> Sequence[Registration]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(Registration)
    if status is not None:
        query = query.where(Registration.status == status)
    if after is not None:
        created_at, registration_id = after
        query = query.where(
            or_(
                Registration.created_at < created_at,
                and_(Registration.created_at == created_at, Registration.id < registration_id),
            )
        )
    query = query.order_by(Registration.created_at.desc(), Registration.id.desc()).limit(limit)
    rows: Sequence[Registration] = (await session.execute(query)).scalars().all()
    return rows


async def verification(session: AsyncSession, digest: str) -> RegistrationVerification | None:
    query = select(RegistrationVerification).where(RegistrationVerification.digest == digest)
    result: RegistrationVerification | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def spend_verification(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> bool:
    """Use the token if it is unused and unexpired. True for exactly one concurrent caller."""
    result = await session.execute(
        update(RegistrationVerification)
        .where(
            RegistrationVerification.id == token_id,
            RegistrationVerification.used_at.is_(None),
            RegistrationVerification.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def spend_every_verification(session: AsyncSession, registration_id: uuid.UUID, now: datetime) -> None:
    """Once the address is verified, no other link of the registration works."""
    await session.execute(
        update(RegistrationVerification)
        .where(RegistrationVerification.registration_id == registration_id, RegistrationVerification.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


async def claim(session: AsyncSession, digest: str, *, for_update: bool = False) -> OrganizationClaim | None:
    query = select(OrganizationClaim).where(OrganizationClaim.digest == digest)
    if for_update:
        query = query.with_for_update()
    result: OrganizationClaim | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def spend_claim(session: AsyncSession, claim_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> bool:
    """Claim for ``user_id`` if nobody has and the link is unexpired. True for exactly one concurrent caller."""
    result = await session.execute(
        update(OrganizationClaim)
        .where(
            OrganizationClaim.id == claim_id,
            OrganizationClaim.claimed_at.is_(None),
            OrganizationClaim.expires_at > now,
        )
        .values(claimed_at=now, claimed_by=user_id)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]
