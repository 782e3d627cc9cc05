"""Organizations and their members. Each use case owns its transaction; audit events commit with the change.

The Owner rules (only an Owner grants or takes away Owner, an Admin cannot change an Owner, the last Owner can
neither leave nor be demoted) are checked inside the transaction that applies the change, after taking the
organization's row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transactions are serialized
whole): two Owners demoting each other at once run one after the other, and the second finds itself the last.
The caller's own role is read again under that lock, so a role taken away meanwhile is not used.

A membership change moves the member's ``users.updated_at``: the session change feed then makes every instance
reload the member's sessions, whose state carries their organization ids (``/api/v1/tokens/validate``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hokusai._vocabulary import ErrorCode
from hokusai_auth.audit import recorder
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import ServiceError, not_found
from hokusai_auth.keys.service import KeyService
from hokusai_auth.organizations import repository
from hokusai_auth.organizations.models import Organization, OrganizationMember
from hokusai_auth.organizations.roles import Role
from hokusai_auth.organizations.schemas import MemberInfo, OrganizationInfo
from hokusai_auth.web.context import RequestContext

ORGANIZATION_NOT_FOUND = "Organization not found"
MEMBER_NOT_FOUND = "Member not found"

MembersChanged = Callable[[Iterable[uuid.UUID]], None]


@dataclass(frozen=True, slots=True)
class Member:
    """A signed-in caller's membership, as the route's permission check found it."""

    organization_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    context: RequestContext


def parse_organization_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(ORGANIZATION_NOT_FOUND) from None


def insufficient_role(minimum: Role, detail: str | None = None) -> ServiceError:
    return ServiceError(
        403,
        ErrorCode.INSUFFICIENT_ROLE,
        detail or f"This needs the {minimum.label} role or higher in this organization",
        extra={"required_role": minimum.value},
    )


def last_owner() -> ServiceError:
    return ServiceError(
        409,
        ErrorCode.LAST_OWNER,
        "The last Owner can neither leave nor be demoted: make another member Owner first, or delete the organization",
    )


def info(organization: Organization, role: Role | str) -> OrganizationInfo:
    return OrganizationInfo(
        id=organization.id,
        name=organization.name,
        created_at=organization.created_at,
        billing_plan=organization.billing_plan,
        role=Role(role),
    )


async def locked(session: AsyncSession, member: Member, minimum: Role) -> tuple[Organization, Role]:
    """The organization, row-locked, and the caller's role read again under the lock (it may have changed
    since the route's check): 404 when they are no longer a member, 403 when no longer senior enough."""
    organization = await repository.get(session, member.organization_id, for_update=True)
    if organization is None:
        raise not_found(ORGANIZATION_NOT_FOUND)
    role = await repository.membership(session, organization.id, member.user_id)
    if role is None:
        raise not_found(ORGANIZATION_NOT_FOUND)
    if not role.at_least(minimum):
        raise insufficient_role(minimum)
    return organization, role


class Organizations:
    def __init__(self, *, database: Database, clock: Clock, keys: KeyService, members_changed: MembersChanged) -> None:
        self._db = database
        self._clock = clock
        self._keys = keys
        self._members_changed = members_changed

    async def role_of(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        async with self._db.reader() as session:
            return await repository.membership(session, organization_id, user_id)

    async def create(self, name: str, user_id: uuid.UUID, ctx: RequestContext) -> OrganizationInfo:
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            organization = Organization(id=uuid.uuid4(), name=name, created_at=now, updated_at=now)
            session.add(organization)
            await session.flush()  # the organization before its first member refers to it
            session.add(OrganizationMember(organization_id=organization.id, user_id=user_id, role=Role.OWNER.value,
                                           created_at=now, updated_at=now))  # fmt: skip
            recorder.record(session, ctx, action="organization.create", at=now, target_type="organization",
                            target_id=str(organization.id), organization_id=organization.id,
                            details={"name": name})  # fmt: skip
            await repository.touch_users(session, [user_id], now)
        self._members_changed([user_id])
        return info(organization, Role.OWNER)

    async def mine(self, user_id: uuid.UUID) -> list[OrganizationInfo]:
        async with self._db.reader() as session:
            rows = await repository.of_user(session, user_id)
        return [info(organization, role) for organization, role in rows]

    async def get(self, member: Member) -> OrganizationInfo:
        async with self._db.reader() as session:
            organization = await repository.get(session, member.organization_id)
        if organization is None:
            raise not_found(ORGANIZATION_NOT_FOUND)
        return info(organization, member.role)

    async def rename(self, member: Member, name: str) -> OrganizationInfo:
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            organization, role = await locked(session, member, Role.ADMIN)
            if organization.name != name:
                recorder.record(session, member.context, action="organization.update", at=now,
                                target_type="organization", target_id=str(organization.id),
                                organization_id=organization.id,
                                details={"name": name, "previous_name": organization.name})  # fmt: skip
                organization.name = name
                organization.updated_at = now
        return info(organization, role)

    async def delete(self, member: Member) -> None:
        """Revokes the organization's keys, removes its members and invitations, and marks it deleted; its
        keys, usage and audit events keep its id."""
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            organization, _ = await locked(session, member, Role.OWNER)
            former = await repository.member_ids(session, organization.id)
            revoked = await self._keys.revoke_organization_keys(session, organization.id, member.context, now)
            await repository.remove_all_members(session, organization.id)
            await repository.drop_invitations(session, organization.id)
            organization.deleted_at = now
            organization.updated_at = now
            recorder.record(session, member.context, action="organization.delete", at=now,
                            target_type="organization", target_id=str(organization.id),
                            organization_id=organization.id,
                            details={"keys_revoked": len(revoked), "members_removed": len(former)})  # fmt: skip
            await repository.touch_users(session, former, now)
        await self._keys.publish(revoked)
        self._members_changed(former)

    # ------------------------------------------------------------------------------------------- members

    async def members(self, member: Member) -> list[MemberInfo]:
        async with self._db.reader() as session:
            rows = await repository.members(session, member.organization_id)
        return [
            MemberInfo(
                user_id=row.user_id,
                role=Role(row.role),
                wallet_address=user.wallet_address,
                email=user.email,
                display_name=user.display_name,
                joined_at=row.created_at,
                invited_by=row.invited_by,
            )
            for row, user in rows
        ]

    async def set_role(self, member: Member, user_id: uuid.UUID, new_role: Role) -> MemberInfo:
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            organization, caller_role = await locked(session, member, Role.ADMIN)
            target = await repository.member(session, organization.id, user_id)
            if target is None:
                raise not_found(MEMBER_NOT_FOUND)
            old_role = Role(target.role)
            if Role.OWNER in (old_role, new_role) and caller_role is not Role.OWNER:
                raise insufficient_role(Role.OWNER, "Only an Owner can grant, take away or change the Owner role")
            if (
                old_role is Role.OWNER
                and new_role is not Role.OWNER
                and await repository.count_owners(session, organization.id) <= 1
            ):
                raise last_owner()
            if old_role is not new_role:
                target.role = new_role.value
                target.updated_at = now
                recorder.record(session, member.context, action="organization.member.update", at=now,
                                target_type="user", target_id=str(user_id), organization_id=organization.id,
                                details={"role": new_role.value, "previous_role": old_role.value})  # fmt: skip
                await repository.touch_users(session, [user_id], now)
            user = await repository.member_user(session, user_id)
        self._members_changed([user_id])
        return MemberInfo(
            user_id=user_id,
            role=new_role,
            wallet_address=user.wallet_address if user else None,
            email=user.email if user else None,
            display_name=user.display_name if user else None,
            joined_at=target.created_at,
            invited_by=target.invited_by,
        )

    async def remove(self, member: Member, user_id: uuid.UUID) -> None:
        """An Admin removes a member (an Owner only by an Owner); anyone may leave. The organization's keys,
        the ones this member created included, keep working."""
        now = self._clock.now()
        leaving = user_id == member.user_id
        async with self._db.writer.begin() as session:
            organization, caller_role = await locked(session, member, Role.VIEWER if leaving else Role.ADMIN)
            target = await repository.member(session, organization.id, user_id)
            if target is None:
                raise not_found(MEMBER_NOT_FOUND)
            if target.role == Role.OWNER.value:
                if caller_role is not Role.OWNER:
                    raise insufficient_role(Role.OWNER, "Only an Owner can remove an Owner")
                if await repository.count_owners(session, organization.id) <= 1:
                    raise last_owner()
            await session.delete(target)
            recorder.record(session, member.context,
                            action="organization.member.leave" if leaving else "organization.member.remove",
                            at=now, target_type="user", target_id=str(user_id), organization_id=organization.id,
                            details={"role": target.role})  # fmt: skip
            await repository.touch_users(session, [user_id], now)
        self._members_changed([user_id])
