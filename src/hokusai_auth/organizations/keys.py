"""An organization's API keys: created by a Developer or above, listed by any member, revoked by their creator
(a Developer) or by an Admin or Owner.

The organization owns them: ``organization_id`` is set, ``user_id`` names the member who created the key, and the
key is billed on the organization's plan. They outlive their creator's membership (and account): removing a
member ends the member's access, not the organization's keys.
"""

from __future__ import annotations

import uuid

from hokusai_auth.errors import not_found
from hokusai_auth.keys.repository import KeyFilter
from hokusai_auth.keys.schemas import APIKeyInfo
from hokusai_auth.keys.service import KEY_NOT_FOUND, KeyPage, KeyService, users_may_not_set
from hokusai_auth.organizations.roles import Role
from hokusai_auth.organizations.schemas import CreatedOrganizationKey, OrganizationKeyRequest
from hokusai_auth.organizations.service import Member, insufficient_role, locked

SET_BY_THE_ORGANIZATION = {"user_id", "billing_plan"}


class OrganizationKeys:
    def __init__(self, *, keys: KeyService) -> None:
        self._keys = keys

    async def create(self, member: Member, request: OrganizationKeyRequest) -> CreatedOrganizationKey:
        users_may_not_set(request, SET_BY_THE_ORGANIZATION)
        minted = await self._keys.mint(request.environment)  # before the transaction: bcrypt is slow
        now = self._keys.now()
        async with self._keys.database.writer.begin() as session:
            organization, _ = await locked(session, member, Role.DEVELOPER)  # still a member, still a Developer
            settings = request.model_copy(
                update={"user_id": str(member.user_id), "billing_plan": organization.billing_plan}
            )
            created = self._keys.add_organization_key(
                session, settings, minted, member.context, organization_id=organization.id, now=now
            )
        return CreatedOrganizationKey(**created.model_dump(), organization_id=organization.id)

    async def list(self, member: Member, limit: int, cursor: str | None, *, active_only: bool) -> KeyPage:
        flt = KeyFilter(organization_id=member.organization_id)
        return await self._keys.list(flt, limit, cursor, active_only=active_only)

    async def revoke(self, member: Member, key_id: uuid.UUID) -> None:
        key = await self._key_of(member, key_id)
        if not member.role.at_least(Role.ADMIN) and key.user_id != str(member.user_id):
            raise insufficient_role(Role.ADMIN, "A Developer revokes only the keys they created; this needs an Admin")
        await self._keys.revoke(key_id, member.context)

    async def _key_of(self, member: Member, key_id: uuid.UUID) -> APIKeyInfo:
        """The organization's key, or 404 (a key of another organization, or of nobody's, is not found here)."""
        key = await self._keys.get(key_id)
        if key.organization_id != member.organization_id:
            raise not_found(KEY_NOT_FOUND)
        return key
