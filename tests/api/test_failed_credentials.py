"""Refused admin and service tokens: throttled per client address (429 after a burst), audited as one event per
address and window with a count, never a database write per request."""

from __future__ import annotations

import httpx

from tests.api.usage_helpers import SERVICE_TOKEN
from tests.conftest import ADMIN_TOKEN, Service, ServiceFactory

BURST = 5


async def _service(make_service: ServiceFactory, database_url: str) -> Service:
    return await make_service(
        database_url, auth_failure_burst=BURST, auth_failure_per_hour=60, service_tokens=SERVICE_TOKEN
    )


def _from(svc: Service, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=svc.app, client=(address, 5000)), base_url="http://testserver"
    )


async def test_an_address_guessing_tokens_is_throttled_and_then_refused_even_with_the_right_token(
    make_service: ServiceFactory, database_url: str
) -> None:
    svc = await _service(make_service, database_url)
    async with _from(svc, "198.51.100.7") as guesser, _from(svc, "198.51.100.8") as neighbour:
        for attempt in range(BURST):
            response = await guesser.get("/api/v1/keys", headers={"Authorization": f"Bearer guess-{attempt}"})
            assert response.status_code == 401
        throttled = await guesser.get("/api/v1/keys", headers={"Authorization": "Bearer guess-x"})
        assert throttled.status_code == 429
        assert throttled.json()["code"] == "too_many_failed_attempts"
        assert 0 < int(throttled.headers["retry-after"]) <= 60
        # While throttled, a correct token is refused too: otherwise throttling would not slow guessing.
        right = await guesser.get("/api/v1/keys", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert right.status_code == 429
        # Another address is not affected, and neither is a request that offers no token at all.
        assert (await neighbour.get("/api/v1/keys", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})).is_success
        assert (await guesser.get("/api/v1/keys")).status_code == 401
        # Service credentials share the address's allowance.
        usage = await guesser.get("/api/v1/usage/aggregate", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
        assert usage.status_code == 429


async def test_refusals_are_summed_into_one_audit_event_per_address_and_window(
    make_service: ServiceFactory, database_url: str
) -> None:
    svc = await make_service(database_url, auth_failure_burst=1000, auth_failure_per_hour=100_000)
    async with _from(svc, "198.51.100.9") as first, _from(svc, "198.51.100.10") as second:
        for client, count in ((first, 40), (second, 3)):
            for _ in range(count):
                response = await client.post("/api/v1/keys", json={}, headers={"Authorization": "Bearer wrong"})
                assert response.status_code == 401
    assert await svc.runtime.failed_credentials.flush() == 2
    events = (await svc.client.get("/api/v1/audit-logs?action=admin.auth_failed", headers=svc.admin)).json()
    counts = {event["client_ip"]: event["details"]["count"] for event in events}
    assert counts == {"198.51.100.9": 40, "198.51.100.10": 3}
    assert await svc.runtime.failed_credentials.flush() == 0, "each window is written once"


async def test_refusing_a_token_never_waits_on_the_database(make_service: ServiceFactory, backend: str) -> None:
    unreachable = (
        "postgresql://postgres@127.0.0.1:1/nowhere" if backend == "postgresql" else "sqlite:////nonexistent/x.db"
    )
    svc = await make_service(unreachable)
    for _ in range(3):
        assert (await svc.client.get("/api/v1/keys", headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert await svc.runtime.failed_credentials.flush() == 0, "the window could not be written"
    assert svc.runtime.failed_credentials._pending, "and is kept for the next window"
