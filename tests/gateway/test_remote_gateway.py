"""The gateway validating over HTTP against a separately served auth service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from hokusai_auth.app import create_app
from hokusai_auth.gateway.app import GatewayApp
from hokusai_auth.gateway.config import GatewayConfig
from hokusai_auth.gateway.remote_auth import RemoteAuthenticator
from tests.conftest import ADMIN_TOKEN, eventually, free_port, make_settings, truncate_pg
from tests.gateway.upstream import EchoUpstream
from tests.servers import serving

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SERVICE_TOKEN = "gateway-service-token-" + "s" * 30


@dataclass
class Setup:
    auth_url: str
    gateway_url: str
    gateway: GatewayApp
    echo: EchoUpstream

    async def key(self, **fields: object) -> dict[str, str]:
        async with httpx.AsyncClient(base_url=self.auth_url) as client:
            body = {"name": "remote", "service_id": "platform", **fields}
            created: dict[str, str] = (await client.post("/api/v1/keys", json=body, headers=ADMIN)).json()
            return created

    @property
    def remote(self) -> RemoteAuthenticator:
        assert self.gateway.running is not None
        auth = self.gateway.running.auth
        assert isinstance(auth, RemoteAuthenticator)
        return auth


@asynccontextmanager
async def _setup(database_url: str, **settings: object) -> AsyncIterator[Setup]:
    echo = EchoUpstream()
    auth_app = create_app(make_settings(database_url, service_tokens=SERVICE_TOKEN, **settings))
    async with serving(echo) as upstream_url, serving(auth_app) as auth_url:
        config = GatewayConfig(mlflow_upstream=upstream_url, auth_service_url=auth_url, auth_cache_ttl=60,
                               service_token=SERVICE_TOKEN)  # fmt: skip
        gateway = GatewayApp(config, settings=make_settings(database_url, **settings))
        async with serving(gateway) as gateway_url:
            yield Setup(auth_url, gateway_url, gateway, echo)


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[Setup]:
    async with _setup(database_url) as value:
        yield value


async def test_remote_validation_caches_successes_and_still_spends_every_unit(setup: Setup) -> None:
    created = await setup.key(rate_limit_per_hour=10, user_id="remote-user")
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    async with httpx.AsyncClient(base_url=setup.gateway_url) as client:
        statuses = [(await client.get("/api/2.0/mlflow/runs/get", headers=headers)).status_code for _ in range(14)]
    assert statuses == [200] * 10 + [429] * 4, "exactly the key's limit, although most came from the cache"
    assert setup.remote.calls < 14
    assert setup.echo.headers_of()["x-hokusai-user-id"] == "remote-user"
    # The auth service's own count agrees: nothing is left to spend.
    async with httpx.AsyncClient(base_url=setup.auth_url) as auth:
        check = await auth.post("/api/v1/keys/validate", headers=headers, json={"cost": 0})
    assert check.headers["x-ratelimit-remaining"] == "0"


async def test_remote_refusals_map_like_local_ones(setup: Setup) -> None:
    reader = (await setup.key(scopes=["read"]))["api_key"]
    async with httpx.AsyncClient(base_url=setup.gateway_url) as client:
        assert (await client.get("/api/2.0/mlflow/runs/get")).status_code == 401
        wrong = await client.get("/api/2.0/mlflow/runs/get", headers={"X-API-Key": "hk_test_" + "B" * 38})
        assert wrong.status_code == 401
        denied = await client.post("/api/2.0/mlflow/runs/create", headers={"X-API-Key": reader}, json={})
        assert (denied.status_code, denied.json()["required_scope"]) == (403, "mlflow:write")
    assert setup.remote.calls == 1, "a missing or malformed key is refused without asking the auth service"


async def test_auth_service_unreachable_is_503_not_401(database_url: str) -> None:
    echo = EchoUpstream()
    async with serving(echo) as upstream_url:
        config = GatewayConfig(mlflow_upstream=upstream_url, auth_service_url=f"http://127.0.0.1:{free_port()}")
        gateway = GatewayApp(config, settings=make_settings(database_url))
        async with serving(gateway) as url, httpx.AsyncClient(base_url=url) as client:
            from hokusai_auth.keys import tokens

            response = await client.get(
                "/api/2.0/mlflow/runs/get", headers={"X-API-Key": tokens.generate("production")}
            )
            assert response.status_code == 503
            assert response.headers["retry-after"]
            assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
            assert (await client.get("/ready")).status_code == 503
            assert echo.requests == []


async def test_usage_is_reported_to_the_auth_service(setup: Setup) -> None:
    created = await setup.key()
    async with httpx.AsyncClient(base_url=setup.gateway_url) as client:
        for _ in range(4):
            await client.get("/api/2.0/mlflow/runs/get", headers={"X-API-Key": created["api_key"]})

    async def counted() -> bool:
        async with httpx.AsyncClient(base_url=setup.auth_url) as auth:
            stats = await auth.get(f"/api/v1/usage/{created['key_id']}/stats", headers=ADMIN)
        return bool(stats.json()["total_requests"] == 4)

    await eventually(counted, within=10)


async def test_revocation_is_pushed_to_a_remote_gateway_through_redis(
    pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    await truncate_pg(pg_url)
    async with _setup(pg_url, redis_url=redis_url, redis_prefix=redis_prefix) as setup:
        created = await setup.key()
        headers = {"X-API-Key": created["api_key"]}
        async with httpx.AsyncClient(base_url=setup.gateway_url) as client:
            assert (await client.get("/api/2.0/mlflow/runs/get", headers=headers)).status_code == 200
            async with httpx.AsyncClient(base_url=setup.auth_url) as auth:
                await auth.delete(f"/api/v1/keys/{created['key_id']}", headers=ADMIN)

            async def refused() -> bool:
                return (await client.get("/api/2.0/mlflow/runs/get", headers=headers)).status_code == 401

            # The gateway caches successes for 60 s here: only the push can make this quick.
            await eventually(refused, within=1.0)
