"""Queries on the usage tables. Never commits: the flusher and the service own the transactions.

Writes are portable upserts (``INSERT ... ON CONFLICT``, the same on SQLite ≥ 3.35 and PostgreSQL). Rows go in
primary-key order, so concurrent batches from several instances take row locks in one order and cannot deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.db.upsert import insert_for
from hokusai_auth.keys.models import APIKey
from hokusai_auth.usage import histogram
from hokusai_auth.usage.buffer import Counts, IdempotencyRef, RollupKey
from hokusai_auth.usage.models import ADDITIVE, usage_flushes, usage_idempotency_keys, usage_rollups

rollups = usage_rollups.c


async def claim_batches(session: AsyncSession, batch_ids: Sequence[uuid.UUID], now: datetime) -> set[uuid.UUID]:
    """Mark batches written; the ids of those not written before (only these may be counted)."""
    stmt = (
        insert_for(session)(usage_flushes).on_conflict_do_nothing(index_elements=["id"]).returning(usage_flushes.c.id)
    )
    rows = [{"id": batch_id, "flushed_at": now} for batch_id in sorted(batch_ids)]
    return set((await session.execute(stmt, rows)).scalars())


async def claim_idempotency_keys(
    session: AsyncSession, refs: Sequence[IdempotencyRef], now: datetime
) -> set[IdempotencyRef]:
    """Store idempotency keys; the ones not stored before (only their records may be counted)."""
    if not refs:
        return set()
    table = usage_idempotency_keys
    stmt = (
        insert_for(session)(table)
        .on_conflict_do_nothing(index_elements=["key_id", "idempotency_key"])
        .returning(table.c.key_id, table.c.idempotency_key)
    )
    rows = [{"key_id": key_id, "idempotency_key": key, "recorded_at": now} for key_id, key in sorted(refs)]
    return {(row[0], row[1]) for row in await session.execute(stmt, rows)}


def _row(key: RollupKey, counts: Counts) -> dict[str, Any]:
    row: dict[str, Any] = {
        "key_id": key.key_id,
        "bucket_start": key.bucket_start,
        "service_id": key.service_id,
        "endpoint": key.endpoint,
        "status_class": key.status_class,
        "requests": counts.requests,
        "predictions": counts.predictions,
        "compute_ms": counts.compute_ms,
        "response_time_ms_sum": counts.response_time_ms_sum,
        "response_time_ms_max": counts.response_time_ms_max,
    }
    row.update(zip(histogram.COLUMNS, counts.latency, strict=True))
    return row


async def add_rollups(session: AsyncSession, counted: dict[RollupKey, Counts]) -> None:
    """Add counts to the stored rows (creating them as needed): never overwrite, so every instance's batches
    add up exactly."""
    if not counted:
        return
    stmt = insert_for(session)(usage_rollups)
    excluded = stmt.excluded
    updates: dict[str, Any] = {name: rollups[name] + excluded[name] for name in ADDITIVE}
    updates["response_time_ms_max"] = case(
        (excluded.response_time_ms_max > rollups.response_time_ms_max, excluded.response_time_ms_max),
        else_=rollups.response_time_ms_max,
    )
    pk = [column.name for column in usage_rollups.primary_key.columns]
    # One statement, many parameter sets: compiled once (and cached), sent as an executemany.
    await session.execute(
        stmt.on_conflict_do_update(index_elements=pk, set_=updates),
        [_row(key, counted[key]) for key in sorted(counted)],
    )


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget idempotency keys and batch ids older than ``before``."""
    removed = 0
    for stmt in (
        delete(usage_idempotency_keys).where(usage_idempotency_keys.c.recorded_at < before),
        delete(usage_flushes).where(usage_flushes.c.flushed_at < before),
    ):
        result = await session.execute(stmt)
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    return removed


# ------------------------------------------------------------------------------------------------ reading


def _key_month(key_id: uuid.UUID, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(rollups.key_id == key_id, rollups.bucket_start >= start, rollups.bucket_start < end)


async def predictions_between(session: AsyncSession, key_id: uuid.UUID, start: datetime, end: datetime) -> int:
    """One range read of the primary key (key_id, bucket_start, ...)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(rollups.predictions), 0)).where(_key_month(key_id, start, end))
    )
    return int(total or 0)


@dataclass(frozen=True, slots=True)
class Totals:
    requests: int
    predictions: int
    compute_ms: int
    response_time_ms_sum: int
    response_time_ms_max: int
    errors: int
    latency: list[int]


async def totals(session: AsyncSession, key_id: uuid.UUID, start: datetime, end: datetime) -> Totals:
    def total(column: Any) -> Any:
        return func.coalesce(func.sum(column), 0)

    errors = total(case((rollups.status_class >= 4, rollups.requests), else_=0))
    query = select(
        total(rollups.requests),
        total(rollups.predictions),
        total(rollups.compute_ms),
        total(rollups.response_time_ms_sum),
        func.coalesce(func.max(rollups.response_time_ms_max), 0),
        errors,
        *(total(rollups[name]) for name in histogram.COLUMNS),
    ).where(_key_month(key_id, start, end))
    row = [int(value) for value in (await session.execute(query)).one()]
    requests, predictions, compute_ms, rt_sum, rt_max, errors = row[:6]
    return Totals(requests, predictions, compute_ms, rt_sum, rt_max, errors, latency=row[6:])


async def top_endpoints(
    session: AsyncSession, key_id: uuid.UUID, start: datetime, end: datetime, limit: int
) -> list[tuple[str, int]]:
    count = func.sum(rollups.requests).label("count")
    query = (
        select(rollups.endpoint, count)
        .where(_key_month(key_id, start, end))
        .group_by(rollups.endpoint)
        .order_by(count.desc(), rollups.endpoint)
        .limit(limit)
    )
    return [(row[0], int(row[1])) for row in await session.execute(query)]


@dataclass(frozen=True, slots=True)
class HourlyService:
    bucket_start: datetime
    service_id: str
    requests: int
    predictions: int
    compute_ms: int
    response_time_ms_sum: int


async def hourly_by_service(
    session: AsyncSession, start: datetime, end: datetime, service_id: str | None
) -> list[HourlyService]:
    """Per hour and service, across all keys (at most 24 × days × services rows)."""
    query = (
        select(
            rollups.bucket_start,
            rollups.service_id,
            func.sum(rollups.requests),
            func.sum(rollups.predictions),
            func.sum(rollups.compute_ms),
            func.sum(rollups.response_time_ms_sum),
        )
        .where(rollups.bucket_start >= start, rollups.bucket_start < end)
        .group_by(rollups.bucket_start, rollups.service_id)
    )
    if service_id is not None:
        query = query.where(rollups.service_id == service_id)
    return [
        HourlyService(row[0], row[1], int(row[2]), int(row[3]), int(row[4]), int(row[5]))
        for row in await session.execute(query)
    ]


# ------------------------------------------------------------------------------------------------ keys


async def key_exists(session: AsyncSession, key_id: uuid.UUID) -> bool:
    return await session.scalar(select(APIKey.id).where(APIKey.id == key_id)) is not None


async def key_billing(session: AsyncSession, key_id: uuid.UUID) -> tuple[str, int | None] | None:
    """(billing plan, monthly prediction limit) of a key, or None if there is no such key."""
    row = (
        await session.execute(select(APIKey.billing_plan, APIKey.monthly_prediction_limit).where(APIKey.id == key_id))
    ).one_or_none()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True, slots=True)
class KeyTotals:
    key_id: uuid.UUID
    name: str
    key_prefix: str
    requests: int
    predictions: int
    compute_ms: int
    response_time_ms_sum: int
    errors: int


async def totals_by_key_of_organization(
    session: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> list[KeyTotals]:
    """Each key of the organization with usage in [start, end), busiest first: one join of the rollups' primary
    key range with the keys' organization index."""

    def total(column: Any) -> Any:
        return func.coalesce(func.sum(column), 0)

    requests = total(rollups.requests).label("requests")
    query = (
        select(
            APIKey.id,
            APIKey.name,
            APIKey.key_prefix,
            requests,
            total(rollups.predictions),
            total(rollups.compute_ms),
            total(rollups.response_time_ms_sum),
            total(case((rollups.status_class >= 4, rollups.requests), else_=0)),
        )
        .join(usage_rollups, rollups.key_id == APIKey.id)
        .where(APIKey.organization_id == organization_id, rollups.bucket_start >= start, rollups.bucket_start < end)
        .group_by(APIKey.id, APIKey.name, APIKey.key_prefix)
        .order_by(requests.desc(), APIKey.id)
    )
    return [
        KeyTotals(row[0], row[1], row[2], *(int(value) for value in row[3:])) for row in await session.execute(query)
    ]


async def hourly_of_key(
    session: AsyncSession, key_id: uuid.UUID, start: datetime, end: datetime
) -> list[tuple[datetime, int, int]]:
    """(hour, requests, predictions) of one key in [start, end): a range read of the rollups' primary key."""
    query = (
        select(rollups.bucket_start, func.sum(rollups.requests), func.sum(rollups.predictions))
        .where(_key_month(key_id, start, end))
        .group_by(rollups.bucket_start)
        .order_by(rollups.bucket_start)
    )
    return [(row[0], int(row[1]), int(row[2])) for row in await session.execute(query)]
