"""Exact counting across instances, idempotency, flush on shutdown, failed and repeated flushes.

Several app instances share one database (``make_service`` twice on the same ``database_url``), as N service
processes do in production.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hokusai_auth.app import create_app
from hokusai_auth.clock import FrozenClock
from tests.api.usage_helpers import (
    AS_SERVICE,
    MID_JANUARY,
    SERVICE_TOKEN,
    billing,
    execute,
    new_key,
    post_usage,
    record_ok,
    start,
    stats,
)
from tests.conftest import Service, ServiceFactory, make_settings


@pytest.fixture
async def svc(make_service: ServiceFactory, database_url: str) -> Service:
    return await start(make_service, database_url)


async def aggregate_day(svc: Service, day: str) -> dict[str, Any]:
    response = await svc.client.get(
        "/api/v1/usage/aggregate", params={"start_date": day, "end_date": day}, headers=AS_SERVICE
    )
    assert response.status_code == 200
    result: dict[str, Any] = response.json()["usage_by_date"].get(day, {})
    return result


async def test_usage_from_several_instances_adds_up_exactly(make_service: ServiceFactory, database_url: str) -> None:
    clock = FrozenClock(MID_JANUARY)
    first = await start(make_service, database_url, clock)
    second = await start(make_service, database_url, clock)
    key_id = await new_key(first, billing_plan="free")
    for round_ in range(3):  # interleaved flushes: each instance adds to rows the other already wrote
        for index in range(10):
            await record_ok(first, key_id, predictions_count=7, compute_ms=3, response_time_ms=index)
            await record_ok(second, key_id, predictions_count=11, compute_ms=5, response_time_ms=100 + index)
        await record_ok(second, key_id, endpoint="/other", status_code=500, predictions_count=0)
        assert await first.runtime.usage.flush() == 10
        if round_ != 1:  # the second instance skips a flush: rounds 1 and 2 go in one write
            assert await second.runtime.usage.flush() == (11 if round_ == 0 else 22)
    assert await second.runtime.usage.flush() == 0

    for svc in (first, second):
        body = await stats(svc, key_id)
        assert body["total_requests"] == 63
        assert body["total_predictions"] == 3 * (70 + 110)
        assert body["total_compute_ms"] == 3 * (30 + 50)
        assert body["error_rate"] == 3 / 63
        assert body["top_endpoints"] == [{"endpoint": "/predict", "count": 60}, {"endpoint": "/other", "count": 3}]
        day = await aggregate_day(svc, "2026-01-15")
        assert day["prediction"]["requests"] == 63
        assert day["prediction"]["predictions"] == 540
        charge = await billing(svc, key_id)
        assert charge["current_usage"] == {"requests": 63, "predictions": 540, "compute_ms": 240}
        assert charge["overage_charges"] == 0
        assert await svc.runtime.usage.predictions_in_month(uuid.UUID(key_id), clock.now()) == 540


async def test_an_idempotency_key_counts_once_on_one_instance(svc: Service) -> None:
    key_id = await new_key(svc)
    for _ in range(3):
        await record_ok(svc, key_id, predictions_count=5, idempotency_key="req-1")
    assert svc.runtime.usage.buffer.records == 1, "repeats held in memory are dropped at once"
    await svc.runtime.usage.flush()
    await record_ok(svc, key_id, predictions_count=5, idempotency_key="req-1")  # a retry after the flush
    await record_ok(svc, key_id, predictions_count=1, idempotency_key="req-2")
    await svc.runtime.usage.flush()
    body = await stats(svc, key_id)
    assert (body["total_requests"], body["total_predictions"]) == (2, 6)


async def test_an_idempotency_key_counts_once_across_instances(make_service: ServiceFactory, database_url: str) -> None:
    clock = FrozenClock(MID_JANUARY)
    first = await start(make_service, database_url, clock)
    second = await start(make_service, database_url, clock)
    key_id, other_key = await new_key(first), await new_key(first)
    # Both instances hold the same retried record unflushed; then both flush.
    await record_ok(first, key_id, predictions_count=4, idempotency_key="retry-me")
    await record_ok(second, key_id, predictions_count=4, idempotency_key="retry-me")
    await record_ok(second, other_key, predictions_count=4, idempotency_key="retry-me")  # keys are per API key
    await record_ok(first, key_id, predictions_count=1)
    await first.runtime.usage.flush()
    await second.runtime.usage.flush()
    # A later retry on either instance is refused by the database.
    await record_ok(first, key_id, predictions_count=4, idempotency_key="retry-me")
    await record_ok(second, key_id, predictions_count=4, idempotency_key="retry-me")
    await first.runtime.usage.flush()
    await second.runtime.usage.flush()
    assert (await stats(second, key_id))["total_predictions"] == 5
    assert (await stats(first, other_key))["total_predictions"] == 4
    assert (await billing(first, key_id))["current_usage"]["requests"] == 2


async def test_idempotency_keys_are_forgotten_after_48_hours(svc: Service) -> None:
    clock = svc.clock
    assert isinstance(clock, FrozenClock)
    usage = svc.runtime.usage
    key_id = await new_key(svc)
    await record_ok(svc, key_id, predictions_count=1, idempotency_key="old")
    await usage.flush()
    clock.advance(47 * 3600)
    assert await usage.flusher.prune() == 0
    clock.advance(2 * 3600)
    assert await usage.flusher.prune() == 2, "the idempotency key and the batch id"
    await record_ok(svc, key_id, predictions_count=1, idempotency_key="old")
    await usage.flush()
    assert (await stats(svc, key_id, "2026-01"))["total_predictions"] == 2


async def test_graceful_shutdown_writes_what_is_buffered(make_service: ServiceFactory, database_url: str) -> None:
    setup = await start(make_service, database_url)
    key_id = await new_key(setup)
    app = create_app(
        make_settings(database_url, service_tokens=SERVICE_TOKEN, usage_flush_interval=60),
        clock=FrozenClock(MID_JANUARY),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for index in range(25):
                body = {
                    "service_id": "prediction",
                    "endpoint": "/predict",
                    "status_code": 200,
                    "response_time_ms": index,
                    "predictions_count": 2,
                    "idempotency_key": f"r{index % 20}",
                }
                response = await client.post(f"/api/v1/usage/{key_id}", json=body, headers=AS_SERVICE)
                assert response.status_code == 200
        assert app.state.runtime.usage.buffer.records == 20, "nothing written before shutdown"
    reader = await start(make_service, database_url)
    body = await stats(reader, key_id)
    assert (body["total_requests"], body["total_predictions"]) == (20, 40)


async def test_a_failed_flush_keeps_the_data_and_the_next_one_writes_it(svc: Service, database_url: str) -> None:
    usage = svc.runtime.usage
    key_id = await new_key(svc)
    key = uuid.UUID(key_id)
    await record_ok(svc, key_id, predictions_count=3, idempotency_key="once")
    await record_ok(svc, key_id, predictions_count=2)
    await usage.flush()  # rows exist: the failing flush would have added to them

    await record_ok(svc, key_id, predictions_count=10, idempotency_key="kept")
    await record_ok(svc, key_id, predictions_count=20)
    await execute(database_url, "ALTER TABLE usage_rollups RENAME TO usage_rollups_away")
    try:
        assert await usage.flush() == 0
        assert usage.flusher.failures == 1
        assert usage.buffer.records == 2
        await record_ok(svc, key_id, predictions_count=100)
        await record_ok(svc, key_id, predictions_count=3, idempotency_key="once")  # seen by the database
        assert await usage.flush() == 0
        assert usage.buffer.unsent_batches == 2
        assert usage.buffer.pending_predictions(key, datetime(2026, 1, 1, tzinfo=UTC)) == 133
    finally:
        await execute(database_url, "ALTER TABLE usage_rollups_away RENAME TO usage_rollups")
    assert await usage.flush() == 4
    assert usage.flusher.failures == 0
    assert usage.buffer.records == 0
    body = await stats(svc, key_id)
    assert (body["total_requests"], body["total_predictions"]) == (5, 135)
    assert await usage.predictions_in_month(key, MID_JANUARY) == 135


async def test_a_batch_written_again_after_a_lost_commit_counts_once(svc: Service) -> None:
    """The connection may break after COMMIT reached the database: the instance cannot know, so it writes the
    batch again. The batch id, stored in the same transaction, makes the second write count nothing."""
    usage = svc.runtime.usage
    key_id = await new_key(svc)
    await record_ok(svc, key_id, predictions_count=6)
    await record_ok(svc, key_id, predictions_count=1, idempotency_key="k")
    batches = usage.buffer.take()
    await usage.flusher._write(batches)
    await usage.flusher._write(batches)  # the retry of a write whose outcome was lost
    body = await stats(svc, key_id)
    assert (body["total_requests"], body["total_predictions"]) == (2, 7)


async def test_the_background_task_flushes_on_its_own(make_service: ServiceFactory, database_url: str) -> None:
    svc = await make_service(database_url, service_tokens=SERVICE_TOKEN, usage_flush_interval=0.01)
    key_id = await new_key(svc)
    await record_ok(svc, key_id, predictions_count=1)
    # Wait for the flusher's progress in small steps (bounded, so a broken flusher fails instead of hanging).
    usage = svc.runtime.usage
    for _ in range(3000):
        if not usage.buffer.records:
            break
        await asyncio.sleep(0.01)
    assert usage.buffer.records == 0
    assert (await stats(svc, key_id))["total_predictions"] == 1


async def test_in_process_record_validates_its_arguments(svc: Service) -> None:
    usage = svc.runtime.usage
    key = uuid.uuid4()
    good: dict[str, Any] = {"service_id": "prediction", "endpoint": "/p", "status_code": 200, "response_time_ms": 1}
    assert usage.record(key, **good) is True
    assert usage.record(key, **{**good, "idempotency_key": "x"}) is True
    assert usage.record(key, **{**good, "idempotency_key": "x"}) is False
    for change in (
        {"service_id": "nope"},
        {"endpoint": ""},
        {"endpoint": "x" * 256},
        {"status_code": 99},
        {"response_time_ms": -1},
        {"predictions_count": -1},
        {"compute_ms": -1},
        {"idempotency_key": "k" * 201},
    ):
        with pytest.raises(ValueError, match=r"."):
            usage.record(key, **{**good, **change})
    assert usage.buffer.records == 2


async def test_usage_timestamps_use_the_injected_clock(svc: Service) -> None:
    clock = svc.clock
    assert isinstance(clock, FrozenClock)
    key_id = await new_key(svc)
    clock.set(datetime(2030, 6, 30, 23, 0, tzinfo=UTC) + timedelta(minutes=59))
    response = await post_usage(svc, key_id, predictions_count=1)
    assert response.status_code == 200
    await svc.runtime.usage.flush()
    assert (await stats(svc, key_id, "2030-06"))["total_predictions"] == 1
    assert (await aggregate_day(svc, "2030-06-30"))["prediction"]["requests"] == 1
