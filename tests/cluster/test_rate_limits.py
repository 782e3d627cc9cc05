"""Rate limits shared through Redis, and what happens when Redis fails."""

from __future__ import annotations

import asyncio

from tests.conftest import PrivateRedis, ServiceFactory, truncate_pg


async def test_limit_of_ten_admits_exactly_ten_across_instances(
    make_service: ServiceFactory, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    await truncate_pg(pg_url)
    instances = [await make_service(pg_url, redis_url=redis_url, redis_prefix=redis_prefix) for _ in range(3)]
    key = (await instances[0].create_key(rate_limit_per_hour=10))["api_key"]
    responses = await asyncio.gather(*(instances[i % 3].validate(key) for i in range(30)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 10 + [429] * 20
    denied = [response for response in responses if response.status_code == 429]
    assert {response.json()["code"] for response in denied} == {"rate_limited"}
    retry_after = [int(response.headers["retry-after"]) for response in denied]
    assert all(355 <= value <= 360 for value in retry_after), retry_after
    # Denied requests spend nothing: asking again does not push the next admission further away.
    again = await instances[1].validate(key)
    assert int(again.headers["retry-after"]) <= max(retry_after)
    assert again.headers["x-ratelimit-remaining"] == "0"


async def test_burst_and_cost(make_service: ServiceFactory, pg_url: str, redis_url: str, redis_prefix: str) -> None:
    await truncate_pg(pg_url)
    svc = await make_service(pg_url, redis_url=redis_url, redis_prefix=redis_prefix)
    key = (await svc.create_key(rate_limit_per_hour=3600, burst=5))["api_key"]
    assert (await svc.validate(key, cost=0)).json()["rate_limit_remaining"] == 5
    assert (await svc.validate(key, cost=3)).json()["rate_limit_remaining"] == 2
    refused = await svc.validate(key, cost=3)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"  # one unit a second, and one more unit is needed
    assert (await svc.validate(key, cost=2)).status_code == 200


async def test_redis_down_fails_open_to_the_in_process_limiter_by_default(
    make_service: ServiceFactory, pg_url: str, private_redis: PrivateRedis
) -> None:
    await truncate_pg(pg_url)
    svc = await make_service(pg_url, redis_url=private_redis.url)
    key = (await svc.create_key(rate_limit_per_hour=10))["api_key"]
    assert (await svc.validate(key)).status_code == 200
    private_redis.stop()
    statuses = [(await svc.validate(key)).status_code for _ in range(12)]
    # The in-process limiter takes over with the same limit (it has not seen the first request).
    assert statuses == [200] * 10 + [429] * 2
    assert svc.runtime.limiter.fallbacks >= 12


async def test_redis_down_fails_closed_with_503_when_configured(
    make_service: ServiceFactory, pg_url: str, private_redis: PrivateRedis
) -> None:
    await truncate_pg(pg_url)
    svc = await make_service(pg_url, redis_url=private_redis.url, rate_limit_failure_mode="closed")
    created = await svc.create_key(rate_limit_per_hour=10)
    assert (await svc.validate(created["api_key"])).status_code == 200
    private_redis.stop()
    response = await svc.validate(created["api_key"])
    assert response.status_code == 503, "an outage is never reported as a bad key"
    assert response.headers["retry-after"]
    assert response.json()["code"] == "service_unavailable"
    private_redis.start()

    async def back() -> bool:
        return (await svc.validate(created["api_key"])).status_code == 200

    from tests.conftest import eventually

    await eventually(back, within=10)
