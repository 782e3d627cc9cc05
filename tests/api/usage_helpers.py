"""Helpers shared by the usage tests: apps that flush only when told to, and short ways to post and read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from hokusai_auth.clock import FrozenClock
from hokusai_auth.db.engine import create_engine
from tests.conftest import ADMIN_TOKEN, Service, ServiceFactory

SERVICE_TOKEN = "test-service-token-" + "s" * 30
AS_SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MID_JANUARY = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


async def start(make_service: ServiceFactory, database_url: str, clock: FrozenClock | None = None) -> Service:
    return await make_service(
        database_url, clock=clock or FrozenClock(MID_JANUARY), service_tokens=SERVICE_TOKEN, usage_flush_interval=60
    )


async def post_usage(svc: Service, key_id: str, headers: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
    body = {"service_id": "prediction", "endpoint": "/predict", "status_code": 200, "response_time_ms": 10, **fields}
    return await svc.client.post(
        f"/api/v1/usage/{key_id}", json=body, headers=AS_SERVICE if headers is None else headers
    )


async def record_ok(svc: Service, key_id: str, **fields: Any) -> None:
    response = await post_usage(svc, key_id, **fields)
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Usage recorded successfully"}


async def stats(svc: Service, key_id: str, period: str | None = None) -> dict[str, Any]:
    query = f"?period={period}" if period else ""
    response = await svc.client.get(f"/api/v1/usage/{key_id}/stats{query}", headers=AS_SERVICE)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def billing(svc: Service, key_id: str) -> dict[str, Any]:
    response = await svc.client.get(f"/api/v1/usage/{key_id}/billing", headers=AS_SERVICE)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def new_key(svc: Service, **fields: Any) -> str:
    return str((await svc.create_key(**fields))["key_id"])


async def execute(database_url: str, sql: str) -> None:
    """Run one SQL statement on its own engine (to break or inspect a database behind the service's back)."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()
