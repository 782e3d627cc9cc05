"""The monthly prediction quota, on the validation path."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import Service


async def use(service: Service, key_id: str, predictions: int) -> None:
    response = await service.client.post(
        f"/api/v1/usage/{key_id}",
        json={"service_id": "prediction", "endpoint": "/predict", "status_code": 200, "response_time_ms": 12,
              "predictions_count": predictions},
        headers=service.admin,
    )  # fmt: skip
    assert response.status_code == 200, response.text


async def test_quota_refuses_once_the_months_predictions_reach_the_limit(service: Service) -> None:
    assert service.clock is not None
    service.clock.set(datetime(2027, 1, 31, 23, 59, 30, tzinfo=UTC))
    created = await service.create_key(service_id="prediction", monthly_prediction_limit=5, rate_limit_per_hour=100)
    key, key_id = created["api_key"], created["key_id"]
    await use(service, key_id, 4)
    assert (await service.validate(key)).status_code == 200

    service.clock.advance(2)  # the per-key count is cached for a second
    await use(service, key_id, 1)  # not flushed yet: this instance's buffer counts too
    refused = await service.validate(key)
    assert refused.status_code == 429
    body = refused.json()
    assert (body["error"], body["code"]) == ("Monthly prediction limit exceeded", "quota_exceeded")
    assert refused.headers["retry-after"] == "28", "until the 1st of next month, 00:00 UTC"
    remaining = int(refused.headers["x-ratelimit-remaining"])
    assert (await service.validate(key)).status_code == 429
    assert int((await service.validate(key)).headers["x-ratelimit-remaining"]) == remaining, "refusals spend nothing"

    service.clock.set(datetime(2027, 2, 1, 0, 0, 0, tzinfo=UTC))  # a new cycle
    assert (await service.validate(key)).status_code == 200


async def test_quota_counts_written_usage_too(service: Service) -> None:
    created = await service.create_key(service_id="prediction", monthly_prediction_limit=3)
    await use(service, created["key_id"], 3)
    assert await service.runtime.usage.flush() == 1
    assert (await service.validate(created["api_key"])).json()["code"] == "quota_exceeded"


async def test_quota_only_concerns_prediction_keys_with_a_limit(service: Service) -> None:
    platform = await service.create_key(service_id="platform", monthly_prediction_limit=0)
    assert (await service.validate(platform["api_key"])).status_code == 200
    unlimited = await service.create_key(service_id="prediction")
    await use(service, unlimited["key_id"], 1000)
    assert (await service.validate(unlimited["api_key"])).status_code == 200
    zero = await service.create_key(service_id="prediction", monthly_prediction_limit=0)
    assert (await service.validate(zero["api_key"])).json()["code"] == "quota_exceeded"
