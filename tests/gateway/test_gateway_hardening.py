"""The gateway under the tricks found when it was attacked, in both modes (validating in-process and over HTTP):
forwarding headers, encoded paths, credentials in unexpected places, duplicates, NUL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from hokusai_auth.app import create_app
from hokusai_auth.gateway.app import GatewayApp
from hokusai_auth.gateway.config import GatewayConfig
from tests.conftest import ADMIN_TOKEN, eventually, make_settings
from tests.gateway.upstream import EchoUpstream
from tests.servers import raw_request, serving

SERVICE_TOKEN = "gateway-usage-token-" + "u" * 30


@dataclass
class Rig:
    gateway_url: str
    auth_url: str
    echo: EchoUpstream

    async def key(self, **fields: object) -> str:
        async with httpx.AsyncClient(base_url=self.auth_url) as client:
            body = {"name": "g", "service_id": "platform", **fields}
            response = await client.post("/api/v1/keys", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            return str(response.json()["api_key"])

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.gateway_url, timeout=30)

    def seen(self, name: str) -> list[str]:
        """Every value of header ``name`` the upstream received on the last request."""
        return [value for key, value in self.echo.requests[-1]["headers"] if key == name]


@pytest.fixture(params=["in-process", "remote"])
async def rig(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Rig]:
    echo = EchoUpstream()
    settings = make_settings(database_url, service_tokens=SERVICE_TOKEN)
    remote = request.param == "remote"
    async with serving(echo) as upstream, serving(create_app(settings)) as auth_url:
        config = GatewayConfig(
            mlflow_upstream=upstream,
            prediction_upstream=upstream,
            auth_service_url=auth_url if remote else None,
            service_token=SERVICE_TOKEN if remote else None,
        )
        async with serving(GatewayApp(config, settings=settings)) as gateway_url:
            yield Rig(gateway_url, auth_url, echo)


async def test_the_upstream_sees_only_the_gateways_forwarding_headers(rig: Rig) -> None:
    key = await rig.key()
    spoofed = {
        "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Port": "1", "X-Request-ID": "client-chosen-id", "Forwarded": "for=6.6.6.6;proto=https",
        "X-Real-IP": "6.6.6.6", "Authorization": f"Bearer {key}", "X-HTTP-Method-Override": "DELETE",
        "X-Original-URL": "/api/2.0/mlflow/experiments/delete",
    }  # fmt: skip
    async with rig.client() as client:
        response = await client.get("/api/2.0/mlflow/experiments/get", headers=spoofed)
    assert response.status_code == 200
    assert rig.seen("x-forwarded-for") == ["127.0.0.1"]
    assert rig.seen("x-forwarded-proto") == ["http"]
    assert rig.seen("x-forwarded-host") == [rig.gateway_url.removeprefix("http://")]
    assert rig.seen("x-request-id") == ["client-chosen-id"] == [response.headers["x-request-id"]]
    for dropped in ("forwarded", "x-real-ip", "x-forwarded-port", "x-http-method-override", "x-original-url"):
        assert rig.seen(dropped) == [], dropped


async def test_encoded_paths_route_and_forward_as_one_path(rig: Rig) -> None:
    key = await rig.key()
    async with rig.client() as client:
        for path in ("/mlflow%2Fhealth", "/prediction%2Fhealth", "/mlflow%2fapi/2.0/mlflow/experiments/get"):
            response = await client.get(path)
            assert response.status_code == 404, (path, response.text)
        encoded = await client.get(
            "/%6Dlflow/api/2.0/mlflow/experiments/%67et", headers={"Authorization": f"Bearer {key}"}
        )
        assert encoded.status_code == 200, encoded.text
    assert rig.echo.requests[-1]["raw_path"] == "/api/2.0/mlflow/experiments/get"


@pytest.mark.parametrize(
    "target",
    [
        b"/mlflow/../prediction/predict",
        b"/mlflow/%2E%2E/prediction/predict",
        b"/api/2.0/mlflow/runs/x/%2e%2e/search",
        b"/api/2.0/mlflow/runs/x%2F..%2Fsearch",
        b"/prediction/./predict",
    ],
)
async def test_dot_segments_are_refused(rig: Rig, target: bytes) -> None:
    key = await rig.key()
    status = await raw_request(rig.gateway_url, target, {"Authorization": f"Bearer {key}"})
    assert status == 400
    assert rig.echo.requests == []


async def test_key_shaped_values_never_reach_the_upstream(rig: Rig) -> None:
    key = await rig.key()
    async with rig.client() as client:
        response = await client.get(
            f"/api/2.0/mlflow/experiments/get?API_KEY={key}&Api_Key={key}&experiment_id=1&token={key}",
            headers={"X-Note": f"see {key}", "Cookie": f"k={key}"},
        )
        assert response.status_code == 400, "API_KEY and Api_Key are the same parameter given twice"
        response = await client.get(
            f"/api/2.0/mlflow/experiments/get?API_KEY={key}&experiment_id=1&token={key}&filter=a%20b",
            headers={"X-Note": f"see {key}", "Cookie": f"k={key}"},
        )
    assert response.status_code == 200, response.text
    seen = rig.echo.requests[-1]
    assert seen["query"] == "experiment_id=1&filter=a%20b"
    assert key not in str(seen["headers"])


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/2.0/mlflow/experiments/get", [("authorization", "Bearer a"), ("authorization", "Bearer b")]),
        ("/api/2.0/mlflow/experiments/get?api_key=a&api_key=b", []),
        ("/prediction/predict", [("x-api-key", "a"), ("x-api-key", "b")]),
    ],
)
async def test_a_credential_given_twice_is_a_400(rig: Rig, path: str, headers: list[tuple[str, str]]) -> None:
    key = await rig.key()
    filled = [(name, value.replace("a", key, 1) if value.endswith("a") else value) for name, value in headers]
    async with rig.client() as client:
        response = await client.get(path.replace("api_key=a", f"api_key={key}"), headers=filled)
    assert response.status_code == 400
    assert response.json()["code"] == "duplicate_credential"
    assert rig.echo.requests == []


async def test_nul_in_a_proxied_path_is_a_400_and_usage_keeps_flowing(rig: Rig) -> None:
    key = await rig.key(service_id="prediction")
    async with rig.client() as client:
        assert (await client.get("/prediction/predict%00x", headers={"X-API-Key": key})).status_code == 400
        assert (await client.get("/prediction/predict", headers={"X-API-Key": key})).status_code == 200


async def test_own_answers_carry_the_envelope_and_relayed_ones_keep_the_upstreams(rig: Rig) -> None:
    key = await rig.key()
    async with rig.client() as client:
        refused = await client.get("/api/2.0/mlflow/experiments/get")
        relayed = await client.get("/api/2.0/mlflow/experiments/get", headers={"X-API-Key": key})
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in refused.headers["content-security-policy"]
    assert refused.headers["x-request-id"]
    assert relayed.headers["x-upstream"] == "echo"
    assert "content-security-policy" not in relayed.headers, "MLflow's UI needs its own policy"
    assert relayed.headers["x-request-id"] == rig.seen("x-request-id")[0]


async def test_random_paths_make_one_usage_label_not_one_each(rig: Rig) -> None:
    """30 invented paths once made 30 usage rows. Usage is recorded in-process, or reported over HTTP with the
    gateway's service token; either way the label is a route template or "other"."""
    key = await rig.key(service_id="prediction")
    async with rig.client() as client:
        assert (await client.post("/prediction/predict", headers={"X-API-Key": key})).status_code == 200
        for number in range(30):
            response = await client.get(f"/prediction/invented/{number}/x{number}", headers={"X-API-Key": key})
            assert response.status_code == 200
    key_id = rig.seen("x-hokusai-api-key-id")[0]

    async def endpoints() -> list[dict[str, object]] | None:
        async with httpx.AsyncClient(base_url=rig.auth_url) as auth:
            stats = await auth.get(f"/api/v1/usage/{key_id}/stats", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        body = stats.json()
        return body["top_endpoints"] if body["total_requests"] == 31 else None

    async def counted() -> bool:
        return await endpoints() is not None

    await eventually(counted, within=15)
    assert await endpoints() == [{"endpoint": "other", "count": 30}, {"endpoint": "/predict", "count": 1}]
