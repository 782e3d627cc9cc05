"""The gateway in front of a real (echo) upstream, validating in-process against the auth service's database."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hokusai_auth.gateway.app import GatewayApp
from hokusai_auth.gateway.config import GatewayConfig
from hokusai_auth.gateway.usage import LocalUsage
from tests.conftest import Service, free_port, make_settings
from tests.gateway.upstream import EchoUpstream
from tests.servers import serving


@dataclass
class Gateway:
    url: str
    app: GatewayApp
    echo: EchoUpstream
    upstream_url: str

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30, **kwargs)


@pytest.fixture
async def echo() -> AsyncIterator[tuple[EchoUpstream, str]]:
    upstream = EchoUpstream()
    async with serving(upstream) as url:
        yield upstream, url


@pytest.fixture
async def gateway(echo: tuple[EchoUpstream, str], database_url: str) -> AsyncIterator[Gateway]:
    upstream, url = echo
    config = GatewayConfig(mlflow_upstream=url, prediction_upstream=url, upstream_timeout=1.0)
    app = GatewayApp(config, settings=make_settings(database_url, change_feed_interval=0.1))
    async with serving(app) as gateway_url:
        yield Gateway(gateway_url, app, upstream, url)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_every_key_location_works_and_no_credential_reaches_the_upstream(
    service: Service, gateway: Gateway
) -> None:
    created = await service.create_key(user_id="ds-1")
    key = created["api_key"]
    ways: list[dict[str, Any]] = [
        {"headers": {"Authorization": f"Bearer {key}"}},
        {"headers": {"Authorization": f"ApiKey {key}"}},
        {"headers": {"Authorization": basic("token", key)}},
        {"headers": {"Authorization": basic(key, "")}},
        {"headers": {"X-API-Key": key}},
        {"params": {"api_key": key}},
    ]
    async with gateway.client() as client:
        for way in ways:
            params = {**way.get("params", {}), "max_results": "5", "filter": "a b"}
            headers = {**way.get("headers", {}), "X-Hokusai-User-Id": "spoofed", "Connection": "keep-alive, X-Drop",
                       "X-Drop": "1", "X-Custom": "kept"}  # fmt: skip
            response = await client.get("/api/2.0/mlflow/experiments/get", params=params, headers=headers)
            assert response.status_code == 200, (way, response.text)
            seen = gateway.echo.headers_of()
            assert "authorization" not in seen
            assert "x-api-key" not in seen
            assert "x-drop" not in seen, "headers named by Connection are hop-by-hop"
            assert seen["x-custom"] == "kept"
            assert seen["x-hokusai-user-id"] == "ds-1", "only the gateway sets X-Hokusai-*"
            assert seen["x-hokusai-api-key-id"] == created["key_id"]
            assert seen["host"] == gateway.upstream_url.removeprefix("http://"), "Host is the upstream's"
            assert seen["x-forwarded-for"] == "127.0.0.1"
            query = gateway.echo.requests[-1]["query"]
            assert "api_key" not in query
            assert "max_results=5" in query
            assert "filter=a+b" in query
            assert key not in str(gateway.echo.requests[-1])
            assert response.headers["x-upstream"] == "echo"


@pytest.mark.parametrize(
    ("path", "upstream_path"),
    [
        ("/api/2.0/mlflow/runs/get", "/api/2.0/mlflow/runs/get"),
        ("/ajax-api/2.0/mlflow/runs/get", "/ajax-api/2.0/mlflow/runs/get"),
        ("/api/2.0/mlflow-artifacts/artifacts/1/a%20b.txt", "/api/2.0/mlflow-artifacts/artifacts/1/a%20b.txt"),
        ("/api/3.0/mlflow/traces/get", "/api/3.0/mlflow/traces/get"),
        ("/mlflow/ajax-api/2.0/mlflow/runs/get", "/ajax-api/2.0/mlflow/runs/get"),
        ("/mlflow/", "/"),
        ("/api/mlflow/api/2.0/mlflow/runs/get", "/api/2.0/mlflow/runs/get"),
        ("/prediction/v1/models/7/predict", "/v1/models/7/predict"),
    ],
)
async def test_paths_reach_the_right_upstream_path(
    service: Service, gateway: Gateway, path: str, upstream_path: str
) -> None:
    key = await service.create_key(service_id="prediction" if path.startswith("/prediction") else "platform")
    async with gateway.client() as client:
        method = "POST" if path.startswith("/prediction") else "GET"
        response = await client.request(method, path, headers={"X-API-Key": key["api_key"]})
    assert response.status_code == 200, response.text
    assert gateway.echo.requests[-1]["raw_path"] == upstream_path


async def test_refusals_and_their_statuses(service: Service, gateway: Gateway) -> None:
    read_only = (await service.create_key(scopes=["mlflow:read"]))["api_key"]
    writer = (await service.create_key(scopes=["model:write"]))["api_key"]
    unscoped = (await service.create_key())["api_key"]
    revoked = await service.create_key()
    await service.client.delete(f"/api/v1/keys/{revoked['key_id']}", headers=service.admin)
    limited = (await service.create_key(rate_limit_per_hour=10))["api_key"]
    async with gateway.client() as client:
        none = await client.get("/api/2.0/mlflow/experiments/get")
        assert none.status_code == 401
        assert none.json()["error"] == "API key required"
        assert none.json()["error_code"] == "UNAUTHENTICATED"
        assert "MLFLOW_TRACKING_TOKEN" in none.json()["message"]
        assert none.headers["www-authenticate"].startswith("Basic")
        wrong = await client.get("/api/2.0/mlflow/experiments/get", headers={"X-API-Key": "hk_live_" + "A" * 38})
        assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_api_key")
        gone = await client.get("/api/2.0/mlflow/experiments/get", headers={"X-API-Key": revoked["api_key"]})
        assert (gone.status_code, gone.json()["code"]) == (401, "revoked")

        create_run = "/api/2.0/mlflow/runs/create"
        assert (await client.get("/api/2.0/mlflow/runs/get", headers={"X-API-Key": read_only})).status_code == 200
        assert (await client.post("/api/2.0/mlflow/runs/search", headers={"X-API-Key": read_only})).status_code == 200
        denied = await client.post(create_run, headers={"X-API-Key": read_only}, json={})
        assert denied.status_code == 403
        assert denied.json()["code"] == "insufficient_scope"
        assert denied.json()["required_scope"] == "mlflow:write"
        assert denied.json()["error_code"] == "PERMISSION_DENIED"
        assert (await client.post(create_run, headers={"X-API-Key": writer}, json={})).status_code == 200
        assert (await client.post(create_run, headers={"X-API-Key": unscoped}, json={})).status_code == 200

        wrong_service = await client.post("/prediction/predict", headers={"X-API-Key": unscoped})
        assert (wrong_service.status_code, wrong_service.json()["code"]) == (403, "wrong_service")

        statuses = [(await client.get("/api/2.0/mlflow/runs/get", headers={"X-API-Key": limited})).status_code
                    for _ in range(11)]  # fmt: skip
        assert statuses == [200] * 10 + [429]
        throttled = await client.get("/api/2.0/mlflow/runs/get", headers={"X-API-Key": limited})
        assert throttled.headers["retry-after"]
        assert throttled.json()["error_code"] == "RESOURCE_EXHAUSTED"


async def test_prediction_needs_the_predict_scope(service: Service, gateway: Gateway) -> None:
    predictor = (await service.create_key(service_id="prediction", scopes=["predict"]))["api_key"]
    reader = (await service.create_key(service_id="prediction", scopes=["read"]))["api_key"]
    async with gateway.client() as client:
        assert (await client.post("/prediction/predict", headers={"X-API-Key": predictor}, json={})).status_code == 200
        refused = await client.post("/prediction/predict", headers={"X-API-Key": reader}, json={})
        assert (refused.status_code, refused.json()["required_scope"]) == (403, "predict")


async def test_preflight_and_health_pass_without_a_key(gateway: Gateway) -> None:
    async with gateway.client() as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        assert (await client.get("/ready")).json()["checks"]["auth"] is True
        assert (await client.options("/api/2.0/mlflow/runs/create")).status_code == 200
        assert (await client.get("/mlflow/health")).status_code == 200
        assert (await client.get("/elsewhere")).status_code == 404


async def test_bodies_stream_with_their_length_and_chunked_uploads_get_one(service: Service, gateway: Gateway) -> None:
    key = (await service.create_key())["api_key"]
    payload = bytes(range(256)) * 20_000  # 5 MB
    digest = hashlib.sha256(payload).hexdigest()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    async with gateway.client() as client:
        path = "/api/2.0/mlflow-artifacts/artifacts/0/run/artifacts/model.bin"
        sized = await client.put(path, content=payload, headers={"X-API-Key": key})
        assert sized.status_code == 200
        chunked = await client.put(path, content=chunks(), headers={"X-API-Key": key})
        assert chunked.status_code == 200
        downloaded = await client.get("/api/2.0/mlflow-artifacts/artifacts/big", headers={"X-API-Key": key})
        assert len(downloaded.content) == 80 * 65536
    for seen in gateway.echo.requests[-3:-1]:
        headers = dict(seen["headers"])
        assert (seen["body_length"], seen["body_sha256"]) == (len(payload), digest)
        assert headers["content-length"] == str(len(payload))
        assert "transfer-encoding" not in headers, "MLflow stores an empty artifact for chunked uploads"


async def test_unreachable_and_slow_upstreams(service: Service, database_url: str, gateway: Gateway) -> None:
    key = (await service.create_key())["api_key"]
    async with gateway.client() as client:
        slow = await client.get("/api/2.0/mlflow/runs/slow", headers={"X-API-Key": key})
        assert (slow.status_code, slow.json()["code"]) == (504, "upstream_timeout")
        # A slow answer is not a down upstream: the client's own growing backoff decides when to try again.
        assert "retry-after" not in slow.headers
    closed = f"http://127.0.0.1:{free_port()}"
    app = GatewayApp(GatewayConfig(mlflow_upstream=closed), settings=make_settings(database_url))
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        refused = await client.get("/api/2.0/mlflow/runs/get", headers={"X-API-Key": key})
        assert (refused.status_code, refused.json()["code"]) == (502, "upstream_unreachable")
        assert "mlflow upstream" in refused.json()["detail"]
        assert refused.json()["error_code"] == "BAD_GATEWAY"
        # MLflow's client waits Retry-After instead of its backoff: ~35 s of retries, not ~4 min (docs/gateway.md)
        assert refused.headers["retry-after"] == "5"


async def test_each_proxied_request_is_counted_once_in_usage(service: Service, gateway: Gateway) -> None:
    created = await service.create_key()
    async with gateway.client() as client:
        for _ in range(3):
            await client.get("/api/2.0/mlflow/runs/get", headers={"X-API-Key": created["api_key"]})
        await client.get("/api/2.0/mlflow/runs/get")  # refused: not counted
    running = gateway.app.running
    assert running is not None
    assert isinstance(running.usage, LocalUsage)
    assert await running.usage.flush() == 3
    stats = await service.client.get(f"/api/v1/usage/{created['key_id']}/stats", headers=service.admin)
    assert stats.json()["total_requests"] == 3
    assert stats.json()["top_endpoints"] == [{"endpoint": "/api/2.0/mlflow/runs/get", "count": 3}]


async def test_revocation_reaches_the_gateway(service: Service, gateway: Gateway) -> None:
    created = await service.create_key()
    headers = {"X-API-Key": created["api_key"]}
    async with gateway.client() as client:
        assert (await client.get("/api/2.0/mlflow/runs/get", headers=headers)).status_code == 200
        await service.client.delete(f"/api/v1/keys/{created['key_id']}", headers=service.admin)
        from tests.conftest import eventually

        async def refused() -> bool:
            return (await client.get("/api/2.0/mlflow/runs/get", headers=headers)).status_code == 401

        await eventually(refused, within=1.0)
