"""An organization's usage and billing in a month: the sum over its keys (those revoked since included), billed
on the organization's plan as one account: the plan's included predictions are shared by all its keys."""

from __future__ import annotations

from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import not_found
from hokusai_auth.organizations import repository
from hokusai_auth.organizations.schemas import KeyUsage, OrganizationUsage
from hokusai_auth.organizations.service import ORGANIZATION_NOT_FOUND, Member
from hokusai_auth.usage import periods, plans
from hokusai_auth.usage.repository import totals_by_key_of_organization
from hokusai_auth.usage.service import ratio


class OrganizationUsageReport:
    def __init__(self, *, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def month(self, member: Member, period: str | None) -> OrganizationUsage:
        start = periods.parse_period(period, self._clock.now())
        end = periods.next_month(start)
        async with self._db.reader() as session:
            organization = await repository.get(session, member.organization_id)
            if organization is None:
                raise not_found(ORGANIZATION_NOT_FOUND)
            keys = await totals_by_key_of_organization(session, organization.id, start, end)
        requests = sum(key.requests for key in keys)
        predictions = sum(key.predictions for key in keys)
        charge = plans.charge_for(organization.billing_plan, predictions)
        return OrganizationUsage(
            organization_id=organization.id,
            period=periods.period_name(start),
            billing_plan=organization.billing_plan,
            total_requests=requests,
            total_predictions=predictions,
            total_compute_ms=sum(key.compute_ms for key in keys),
            average_response_time_ms=ratio(sum(key.response_time_ms_sum for key in keys), requests),
            error_rate=ratio(sum(key.errors for key in keys), requests),
            included_predictions=charge.included_predictions,
            overage_charges=plans.dollars_as_json_number(charge.overage_micros),
            overage_charges_micros=charge.overage_micros,
            keys=[
                KeyUsage(
                    key_id=key.key_id,
                    name=key.name,
                    key_prefix=key.key_prefix,
                    requests=key.requests,
                    predictions=key.predictions,
                    compute_ms=key.compute_ms,
                )
                for key in keys
            ],
        )
