"""Usage ingest, analytics and billing over HTTP, on SQLite and PostgreSQL.

The apps here flush only when told to (a 60 s interval that never comes within a test), so what is written when is
decided by the test, never by timing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from hokusai_auth.clock import FrozenClock
from tests.api.usage_helpers import (
    AS_ADMIN,
    AS_SERVICE,
    SERVICE_TOKEN,
    billing,
    new_key,
    post_usage,
    record_ok,
    start,
    stats,
)
from tests.conftest import Service, ServiceFactory


@pytest.fixture
async def svc(make_service: ServiceFactory, database_url: str) -> Service:
    return await start(make_service, database_url)


# ------------------------------------------------------------------------------------------- credentials


async def test_every_usage_route_requires_a_service_credential(svc: Service) -> None:
    key_id = await new_key(svc)
    body = {"service_id": "prediction", "endpoint": "/predict", "status_code": 200, "response_time_ms": 5}
    routes = [
        ("POST", f"/api/v1/usage/{key_id}", body),
        ("GET", f"/api/v1/usage/{key_id}/stats", None),
        ("GET", f"/api/v1/usage/{key_id}/billing", None),
        ("GET", "/api/v1/usage/aggregate", None),
    ]
    for method, path, payload in routes:
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": SERVICE_TOKEN}):
            response = await svc.client.request(method, path, json=payload, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.json() == {"detail": "Invalid or missing service credential", "code": "unauthorized"}
            assert response.headers["www-authenticate"] == "Bearer"
        for headers in (AS_SERVICE, AS_ADMIN):
            response = await svc.client.request(method, path, json=payload, headers=headers)
            assert response.status_code == 200, (method, path, response.text)


async def test_refused_service_credentials_are_audited_without_the_token(svc: Service) -> None:
    key_id = await new_key(svc)
    await post_usage(svc, key_id, headers={"Authorization": "Bearer guessed-service-token"})
    await post_usage(svc, key_id, headers={})  # nothing offered: nothing worth auditing
    await svc.runtime.failed_credentials.flush()
    events = (await svc.client.get("/api/v1/audit-logs?action=service.auth_failed", headers=AS_ADMIN)).json()
    assert len(events) == 1
    assert events[0]["outcome"] == "failure"
    assert events[0]["client_ip"] == "203.0.113.9"
    assert "guessed-service-token" not in str(events)


async def test_an_api_key_is_not_a_service_credential(svc: Service) -> None:
    created = await svc.create_key()
    response = await post_usage(svc, created["key_id"], headers={"Authorization": f"Bearer {created['api_key']}"})
    assert response.status_code == 401


async def test_without_service_tokens_only_the_admin_token_reports_usage(service: Service) -> None:
    key_id = await new_key(service)
    assert (await post_usage(service, key_id, headers=AS_SERVICE)).status_code == 401
    assert (await post_usage(service, key_id, headers=AS_ADMIN)).status_code == 200


# ------------------------------------------------------------------------------------------- ingest


@pytest.mark.parametrize("path", ["", "/stats", "/billing"])
async def test_unknown_key_is_404(svc: Service, path: str) -> None:
    for key_id in (str(uuid.uuid4()), "not-a-uuid"):
        if path:
            response = await svc.client.get(f"/api/v1/usage/{key_id}{path}", headers=AS_SERVICE)
        else:
            response = await post_usage(svc, key_id)
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "API key not found", "code": "not_found"}


async def test_a_key_created_on_another_instance_is_accepted(make_service: ServiceFactory, database_url: str) -> None:
    first = await start(make_service, database_url)
    second = await start(make_service, database_url)
    key_id = await new_key(second)
    await record_ok(first, key_id)
    assert await first.runtime.usage.flush() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service_id", "nope"),
        ("service_id", None),
        ("endpoint", ""),
        ("endpoint", "/" + "x" * 255),
        ("endpoint", 5),
        ("status_code", 99),
        ("status_code", 600),
        ("status_code", "200"),
        ("status_code", True),
        ("response_time_ms", -1),
        ("response_time_ms", 1.5),
        ("response_time_ms", "10"),
        ("predictions_count", -1),
        ("predictions_count", "3"),
        ("compute_ms", -5),
        ("idempotency_key", ""),
        ("idempotency_key", "k" * 201),
        ("prediction_count", 3),  # a misspelt field must not silently bill nothing
    ],
)
async def test_invalid_records_are_422_naming_the_field(svc: Service, field: str, value: Any) -> None:
    key_id = await new_key(svc)
    response = await post_usage(svc, key_id, **{field: value})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"].startswith(f"{field}:"), body["detail"]
    assert svc.runtime.usage.buffer.records == 0


async def test_required_fields_are_named_when_missing(svc: Service) -> None:
    key_id = await new_key(svc)
    response = await svc.client.post(f"/api/v1/usage/{key_id}", json={}, headers=AS_SERVICE)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "service_id",
        "endpoint",
        "status_code",
        "response_time_ms",
    }


async def test_service_aliases_are_recorded_under_the_canonical_id(svc: Service) -> None:
    key_id = await new_key(svc)
    await record_ok(svc, key_id, service_id="prediction-api", predictions_count=2)
    await record_ok(svc, key_id, service_id="website")
    await svc.runtime.usage.flush()
    response = await svc.client.get(
        "/api/v1/usage/aggregate?start_date=2026-01-15&end_date=2026-01-15", headers=AS_SERVICE
    )
    day = response.json()["usage_by_date"]["2026-01-15"]
    assert set(day) == {"prediction", "platform"}
    assert day["prediction"]["predictions"] == 2


# ------------------------------------------------------------------------------------------- stats


async def test_stats_totals_average_p95_error_rate_and_top_endpoints(svc: Service) -> None:
    key_id = await new_key(svc)
    usage = svc.runtime.usage
    # 100 requests: 90 at 3 ms, 6 at 40 ms, 4 at 900 ms. The 95th is in the (20, 50] ms bucket: p95 = 50.
    times = [3] * 90 + [40] * 6 + [900] * 4
    statuses = [200] * 80 + [404] * 10 + [500] * 5 + [302] * 5  # 15 errors (status >= 400)
    endpoints = [f"/e{index:02d}" for index in range(12)]
    for index, (ms, status) in enumerate(zip(times, statuses, strict=True)):
        endpoint = endpoints[min(index % 13, 11)]
        usage.record(
            uuid.UUID(key_id),
            service_id="prediction",
            endpoint=endpoint,
            status_code=status,
            response_time_ms=ms,
            predictions_count=2,
            compute_ms=7,
        )
    await usage.flush()
    body = await stats(svc, key_id)
    assert body["key_id"] == key_id
    assert body["period"] == "2026-01"
    assert body["total_requests"] == 100
    assert body["total_predictions"] == 200
    assert body["total_compute_ms"] == 700
    assert body["average_response_time_ms"] == pytest.approx(sum(times) / 100)
    assert body["p95_response_time_ms"] == 50
    assert body["error_rate"] == pytest.approx(0.15)
    counts: dict[str, int] = {}
    for index in range(100):
        endpoint = endpoints[min(index % 13, 11)]
        counts[endpoint] = counts.get(endpoint, 0) + 1
    expected = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
    assert body["top_endpoints"] == [{"endpoint": e, "count": c} for e, c in expected]
    assert len(body["top_endpoints"]) == 10


async def test_p95_is_capped_by_the_slowest_response(svc: Service) -> None:
    key_id = await new_key(svc)
    for ms in (120, 130, 140):  # all in the (100, 200] bucket; the slowest was 140
        await record_ok(svc, key_id, response_time_ms=ms)
    await svc.runtime.usage.flush()
    assert (await stats(svc, key_id))["p95_response_time_ms"] == 140


async def test_stats_of_a_key_without_usage_are_zero(svc: Service) -> None:
    key_id = await new_key(svc)
    body = await stats(svc, key_id)
    assert body == {
        "key_id": key_id,
        "period": "2026-01",
        "total_requests": 0,
        "total_predictions": 0,
        "total_compute_ms": 0,
        "average_response_time_ms": 0.0,
        "p95_response_time_ms": 0,
        "error_rate": 0.0,
        "top_endpoints": [],
    }


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-1", "26-01", "2026-01-01", "january", "0000-01"])
async def test_bad_period_is_422(svc: Service, period: str) -> None:
    key_id = await new_key(svc)
    response = await svc.client.get(f"/api/v1/usage/{key_id}/stats", params={"period": period}, headers=AS_SERVICE)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("period:")
    assert response.json()["code"] == "validation_error"


# ------------------------------------------------------------------------------------------- month boundary


async def test_the_month_boundary_splits_periods_and_billing_cycles(svc: Service) -> None:
    clock = svc.clock
    assert isinstance(clock, FrozenClock)
    key_id = await new_key(svc, billing_plan="free")
    clock.set(datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC))
    await record_ok(svc, key_id, predictions_count=1003)
    clock.set(datetime(2026, 2, 1, 0, 0, tzinfo=UTC))
    await record_ok(svc, key_id, predictions_count=5)
    await svc.runtime.usage.flush()

    assert (await stats(svc, key_id, "2026-01"))["total_predictions"] == 1003
    assert (await stats(svc, key_id, "2026-02"))["total_predictions"] == 5
    assert (await stats(svc, key_id))["period"] == "2026-02", "the default period is the clock's month"

    february = await billing(svc, key_id)
    assert february["current_usage"] == {"requests": 1, "predictions": 5, "compute_ms": 0}
    assert february["overage_charges"] == 0
    assert february["next_billing_date"] == "2026-03-01T00:00:00Z"

    clock.set(datetime(2026, 1, 31, 12, 0, tzinfo=UTC))
    january = await billing(svc, key_id)
    assert january["current_usage"]["predictions"] == 1003
    assert january["overage_charges"] == 0.003
    assert january["overage_charges_micros"] == 3000
    assert january["next_billing_date"] == "2026-02-01T00:00:00Z"

    clock.set(datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    assert (await billing(svc, key_id))["next_billing_date"] == "2027-01-01T00:00:00Z"


async def test_predictions_in_month_includes_unflushed_records(svc: Service) -> None:
    clock = svc.clock
    assert isinstance(clock, FrozenClock)
    usage = svc.runtime.usage
    key_id = await new_key(svc)
    key = uuid.UUID(key_id)
    clock.set(datetime(2026, 1, 31, 23, 59, tzinfo=UTC))
    await record_ok(svc, key_id, predictions_count=7)
    assert await usage.predictions_in_month(key, clock.now()) == 7, "buffered, not yet written"
    await usage.flush()
    assert usage.buffer.records == 0
    await record_ok(svc, key_id, predictions_count=4, idempotency_key="a")
    assert await usage.predictions_in_month(key, clock.now()) == 11, "written plus buffered"
    clock.set(datetime(2026, 2, 1, tzinfo=UTC))
    await record_ok(svc, key_id, predictions_count=2)
    assert await usage.predictions_in_month(key, clock.now()) == 2
    assert await usage.predictions_in_month(key, datetime(2026, 1, 1, tzinfo=UTC)) == 11
    assert await usage.predictions_in_month(uuid.uuid4(), clock.now()) == 0
    await usage.flush()
    assert await usage.predictions_in_month(key, datetime(2026, 1, 10, tzinfo=UTC)) == 11
    assert await usage.predictions_in_month(key, clock.now()) == 2


# ------------------------------------------------------------------------------------------- billing


@pytest.mark.parametrize(
    ("plan", "included"), [("free", 1_000), ("starter", 50_000), ("pro", 500_000), ("enterprise", 5_000_000)]
)
async def test_billing_per_plan_at_and_over_the_included_predictions(svc: Service, plan: str, included: int) -> None:
    at_limit = await new_key(svc, billing_plan=plan, monthly_prediction_limit=included * 2)
    over = await new_key(svc, billing_plan=plan)
    await record_ok(svc, at_limit, predictions_count=included - 1)
    await record_ok(svc, at_limit, predictions_count=1, compute_ms=30)
    await record_ok(svc, over, predictions_count=included + 1234)
    await svc.runtime.usage.flush()

    exact = await billing(svc, at_limit)
    assert exact == {
        "key_id": at_limit,
        "billing_plan": plan,
        "period": "2026-01",
        "current_usage": {"requests": 2, "predictions": included, "compute_ms": 30},
        "monthly_limit": included * 2,
        "included_predictions": included,
        "overage_charges": 0,
        "overage_charges_micros": 0,
        "next_billing_date": "2026-02-01T00:00:00Z",
    }
    charged = await billing(svc, over)
    assert charged["monthly_limit"] is None
    assert charged["overage_charges_micros"] == 1_234_000
    assert charged["overage_charges"] == 1.234
    response = await svc.client.get(f"/api/v1/usage/{over}/billing", headers=AS_SERVICE)
    assert '"overage_charges":1.234,' in response.text, "an exact decimal, not 1.2339999"


async def test_billing_follows_a_plan_change(svc: Service) -> None:
    key_id = await new_key(svc, billing_plan="free")
    await record_ok(svc, key_id, predictions_count=60_000)
    await svc.runtime.usage.flush()
    assert (await billing(svc, key_id))["overage_charges"] == 59.0
    await svc.client.patch(f"/api/v1/keys/{key_id}", json={"billing_plan": "starter"}, headers=AS_ADMIN)
    assert (await billing(svc, key_id))["overage_charges"] == 10.0


# ------------------------------------------------------------------------------------------- aggregate


async def test_aggregate_by_day_and_service(svc: Service) -> None:
    clock = svc.clock
    assert isinstance(clock, FrozenClock)
    first, second = await new_key(svc), await new_key(svc)
    clock.set(datetime(2026, 1, 10, 8, tzinfo=UTC))
    await record_ok(svc, first, predictions_count=3, compute_ms=10, response_time_ms=10)
    await record_ok(svc, second, predictions_count=1, compute_ms=5, response_time_ms=30)
    clock.set(datetime(2026, 1, 10, 23, 59, tzinfo=UTC))
    await record_ok(svc, first, service_id="platform", endpoint="/models", response_time_ms=7)
    clock.set(datetime(2026, 1, 12, 0, 0, tzinfo=UTC))
    await record_ok(svc, first, predictions_count=9, response_time_ms=4)
    await svc.runtime.usage.flush()

    response = await svc.client.get(
        "/api/v1/usage/aggregate", params={"start_date": "2026-01-10", "end_date": "2026-01-12"}, headers=AS_SERVICE
    )
    assert response.status_code == 200
    assert response.json() == {
        "start_date": "2026-01-10",
        "end_date": "2026-01-12",
        "usage_by_date": {
            "2026-01-10": {
                "prediction": {"requests": 2, "predictions": 4, "compute_ms": 15, "avg_response_time_ms": 20.0},
                "platform": {"requests": 1, "predictions": 0, "compute_ms": 0, "avg_response_time_ms": 7.0},
            },
            "2026-01-12": {
                "prediction": {"requests": 1, "predictions": 9, "compute_ms": 0, "avg_response_time_ms": 4.0},
            },
        },
    }
    only = await svc.client.get(
        "/api/v1/usage/aggregate",
        params={"service_id": "ml-platform", "start_date": "2026-01-10", "end_date": "2026-01-11"},
        headers=AS_SERVICE,
    )
    assert only.json()["usage_by_date"] == {
        "2026-01-10": {"platform": {"requests": 1, "predictions": 0, "compute_ms": 0, "avg_response_time_ms": 7.0}}
    }
    # Default: the 30 days ending today (UTC).
    default = (await svc.client.get("/api/v1/usage/aggregate", headers=AS_SERVICE)).json()
    assert (default["start_date"], default["end_date"]) == ("2025-12-14", "2026-01-12")
    assert set(default["usage_by_date"]) == {"2026-01-10", "2026-01-12"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start_date": "2026-1-01"}, "start_date"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"end_date": "yesterday"}, "end_date"),
        ({"end_date": "20260101"}, "end_date"),
        ({"start_date": "2026-01-10", "end_date": "2026-01-09"}, "start_date"),
        ({"start_date": "2025-01-01", "end_date": "2026-01-02"}, "end_date"),  # 367 days
        ({"service_id": "nope"}, "service_id"),
    ],
)
async def test_aggregate_refuses_bad_dates_and_ranges(svc: Service, params: dict[str, str], field: str) -> None:
    response = await svc.client.get("/api/v1/usage/aggregate", params=params, headers=AS_SERVICE)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}:")


async def test_aggregate_accepts_a_full_366_day_range(svc: Service) -> None:
    params = {"start_date": "2024-01-01", "end_date": "2024-12-31"}  # a leap year: 366 days
    response = await svc.client.get("/api/v1/usage/aggregate", params=params, headers=AS_SERVICE)
    assert response.status_code == 200


async def test_metrics_show_buffered_usage_and_label_routes_by_template(svc: Service) -> None:
    key_id = await new_key(svc)
    await record_ok(svc, key_id)
    metrics = (await svc.client.get("/metrics")).text
    assert "hokusai_usage_buffered_records 1.0" in metrics
    assert "hokusai_usage_flush_failures 0.0" in metrics
    assert 'route="/api/v1/usage/{key_id}"' in metrics
    assert key_id not in metrics
