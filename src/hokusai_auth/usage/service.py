"""Usage use cases: ingest (into the buffer), the monthly prediction count for quotas, analytics and billing.

Analytics and billing read what has been written, so they trail ingest by up to one flush interval
(``USAGE_FLUSH_INTERVAL``) on every instance. ``predictions_in_month`` also adds this instance's unwritten records.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from hokusai._vocabulary import canonical_service
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import invalid_field, not_found
from hokusai_auth.keys.service import KEY_NOT_FOUND
from hokusai_auth.usage import histogram, periods, plans, repository
from hokusai_auth.usage.buffer import UsageBuffer
from hokusai_auth.usage.flush import UsageFlusher
from hokusai_auth.usage.known_keys import KnownKeys
from hokusai_auth.usage.models import ENDPOINT_MAX, IDEMPOTENCY_KEY_MAX
from hokusai_auth.usage.schemas import (
    MAX_COMPUTE_MS,
    MAX_PREDICTIONS,
    MAX_RESPONSE_TIME_MS,
    BillingInfo,
    CurrentUsage,
    EndpointCount,
    ServiceDay,
    UsageAggregate,
    UsageRecordIn,
    UsageStats,
)

TOP_ENDPOINTS = 10
P95 = 95
_CONSISTENT_READ_ATTEMPTS = 3


def ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


class UsageService:
    def __init__(self, *, database: Database, clock: Clock, flush_interval: float, negative_ttl: float) -> None:
        self._db = database
        self._clock = clock
        self.buffer = UsageBuffer()
        self.flusher = UsageFlusher(database, self.buffer, clock, flush_interval)
        self._known = KnownKeys(negative_ttl)

    # ------------------------------------------------------------------------------------------- ingest

    def record(
        self,
        key_id: uuid.UUID,
        *,
        service_id: str,
        endpoint: str,
        status_code: int,
        response_time_ms: int,
        predictions_count: int = 0,
        compute_ms: int = 0,
        idempotency_key: str | None = None,
    ) -> bool:
        """Count one request of an existing key, in memory (no I/O); written with the next flush.

        For in-process callers (the gateway, per proxied request): ``key_id`` must be a key that exists (this does
        not check), ``endpoint`` a bounded label such as a route template, never a raw path. ``service_id`` may be
        an alias. Raises ValueError for values out of range. False when ``idempotency_key`` repeats one this
        instance still holds (the record is not counted again; the database catches repeats across instances).
        """
        service = canonical_service(service_id)
        if service is None:
            raise ValueError(f"unknown service id {service_id!r}")
        if not 1 <= len(endpoint) <= ENDPOINT_MAX:
            raise ValueError(f"endpoint must be 1 to {ENDPOINT_MAX} characters")
        if not 100 <= status_code <= 599:
            raise ValueError("status_code must be 100 to 599")
        # The same ranges as the HTTP schema: an in-process caller must not be able to store what HTTP refuses.
        for name, value, ceiling in (
            ("response_time_ms", response_time_ms, MAX_RESPONSE_TIME_MS),
            ("predictions_count", predictions_count, MAX_PREDICTIONS),
            ("compute_ms", compute_ms, MAX_COMPUTE_MS),
        ):
            if not 0 <= value <= ceiling:
                raise ValueError(f"{name} must be 0 to {ceiling}")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
            raise ValueError(f"idempotency_key must be 1 to {IDEMPOTENCY_KEY_MAX} characters")
        return self.buffer.add(
            key_id,
            service_id=service,
            endpoint=endpoint,
            status_code=status_code,
            response_time_ms=response_time_ms,
            predictions=predictions_count,
            compute_ms=compute_ms,
            idempotency_key=idempotency_key,
            at=self._clock.now(),
        )

    async def ingest(self, key_id: uuid.UUID, body: UsageRecordIn) -> None:
        """POST /api/v1/usage/{key_id}: a record from another service (already validated by the schema)."""
        await self.require_key(key_id)
        self.record(
            key_id,
            service_id=body.service_id,
            endpoint=body.endpoint,
            status_code=body.status_code,
            response_time_ms=body.response_time_ms,
            predictions_count=body.predictions_count,
            compute_ms=body.compute_ms,
            idempotency_key=body.idempotency_key,
        )

    async def require_key(self, key_id: uuid.UUID) -> None:
        """404 unless the key exists; answered from memory for every key seen before."""
        known = self._known.lookup(key_id)
        if known is None:
            async with self._db.reader() as session:
                known = await repository.key_exists(session, key_id)
            self._known.remember(key_id, known)
        if not known:
            raise not_found(KEY_NOT_FOUND)

    # ------------------------------------------------------------------------------------------- quota

    async def predictions_in_month(self, key_id: uuid.UUID, at: datetime) -> int:
        """Predictions recorded for the key in the calendar month (UTC) containing ``at``: what is written plus
        what this instance holds unwritten. Other instances' unwritten records (at most one flush interval of
        them) are not seen. One indexed query; no existence check (an unknown key has 0)."""
        start = periods.month_start(at)
        end = periods.next_month(start)
        stored = 0
        for _ in range(_CONSISTENT_READ_ATTEMPTS):
            before = await self.flusher.settled()
            async with self._db.reader() as session:
                stored = await repository.predictions_between(session, key_id, start, end)
            if self.flusher.sequence == before:
                break  # no write finished or began meanwhile: no batch is both stored and buffered
        return stored + self.buffer.pending_predictions(key_id, start)

    # ------------------------------------------------------------------------------------------- analytics

    async def stats(self, key_id: uuid.UUID, period: str | None) -> UsageStats:
        start = periods.parse_period(period, self._clock.now())
        await self.require_key(key_id)
        end = periods.next_month(start)
        async with self._db.reader() as session:
            totals = await repository.totals(session, key_id, start, end)
            top = await repository.top_endpoints(session, key_id, start, end, TOP_ENDPOINTS)
        return UsageStats(
            key_id=key_id,
            period=periods.period_name(start),
            total_requests=totals.requests,
            total_predictions=totals.predictions,
            total_compute_ms=totals.compute_ms,
            average_response_time_ms=ratio(totals.response_time_ms_sum, totals.requests),
            p95_response_time_ms=histogram.percentile(totals.latency, totals.response_time_ms_max, P95),
            error_rate=ratio(totals.errors, totals.requests),
            top_endpoints=[EndpointCount(endpoint=endpoint, count=count) for endpoint, count in top],
        )

    async def aggregate(self, service_id: str | None, start_date: str | None, end_date: str | None) -> UsageAggregate:
        service = None
        if service_id is not None:
            service = canonical_service(service_id)
            if service is None:
                raise invalid_field("service_id", "unknown service id", "query")
        first, last = periods.date_range(start_date, end_date, self._clock.now().date())
        start = periods.day_start(first)
        end = periods.day_start(last) + periods.ONE_DAY
        async with self._db.reader() as session:
            hours = await repository.hourly_by_service(session, start, end, service)

        days: dict[str, dict[str, list[int]]] = {}
        for hour in sorted(hours, key=lambda h: (h.bucket_start, h.service_id)):
            sums = days.setdefault(hour.bucket_start.date().isoformat(), {}).setdefault(hour.service_id, [0, 0, 0, 0])
            sums[0] += hour.requests
            sums[1] += hour.predictions
            sums[2] += hour.compute_ms
            sums[3] += hour.response_time_ms_sum
        return UsageAggregate(
            start_date=first,
            end_date=last,
            usage_by_date={
                day: {
                    svc: ServiceDay(
                        requests=requests,
                        predictions=predictions,
                        compute_ms=compute_ms,
                        avg_response_time_ms=ratio(rt_sum, requests),
                    )
                    for svc, (requests, predictions, compute_ms, rt_sum) in services.items()
                }
                for day, services in days.items()
            },
        )

    async def daily(self, key_id: uuid.UUID, days: int) -> list[tuple[date, int, int]]:
        """(day, requests, predictions) of the key for each of the last ``days`` days (UTC), today included,
        zero days too: what the dashboard's charts draw."""
        today = self._clock.now().date()
        first = today - timedelta(days=days - 1)
        async with self._db.reader() as session:
            hours = await repository.hourly_of_key(
                session, key_id, periods.day_start(first), periods.day_start(today) + periods.ONE_DAY
            )
        sums = {first + timedelta(days=offset): [0, 0] for offset in range(days)}
        for hour, requests, predictions in hours:
            day = sums[hour.date()]
            day[0] += requests
            day[1] += predictions
        return [(day, requests, predictions) for day, (requests, predictions) in sums.items()]

    # ------------------------------------------------------------------------------------------- billing

    async def billing(self, key_id: uuid.UUID) -> BillingInfo:
        start = periods.month_start(self._clock.now())
        end = periods.next_month(start)
        async with self._db.reader() as session:
            key = await repository.key_billing(session, key_id)
            if key is None:
                raise not_found(KEY_NOT_FOUND)
            totals = await repository.totals(session, key_id, start, end)
        plan, monthly_limit = key
        charge = plans.charge_for(plan, totals.predictions)
        return BillingInfo(
            key_id=key_id,
            billing_plan=plan,  # a plan name: the database's check constraint sees to it
            period=periods.period_name(start),
            current_usage=CurrentUsage(
                requests=totals.requests, predictions=totals.predictions, compute_ms=totals.compute_ms
            ),
            monthly_limit=monthly_limit,
            included_predictions=charge.included_predictions,
            overage_charges=plans.dollars_as_json_number(charge.overage_micros),
            overage_charges_micros=charge.overage_micros,
            next_billing_date=end,
        )

    # ------------------------------------------------------------------------------------------- lifecycle

    async def flush(self) -> int:
        return await self.flusher.flush()

    def start(self) -> None:
        self.flusher.start()

    async def stop(self) -> None:
        await self.flusher.stop()

    def gauges(self) -> dict[str, float]:
        return {
            "usage_buffered_records": float(self.buffer.records),
            "usage_flush_failures": float(self.flusher.failures),
            "usage_records_set_aside": float(self.flusher.set_aside),
        }
