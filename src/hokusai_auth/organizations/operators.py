"""What operators (the admin token) do to organizations: list them all, read one, and set its billing plan.

A plan change moves every key of the organization to the new plan in the same transaction, as one audit event,
and tells the caches afterwards (each key moves to a new version), so ``/api/v1/keys/validate`` answers the new
``billing_plan`` on every instance within the key change feed's interval.
"""

from __future__ import annotations

import uuid

from hokusai_auth.audit import recorder
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import not_found
from hokusai_auth.keys.service import KeyService
from hokusai_auth.organizations import repository
from hokusai_auth.organizations.models import Organization
from hokusai_auth.organizations.schemas import OrganizationRecord
from hokusai_auth.organizations.service import ORGANIZATION_NOT_FOUND
from hokusai_auth.web import pagination
from hokusai_auth.web.context import RequestContext


def record_of(organization: Organization, members: int) -> OrganizationRecord:
    return OrganizationRecord(
        id=organization.id,
        name=organization.name,
        created_at=organization.created_at,
        updated_at=organization.updated_at,
        billing_plan=organization.billing_plan,
        deleted_at=organization.deleted_at,
        members=members,
    )


class OrganizationAdministration:
    def __init__(self, *, database: Database, clock: Clock, keys: KeyService) -> None:
        self._db = database
        self._clock = clock
        self._keys = keys

    async def list(self, limit: int, cursor: str | None) -> tuple[list[OrganizationRecord], str | None]:
        after = pagination.decode_cursor(cursor) if cursor else None
        async with self._db.reader() as session:
            rows = await repository.page(session, limit + 1, after)
        more = len(rows) > limit
        rows = rows[:limit]
        following = pagination.encode_cursor(rows[-1][0].created_at, rows[-1][0].id) if more and rows else None
        return [record_of(organization, members) for organization, members in rows], following

    async def get(self, organization_id: uuid.UUID) -> OrganizationRecord:
        async with self._db.reader() as session:
            organization = await repository.get_any(session, organization_id)
            if organization is None:
                raise not_found(ORGANIZATION_NOT_FOUND)
            members = len(await repository.member_ids(session, organization_id))
        return record_of(organization, members)

    async def set_plan(self, organization_id: uuid.UUID, plan: str, ctx: RequestContext) -> OrganizationRecord:
        now = self._clock.now()
        async with self._db.writer.begin() as session:
            organization = await repository.get(session, organization_id, for_update=True)
            if organization is None:
                raise not_found(ORGANIZATION_NOT_FOUND)
            changed = []
            if organization.billing_plan != plan:
                changed = await self._keys.bill_organization_keys(session, organization.id, plan)
                recorder.record(session, ctx, action="organization.update", at=now, target_type="organization",
                                target_id=str(organization.id), organization_id=organization.id,
                                details={"billing_plan": plan, "previous_billing_plan": organization.billing_plan,
                                         "keys_affected": len(changed)})  # fmt: skip
                organization.billing_plan = plan
                organization.updated_at = now
            members = len(await repository.member_ids(session, organization.id))
        await self._keys.publish(changed)
        return record_of(organization, members)
