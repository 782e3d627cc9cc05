"""Queries on organizations, members and invitations. Never commits: the service that calls it owns the
transaction. A deleted organization (``deleted_at`` set) is found by nothing here but ``get_any`` and ``page``
(operators see them)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.organizations.models import Organization, OrganizationInvitation, OrganizationMember
from hokusai_auth.organizations.roles import Role
from hokusai_auth.users.models import User


async def get(session: AsyncSession, organization_id: uuid.UUID, *, for_update: bool = False) -> Organization | None:
    query = select(Organization).where(Organization.id == organization_id, Organization.deleted_at.is_(None))
    if for_update:
        query = query.with_for_update()
    result: Organization | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def membership(session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
    """The user's role in a live organization, or None (not a member, or no such organization)."""
    role = await session.scalar(
        select(OrganizationMember.role)
        .join(Organization, Organization.id == OrganizationMember.organization_id)
        .where(
            OrganizationMember.organization_id == organization_id,
            OrganizationMember.user_id == user_id,
            Organization.deleted_at.is_(None),
        )
    )
    return Role(role) if role is not None else None


async def of_user(session: AsyncSession, user_id: uuid.UUID) -> Sequence[tuple[Organization, str]]:
    """The user's live organizations with their role, oldest membership first."""
    rows = await session.execute(
        select(Organization, OrganizationMember.role)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(OrganizationMember.user_id == user_id, Organization.deleted_at.is_(None))
        .order_by(OrganizationMember.created_at, Organization.id)
    )
    return [(row[0], row[1]) for row in rows]


async def memberships_of(session: AsyncSession, user_id: uuid.UUID) -> tuple[tuple[uuid.UUID, str], ...]:
    """(organization id, role) of each live organization of the user, by organization id: what a session's
    state carries (/api/v1/tokens/validate answers it as organization_ids and permissions)."""
    rows = await session.execute(
        select(OrganizationMember.organization_id, OrganizationMember.role)
        .join(Organization, Organization.id == OrganizationMember.organization_id)
        .where(OrganizationMember.user_id == user_id, Organization.deleted_at.is_(None))
        .order_by(OrganizationMember.organization_id)
    )
    return tuple((row[0], row[1]) for row in rows)


async def member(session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID) -> OrganizationMember | None:
    result: OrganizationMember | None = await session.get(OrganizationMember, (organization_id, user_id))
    return result


async def members(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[tuple[OrganizationMember, User]]:
    """Highest role first (sorted here: four values), then by when they joined."""
    rows = await session.execute(
        select(OrganizationMember, User)
        .join(User, User.id == OrganizationMember.user_id)
        .where(OrganizationMember.organization_id == organization_id)
        .order_by(OrganizationMember.created_at, OrganizationMember.user_id)
    )
    pairs = [(row[0], row[1]) for row in rows]
    return sorted(pairs, key=lambda pair: -Role(pair[0].role).rank)


async def count_owners(session: AsyncSession, organization_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OrganizationMember)
            .where(OrganizationMember.organization_id == organization_id, OrganizationMember.role == Role.OWNER.value)
        )
        or 0
    )


async def member_ids(session: AsyncSession, organization_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(OrganizationMember.user_id).where(OrganizationMember.organization_id == organization_id)
    )
    return list(rows.scalars())


async def remove_all_members(session: AsyncSession, organization_id: uuid.UUID) -> None:
    await session.execute(delete(OrganizationMember).where(OrganizationMember.organization_id == organization_id))


async def touch_users(session: AsyncSession, user_ids: Sequence[uuid.UUID], now: datetime) -> None:
    """Move ``updated_at`` of users whose memberships changed: the session change feed (sessions/feed.py) then
    makes every instance reload their sessions' state, organization ids included."""
    if user_ids:
        await session.execute(
            update(User)
            .where(User.id.in_(list(user_ids)))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )


# ------------------------------------------------------------------------------------------------ invitations


async def invitations(
    session: AsyncSession, organization_id: uuid.UUID, now: datetime
) -> Sequence[OrganizationInvitation]:
    rows = await session.execute(
        select(OrganizationInvitation)
        .where(OrganizationInvitation.organization_id == organization_id, OrganizationInvitation.expires_at > now)
        .order_by(OrganizationInvitation.created_at.desc(), OrganizationInvitation.id.desc())
    )
    return rows.scalars().all()


async def invitation(
    session: AsyncSession, organization_id: uuid.UUID, invitation_id: uuid.UUID
) -> OrganizationInvitation | None:
    result: OrganizationInvitation | None = await session.scalar(
        select(OrganizationInvitation).where(
            OrganizationInvitation.id == invitation_id, OrganizationInvitation.organization_id == organization_id
        )
    )
    return result


async def invitation_by_digest(
    session: AsyncSession, digest: str, *, for_update: bool = False
) -> OrganizationInvitation | None:
    query = select(OrganizationInvitation).where(OrganizationInvitation.digest == digest)
    if for_update:
        query = query.with_for_update()
    result: OrganizationInvitation | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def drop_invitation_for(session: AsyncSession, organization_id: uuid.UUID, email: str) -> uuid.UUID | None:
    """Delete the pending invitation of ``email`` (re-inviting replaces it): its id, if there was one."""
    old = await session.scalar(
        select(OrganizationInvitation.id).where(
            OrganizationInvitation.organization_id == organization_id, OrganizationInvitation.email == email
        )
    )
    if old is not None:
        await session.execute(delete(OrganizationInvitation).where(OrganizationInvitation.id == old))
    return old


async def drop_invitations(session: AsyncSession, organization_id: uuid.UUID) -> None:
    await session.execute(
        delete(OrganizationInvitation).where(OrganizationInvitation.organization_id == organization_id)
    )


async def user_with_verified_email(session: AsyncSession, email: str) -> uuid.UUID | None:
    result: uuid.UUID | None = await session.scalar(
        select(User.id).where(User.email == email, User.email_verified_at.is_not(None))
    )
    return result


async def member_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    result: User | None = await session.get(User, user_id)
    return result


async def page(
    session: AsyncSession, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> Sequence[tuple[Organization, int]]:
    """Every organization (deleted ones too) with its member count, newest first, keyset-paginated."""
    members = (
        select(func.count())
        .select_from(OrganizationMember)
        .where(OrganizationMember.organization_id == Organization.id)
        .scalar_subquery()
    )
    query = select(Organization, members).order_by(Organization.created_at.desc(), Organization.id.desc()).limit(limit)
    if after is not None:
        created_at, organization_id = after
        query = query.where(
            or_(
                Organization.created_at < created_at,
                and_(Organization.created_at == created_at, Organization.id < organization_id),
            )
        )
    return [(row[0], int(row[1])) for row in await session.execute(query)]


async def get_any(
    session: AsyncSession, organization_id: uuid.UUID, *, for_update: bool = False
) -> Organization | None:
    """The organization, deleted or not (what operators see)."""
    query = select(Organization).where(Organization.id == organization_id)
    if for_update:
        query = query.with_for_update()
    result: Organization | None = (await session.execute(query)).scalar_one_or_none()
    return result
