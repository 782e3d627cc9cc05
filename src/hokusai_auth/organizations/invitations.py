"""Invitations: an Admin invites an address with a role; the mail carries a single-use token (7 days, stored
only as its keyed digest); a signed-in user accepts it with that token and becomes a member.

Binding: when some user has verified the invited address, only that user may accept; otherwise whoever holds
the token accepts it, once (most users sign in with a wallet and have no verified address). Inviting an address
again replaces its pending invitation (the old link stops working). Only an Owner invites an Owner.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from hokusai._vocabulary import ErrorCode, TokenFailure
from hokusai_auth.audit import recorder
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import ServiceError, conflict, not_found
from hokusai_auth.mail.outbox import enqueue
from hokusai_auth.mailed_tokens import PurposeDigester, generate, plausible
from hokusai_auth.organizations import mails, repository
from hokusai_auth.organizations.models import OrganizationInvitation, OrganizationMember
from hokusai_auth.organizations.roles import Role
from hokusai_auth.organizations.schemas import InvitationInfo, OrganizationInfo
from hokusai_auth.organizations.service import Member, MembersChanged, info, insufficient_role, locked
from hokusai_auth.web.context import RequestContext

INVITATION_TTL = timedelta(days=7)
INVITATION_PREFIX = "hki_"
INVITATION_NOT_FOUND = "Invitation not found"


def _unusable() -> ServiceError:
    return ServiceError(400, TokenFailure.INVALID, "This invitation is unknown, was already used, or has expired")


class Invitations:
    def __init__(
        self, *, database: Database, clock: Clock, secret_key: str, public_url: str, members_changed: MembersChanged
    ) -> None:
        self._db = database
        self._clock = clock
        self._digester = PurposeDigester(secret_key, "invitation")
        self._public_url = public_url
        self._members_changed = members_changed

    async def invite(self, member: Member, email: str, role: Role) -> InvitationInfo:
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            organization, caller_role = await locked(session, member, Role.ADMIN)
            if role is Role.OWNER and caller_role is not Role.OWNER:
                raise insufficient_role(Role.OWNER, "Only an Owner can invite an Owner")
            holder = await repository.user_with_verified_email(session, email)
            if holder is not None and await repository.membership(session, organization.id, holder) is not None:
                raise conflict(ErrorCode.ALREADY_MEMBER, "The user with this address is already a member")
            replaced = await repository.drop_invitation_for(session, organization.id, email)
            await session.flush()  # the old row goes before the new one takes its (organization, email) place
            token = generate(INVITATION_PREFIX)
            row = OrganizationInvitation(
                id=uuid.uuid4(),
                organization_id=organization.id,
                email=email,
                role=role.value,
                digest=self._digester.digest(token),
                invited_by=member.user_id,
                created_at=now,
                expires_at=now + INVITATION_TTL,
            )
            session.add(row)
            enqueue(session, mails.invitation(self._public_url, email, organization.name, role, token,
                                              row.expires_at), now)  # fmt: skip
            recorder.record(session, member.context, action="organization.invitation.create", at=now,
                            target_type="invitation", target_id=str(row.id), organization_id=organization.id,
                            details={"email": email, "role": role.value,
                                     "replaced": str(replaced) if replaced else None})  # fmt: skip
        return InvitationInfo.model_validate(row)

    async def pending(self, member: Member) -> list[InvitationInfo]:
        async with self._db.reader() as session:
            rows = await repository.invitations(session, member.organization_id, self._clock.now())
        return [InvitationInfo.model_validate(row) for row in rows]

    async def revoke(self, member: Member, invitation_id: uuid.UUID) -> None:
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            organization, _ = await locked(session, member, Role.ADMIN)
            row = await repository.invitation(session, organization.id, invitation_id)
            if row is None:
                raise not_found(INVITATION_NOT_FOUND)
            await session.delete(row)
            recorder.record(session, member.context, action="organization.invitation.revoke", at=now,
                            target_type="invitation", target_id=str(row.id), organization_id=organization.id,
                            details={"email": row.email, "role": row.role})  # fmt: skip

    async def accept(self, token: str, user_id: uuid.UUID, ctx: RequestContext) -> OrganizationInfo:
        if not plausible(token, INVITATION_PREFIX):
            raise _unusable()
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            row = await repository.invitation_by_digest(session, self._digester.digest(token), for_update=True)
            if row is None or row.expires_at <= now:
                raise _unusable()
            organization = await repository.get(session, row.organization_id, for_update=True)
            if organization is None:
                raise _unusable()
            holder = await repository.user_with_verified_email(session, row.email)
            if holder is not None and holder != user_id:
                raise ServiceError(
                    403,
                    ErrorCode.INVITATION_FOR_ANOTHER_USER,
                    "This invitation is for the account that has verified the invited address; sign in with it",
                )
            if await repository.membership(session, organization.id, user_id) is not None:
                raise conflict(ErrorCode.ALREADY_MEMBER, "You are already a member of this organization")
            role = Role(row.role)
            session.add(OrganizationMember(organization_id=organization.id, user_id=user_id, role=role.value,
                                           created_at=now, updated_at=now, invited_by=row.invited_by))  # fmt: skip
            await session.delete(row)
            recorder.record(session, ctx, action="organization.invitation.accept", at=now, target_type="invitation",
                            target_id=str(row.id), organization_id=organization.id,
                            details={"role": role.value, "user_id": str(user_id)})  # fmt: skip
            await repository.touch_users(session, [user_id], now)
        self._members_changed([user_id])
        return info(organization, role)
