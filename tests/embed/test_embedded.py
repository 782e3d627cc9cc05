"""Validating in-process: the Python API and the ASGI middleware a prediction API would use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from hokusai_auth.embed import AuthenticatedKey, EmbeddedValidator, HokusaiAuthMiddleware
from tests.conftest import Service, eventually, make_settings


@pytest.fixture
async def embedded(database_url: str) -> AsyncIterator[EmbeddedValidator]:
    async with EmbeddedValidator.open(make_settings(database_url, change_feed_interval=0.1)) as validator:
        yield validator


async def test_embedded_validator_gives_the_same_decisions(service: Service, embedded: EmbeddedValidator) -> None:
    created = await service.create_key(service_id="prediction", scopes=["predict"], allowed_ips=["10.0.0.0/8"])
    key = created["api_key"]
    ok = await embedded.validate(key, service_id="prediction-api", required_scope="predict", client_ip="10.1.2.3")
    assert ok.valid
    assert AuthenticatedKey.of(ok).key_id.hex == created["key_id"].replace("-", "")
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"service_id": "platform", "client_ip": "10.1.2.3"}, "wrong_service"),
        ({"client_ip": "192.0.2.1"}, "ip_not_allowed"),
        ({"client_ip": "10.1.2.3", "required_scope": "train"}, "insufficient_scope"),
    ]
    for kwargs, code in refusals:
        verdict = await embedded.validate(key, **kwargs)
        assert verdict.rejection is not None
        assert verdict.rejection.code.value == code
    assert (await embedded.validate(None)).rejection.code.value == "missing_api_key"  # type: ignore[union-attr]


async def test_embedded_validator_sees_revocations_made_by_the_service(
    service: Service, embedded: EmbeddedValidator
) -> None:
    created = await service.create_key()
    assert (await embedded.validate(created["api_key"])).valid
    await service.client.delete(f"/api/v1/keys/{created['key_id']}", headers=service.admin)

    async def refused() -> bool:
        verdict = await embedded.validate(created["api_key"])
        return verdict.rejection is not None and verdict.rejection.code.value == "revoked"

    await eventually(refused, within=1.0)


def prediction_api(**middleware: Any) -> FastAPI:
    app = FastAPI()

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        who: AuthenticatedKey = request.state.hokusai
        return {"user_id": who.user_id, "key_id": str(who.key_id)}

    @app.get("/models")
    async def models(request: Request) -> dict[str, Any]:
        return {"scopes": list(request.state.hokusai.scopes)}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(HokusaiAuthMiddleware, **middleware)
    return app


@pytest.fixture
async def api_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = prediction_api(
        service_id="prediction",
        required_scope=lambda scope: "predict" if scope["method"] == "POST" else None,
        settings=make_settings(database_url),
    )
    async with AsyncExitStack() as stack:
        # The middleware opens its stack on the ASGI lifespan; drive it the way a server would.
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
        await stack.enter_async_context(client)
        await stack.enter_async_context(AsgiLifespan(app))
        yield client


class AsgiLifespan:
    """Send the ASGI lifespan events to the whole middleware stack (httpx's transport does not)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __aenter__(self) -> None:
        import asyncio

        self._receive: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task = asyncio.create_task(self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                                  self._receive.get, self._sent.put))  # fmt: skip
        await self._receive.put({"type": "lifespan.startup"})
        message = await self._sent.get()
        assert message["type"] == "lifespan.startup.complete", message

    async def __aexit__(self, *exc: object) -> None:
        await self._receive.put({"type": "lifespan.shutdown"})
        message = await self._sent.get()
        assert message["type"] == "lifespan.shutdown.complete"
        await self._task


async def test_middleware_lets_valid_keys_through_with_their_identity(service: Service, api_client: Any) -> None:
    created = await service.create_key(service_id="prediction", scopes=["predict"], user_id="data-scientist-7")
    response = await api_client.post("/predict", headers={"Authorization": f"Bearer {created['api_key']}"})
    assert response.status_code == 200
    assert response.json() == {"user_id": "data-scientist-7", "key_id": created["key_id"]}
    assert response.headers["x-ratelimit-limit"] == "1000"
    via_query = await api_client.get(f"/models?api_key={created['api_key']}")
    assert via_query.json() == {"scopes": ["predict"]}


async def test_middleware_refuses_with_the_validate_endpoints_exact_answers(service: Service, api_client: Any) -> None:
    platform_key = (await service.create_key(service_id="platform"))["api_key"]
    read_only = (await service.create_key(service_id="prediction", scopes=["read"]))["api_key"]
    cases = [
        ({}, {}),
        ({"X-API-Key": "hk_live_" + "A" * 38}, {"api_key": "hk_live_" + "A" * 38}),
        ({"X-API-Key": platform_key}, {"api_key": platform_key, "service_id": "prediction"}),
        ({"X-API-Key": read_only}, {"api_key": read_only, "service_id": "prediction", "required_scope": "predict"}),
    ]
    for headers, validate_body in cases:
        through_middleware = await api_client.post("/predict", headers=headers)
        through_endpoint = await service.client.post("/api/v1/keys/validate", json=validate_body)
        assert through_middleware.status_code == through_endpoint.status_code == 401
        assert through_middleware.json() == through_endpoint.json()


async def test_middleware_exempts_health_and_preflight(api_client: Any) -> None:
    assert (await api_client.get("/health")).status_code == 200
    assert (await api_client.options("/predict")).status_code != 401


async def test_middleware_refuses_a_credential_given_twice_like_the_service(service: Service, api_client: Any) -> None:
    key = (await service.create_key(service_id="prediction", scopes=["predict"]))["api_key"]
    for headers, query in (
        ([("authorization", f"Bearer {key}"), ("authorization", "Bearer other")], ""),
        ([("x-api-key", key), ("x-api-key", key)], ""),
        ([], f"?api_key={key}&API_KEY={key}"),
    ):
        response = await api_client.post("/predict" + query, headers=headers)
        assert response.status_code == 400
        assert response.json()["code"] == "duplicate_credential"
        assert key not in response.text


async def test_middleware_accepts_a_users_session_token_where_asked(service: Service, database_url: str) -> None:
    from hokusai_auth.embed import AuthenticatedUser
    from tests.wallet import Wallet, bearer, sign_in

    app = FastAPI()

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        who = request.state.hokusai
        if isinstance(who, AuthenticatedUser):
            return {"user_id": str(who.user_id), "wallet": who.wallet_address}
        return {"key_id": str(who.key_id)}

    app.add_middleware(
        HokusaiAuthMiddleware,
        service_id="platform",
        accept_session_tokens=True,
        settings=make_settings(database_url, change_feed_interval=0.1),
    )
    session = await sign_in(service.client, Wallet())
    key = (await service.create_key(service_id="platform"))["api_key"]
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
        )
        await stack.enter_async_context(AsgiLifespan(app))
        as_user = await client.get("/whoami", headers=bearer(session["access_token"]))
        assert as_user.status_code == 200, as_user.text
        assert as_user.json() == {"user_id": session["user_id"], "wallet": session["wallet_address"]}
        assert "key_id" in (await client.get("/whoami", headers=bearer(key))).json(), "keys still work"
        forged = await client.get("/whoami", headers=bearer(session["access_token"][:-3] + "abc"))
        assert forged.status_code == 401
        assert forged.json()["code"] == "invalid_token"

        await service.client.post("/auth/logout", headers=bearer(session["access_token"]))

        async def refused() -> bool:
            answer = await client.get("/whoami", headers=bearer(session["access_token"]))
            return answer.status_code == 401 and answer.json()["code"] == "session_revoked"

        assert await eventually(refused, within=2.0) < 2.0, "a logout elsewhere reaches the middleware"


async def test_without_the_option_a_session_token_is_not_a_key(service: Service, api_client: Any) -> None:
    from tests.wallet import Wallet, bearer, sign_in

    session = await sign_in(service.client, Wallet())
    response = await api_client.get("/models", headers=bearer(session["access_token"]))
    assert response.status_code == 401
    assert response.json()["code"] in ("missing_api_key", "invalid_api_key")
