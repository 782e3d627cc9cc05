"""Queries on api_keys. Never commits: the service that calls it owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.keys.models import APIKey


@dataclass(frozen=True)
class KeyFilter:
    service_id: str | None = None
    user_id: str | None = None
    organization_id: uuid.UUID | None = None
    personal_only: bool = False  # leave out organization keys (a user's own listing: those are the org's)
    active_at: datetime | None = None  # when set: only keys usable at that moment


async def get(session: AsyncSession, key_id: uuid.UUID, *, for_update: bool = False) -> APIKey | None:
    query = select(APIKey).where(APIKey.id == key_id)
    if for_update:
        query = query.with_for_update()
    result: APIKey | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def get_by_digest(session: AsyncSession, digest: str) -> APIKey | None:
    result: APIKey | None = (
        await session.execute(select(APIKey).where(APIKey.lookup_digest == digest))
    ).scalar_one_or_none()
    return result


def add(session: AsyncSession, row: APIKey) -> None:
    session.add(row)


def _filtered(query: Select[Any], flt: KeyFilter) -> Select[Any]:
    if flt.service_id is not None:
        query = query.where(APIKey.service_id == flt.service_id)
    if flt.user_id is not None:
        query = query.where(APIKey.user_id == flt.user_id)
    if flt.organization_id is not None:
        query = query.where(APIKey.organization_id == flt.organization_id)
    if flt.personal_only:
        query = query.where(APIKey.organization_id.is_(None))
    if flt.active_at is not None:
        now = flt.active_at
        query = query.where(
            APIKey.is_active.is_(True),
            or_(APIKey.revoked_at.is_(None), APIKey.revoked_at > now),
            or_(APIKey.expires_at.is_(None), APIKey.expires_at > now),
        )
    return query


async def page(
    session: AsyncSession, flt: KeyFilter, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> Sequence[APIKey]:
    """Newest first, keyset-paginated on (created_at, id): stable while keys are being created."""
    query = _filtered(select(APIKey), flt)
    if after is not None:
        created_at, key_id = after
        query = query.where(
            or_(APIKey.created_at < created_at, and_(APIKey.created_at == created_at, APIKey.id < key_id))
        )
    query = query.order_by(APIKey.created_at.desc(), APIKey.id.desc()).limit(limit)
    rows: Sequence[APIKey] = (await session.execute(query)).scalars().all()
    return rows


async def count_usable(session: AsyncSession, user_id: str, now: datetime) -> int:
    """How many keys ``user_id`` owns that work at ``now`` (what MAX_KEYS_PER_USER counts; keys they made for an
    organization are the organization's)."""
    flt = KeyFilter(user_id=user_id, personal_only=True, active_at=now)
    query = _filtered(select(func.count()).select_from(APIKey), flt)
    return int((await session.execute(query)).scalar_one())


async def touch_owned_by(session: AsyncSession, user_id: str, now: datetime) -> Sequence[APIKey]:
    """Move every key of ``user_id`` to a new version (its owner was disabled or enabled): caches everywhere
    then reload them, with the owner's new state. The keys, as they now are."""
    await session.execute(
        update(APIKey)
        .where(APIKey.user_id == user_id)
        .values(updated_at=now, version=APIKey.version + 1)
        .execution_options(synchronize_session=False)
    )
    rows: Sequence[APIKey] = (
        (
            await session.execute(
                select(APIKey).where(APIKey.user_id == user_id).execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    return rows


async def claim_rotation(
    session: AsyncSession, key_id: uuid.UUID, successor: uuid.UUID, stops_at: datetime, now: datetime
) -> bool:
    """Link ``key_id`` to its successor if nothing rotated it first. True for exactly one concurrent caller:
    the conditional UPDATE takes the row lock, and a second transaction re-reads ``rotated_to`` after it."""
    result = await session.execute(
        update(APIKey)
        .where(APIKey.id == key_id, APIKey.rotated_to.is_(None))
        .values(
            rotated_to=successor,
            revoked_at=stops_at,
            is_active=stops_at > now,
            updated_at=now,
            version=APIKey.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def record_last_used(session: AsyncSession, seen: Iterable[tuple[uuid.UUID, datetime]]) -> None:
    """Move last_used_at forward only (batches from several instances may arrive out of order)."""
    for key_id, when in seen:
        await session.execute(
            update(APIKey)
            .where(APIKey.id == key_id, or_(APIKey.last_used_at.is_(None), APIKey.last_used_at < when))
            .values(last_used_at=when)
            .execution_options(synchronize_session=False)
        )


async def changed_since(session: AsyncSession, since: datetime) -> Sequence[tuple[uuid.UUID, str, int]]:
    """(id, lookup digest, version) of keys changed at or after ``since``: what other instances may have cached."""
    rows = await session.execute(
        select(APIKey.id, APIKey.lookup_digest, APIKey.version).where(APIKey.updated_at >= since)
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def revoke_all_of_organization(
    session: AsyncSession, organization_id: uuid.UUID, now: datetime
) -> Sequence[APIKey]:
    """Revoke every key of the organization that still works (or is in a rotation's grace period): the keys
    changed, as they now are."""
    await session.execute(
        update(APIKey)
        .where(
            APIKey.organization_id == organization_id,
            APIKey.is_active.is_(True),
            or_(APIKey.revoked_at.is_(None), APIKey.revoked_at > now),
        )
        .values(is_active=False, revoked_at=now, updated_at=now, version=APIKey.version + 1)
        .execution_options(synchronize_session=False)
    )
    return await _organization_keys_changed_at(session, organization_id, now)


async def set_plan_of_organization(
    session: AsyncSession, organization_id: uuid.UUID, plan: str, now: datetime
) -> Sequence[APIKey]:
    """Bill every key of the organization on ``plan`` (each moves to a new version, so caches reload it): the
    keys changed, as they now are."""
    await session.execute(
        update(APIKey)
        .where(APIKey.organization_id == organization_id, APIKey.billing_plan != plan)
        .values(billing_plan=plan, updated_at=now, version=APIKey.version + 1)
        .execution_options(synchronize_session=False)
    )
    return await _organization_keys_changed_at(session, organization_id, now)


async def _organization_keys_changed_at(
    session: AsyncSession, organization_id: uuid.UUID, now: datetime
) -> Sequence[APIKey]:
    """The organization's keys an UPDATE of this transaction just moved to ``updated_at = now``, read back as
    they now are (the UPDATE bypassed the ORM's copies)."""
    rows: Sequence[APIKey] = (
        (
            await session.execute(
                select(APIKey)
                .where(APIKey.organization_id == organization_id, APIKey.updated_at == now)
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    return rows
