"""Wallet sign-in across instances: a session ended, a user disabled or enabled, a refresh token spent, a signing key
rotated on instance A is seen by instance B within the contract's second (../shared/docs/contract.md, "Users and
sessions"). Two apps on one PostgreSQL database, with one Redis prefix or none, on the real clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Service, ServiceFactory, eventually, truncate_pg
from tests.wallet import Wallet, bearer, sign_in

PROPAGATION_BOUND_S = 1.0  # the contract: a logout or a disabled user reaches every instance within a second


@pytest.fixture
async def pg(pg_url: str) -> str:
    await truncate_pg(pg_url)
    return pg_url


async def pair(make_service: ServiceFactory, database_url: str, **settings: Any) -> tuple[Service, Service]:
    return await make_service(database_url, **settings), await make_service(database_url, **settings)


async def validate_token(svc: Service, token: str) -> Any:
    return await svc.client.post("/api/v1/tokens/validate", json={"token": token})


async def accepted(svc: Service, token: str) -> None:
    response = await validate_token(svc, token)
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is True


Check = Callable[[], Awaitable[bool]]


def token_refused(svc: Service, token: str, code: str) -> Check:
    async def check() -> bool:
        response = await validate_token(svc, token)
        return bool(response.status_code == 401 and response.json()["code"] == code)

    return check


def key_answers(svc: Service, key: str, status: int, code: str | None = None) -> Check:
    async def check() -> bool:
        response = await svc.validate(key)
        return response.status_code == status and (code is None or response.json().get("code") == code)

    return check


async def set_active(svc: Service, user_id: str, active: bool) -> None:
    response = await svc.client.patch(f"/api/v1/admin/users/{user_id}", json={"is_active": active}, headers=svc.admin)
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is active


async def test_logout_disable_enable_and_refresh_reuse_reach_the_other_instance(
    make_service: ServiceFactory, pg: str, redis_url: str, redis_prefix: str
) -> None:
    a, b = await pair(make_service, pg, redis_url=redis_url, redis_prefix=redis_prefix)
    assert b.runtime.bus is not None
    await b.runtime.bus.subscribed.wait()
    wallet = Wallet()

    # Signed in on A: both instances accept the token; B has the session cached from now on.
    first = await sign_in(a.client, wallet)
    await accepted(a, first["access_token"])
    await accepted(b, first["access_token"])
    reads = b.runtime.session_states.reads
    await accepted(b, first["access_token"])
    assert b.runtime.session_states.reads == reads, "B answers a warm token from memory"

    # Logout on A: B refuses the token within the bound, though it had the session cached.
    out = await a.client.post("/auth/logout", headers=bearer(first["access_token"]))
    assert out.status_code == 200, out.text
    assert (await validate_token(a, first["access_token"])).json()["code"] == "session_revoked"
    await eventually(token_refused(b, first["access_token"], "session_revoked"), within=PROPAGATION_BOUND_S)

    # Another session of the same user, and a key they own; both warm on B.
    second = await sign_in(a.client, wallet)
    created = await a.client.post(
        "/api/v1/keys", json={"name": "mine", "service_id": "platform"}, headers=bearer(second["access_token"])
    )
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    assert (await b.validate(key)).status_code == 200
    await accepted(b, second["access_token"])

    # An operator disables the user on A: on B the key fails user_disabled and the session's token is refused.
    await set_active(a, second["user_id"], False)
    await eventually(key_answers(b, key, 401, "user_disabled"), within=PROPAGATION_BOUND_S)
    stopped = (await b.validate(key)).json()
    assert stopped["error"] == "API key owner is disabled"
    await eventually(token_refused(b, second["access_token"], "session_revoked"), within=PROPAGATION_BOUND_S)

    # Enabled again on A: the key works on B within the bound; the ended session stays ended.
    await set_active(a, second["user_id"], True)
    await eventually(key_answers(b, key, 200), within=PROPAGATION_BOUND_S)
    assert (await validate_token(b, second["access_token"])).json()["code"] == "session_revoked"

    # A refresh token spent on A and presented again on B: reuse, and the session ends everywhere.
    third = await sign_in(a.client, wallet)
    spent = await a.client.post("/auth/token/refresh", json={"refresh_token": third["refresh_token"]})
    assert spent.status_code == 200, spent.text
    renewed = spent.json()
    await accepted(b, renewed["access_token"])  # warm on B before the reuse
    again = await b.client.post("/auth/token/refresh", json={"refresh_token": third["refresh_token"]})
    assert again.status_code == 401, again.text
    assert again.json()["code"] == "refresh_token_reused"
    await eventually(token_refused(b, renewed["access_token"], "session_revoked"), within=PROPAGATION_BOUND_S)
    await eventually(token_refused(a, renewed["access_token"], "session_revoked"), within=PROPAGATION_BOUND_S)
    after = await a.client.post("/auth/token/refresh", json={"refresh_token": renewed["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_refresh_token"


async def test_without_redis_a_logout_reaches_the_other_instance_through_the_database(
    make_service: ServiceFactory, pg: str
) -> None:
    a, b = await pair(make_service, pg)  # no REDIS_URL, the default CHANGE_FEED_INTERVAL
    assert a.runtime.redis is None
    session = await sign_in(a.client, Wallet())
    await accepted(b, session["access_token"])
    await accepted(b, session["access_token"])  # warm

    out = await a.client.post("/auth/logout", headers=bearer(session["access_token"]))
    assert out.status_code == 200, out.text
    await eventually(token_refused(b, session["access_token"], "session_revoked"), within=PROPAGATION_BOUND_S)


async def test_a_signing_key_rotated_on_one_instance_signs_tokens_the_other_accepts(
    make_service: ServiceFactory, pg: str
) -> None:
    a, b = await pair(make_service, pg)
    assert a.runtime.signing_keys.current[0] == b.runtime.signing_keys.current[0], "one key shared by both"
    before = await sign_in(a.client, Wallet())
    await accepted(b, before["access_token"])

    rotation = await a.runtime.signing_keys.rotate()
    assert rotation.kid not in b.runtime.signing_keys.verification_keys(), "B has not reloaded yet"
    after = await sign_in(a.client, Wallet())
    reloads = b.runtime.signing_keys.reloads
    await accepted(b, after["access_token"])  # an unknown kid: B reloads the keys once, then verifies
    assert b.runtime.signing_keys.reloads == reloads + 1
    assert rotation.kid in b.runtime.signing_keys.verification_keys()
    await accepted(b, before["access_token"])  # the retired key still verifies the tokens it signed
    await accepted(a, before["access_token"])
    jwks = (await b.client.get("/.well-known/jwks.json")).json()
    assert rotation.kid in [entry["kid"] for entry in jwks["keys"]]
