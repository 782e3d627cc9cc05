"""Races in wallet sign-in and sessions, on SQLite and PostgreSQL: one (message, signature) verified many times
at once, on one instance and on two sharing a database; one refresh token presented many times at once; two first
sign-ins of one wallet at once. Each must end as if the requests had come one after another."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.conftest import Service, ServiceFactory
from tests.wallet import Wallet, challenge, sign_in

CONCURRENT = 10


async def verify(svc: Service, message: str, signature: str) -> Any:
    return await svc.client.post("/auth/siwe/verify", json={"message": message, "signature": signature})


def outcomes(responses: list[Any]) -> Counter[tuple[int, str | None]]:
    """(status, code) of each answer: a 5xx or an answer without a code would show here, and fail the test."""
    return Counter((r.status_code, None if r.status_code == 200 else r.json()["code"]) for r in responses)


async def one_signed_message(svc: Service) -> tuple[Wallet, str, str]:
    wallet = Wallet()
    message = (await challenge(svc.client, wallet))["message"]
    return wallet, message, wallet.sign(message)


async def sessions_of(svc: Service, user_id: str) -> int:
    """How many sessions the user has (from the audit log: one session.create per session started)."""
    events = (await svc.client.get("/api/v1/audit-logs?action=session.create", headers=svc.admin)).json()
    return sum(event["actor"] == f"user:{user_id}" for event in events)


async def test_one_signed_message_verified_at_once_signs_in_exactly_once(service: Service) -> None:
    _, message, signature = await one_signed_message(service)
    responses = await asyncio.gather(*(verify(service, message, signature) for _ in range(CONCURRENT)))
    assert outcomes(responses) == {(200, None): 1, (401, "invalid_nonce"): CONCURRENT - 1}
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert await sessions_of(service, winner["user_id"]) == 1


async def test_one_signed_message_verified_on_two_instances_signs_in_exactly_once(
    make_service: ServiceFactory, database_url: str
) -> None:
    first, second = await make_service(database_url), await make_service(database_url)
    _, message, signature = await one_signed_message(first)
    responses = await asyncio.gather(*(verify(svc, message, signature) for svc in [first, second] * (CONCURRENT // 2)))
    assert outcomes(responses) == {(200, None): 1, (401, "invalid_nonce"): CONCURRENT - 1}
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert await sessions_of(first, winner["user_id"]) == 1


async def test_concurrent_refreshes_with_one_token_let_at_most_one_through_and_end_the_session(
    service: Service,
) -> None:
    signed_in = await sign_in(service.client, Wallet())
    body = {"refresh_token": signed_in["refresh_token"]}
    responses = await asyncio.gather(
        *(service.client.post("/auth/token/refresh", json=body) for _ in range(CONCURRENT))
    )
    seen = outcomes(responses)
    assert seen[(200, None)] <= 1, seen
    assert seen[(401, "refresh_token_reused")] >= 1, seen
    assert set(seen) <= {(200, None), (401, "refresh_token_reused"), (401, "invalid_refresh_token")}, seen

    # Two holders of one refresh token: the session is over for both, whatever the winner received.
    access_tokens = [signed_in["access_token"]] + [r.json()["access_token"] for r in responses if r.status_code == 200]
    for token in access_tokens:
        refused = await service.client.post("/api/v1/tokens/validate", json={"token": token})
        assert refused.status_code == 401
        assert refused.json()["code"] == "session_revoked"
    for winner in (r.json() for r in responses if r.status_code == 200):
        later = await service.client.post("/auth/token/refresh", json={"refresh_token": winner["refresh_token"]})
        assert later.status_code == 401
        assert later.json()["code"] == "invalid_refresh_token"


async def test_two_first_sign_ins_of_one_wallet_at_once_make_one_user(service: Service) -> None:
    wallet = Wallet()
    messages = [(await challenge(service.client, wallet))["message"] for _ in range(2)]
    responses = await asyncio.gather(*(verify(service, message, wallet.sign(message)) for message in messages))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert answers[0]["user_id"] == answers[1]["user_id"]
    assert sorted(answer["is_new_user"] for answer in answers) == [False, True]
    users = (await service.client.get("/api/v1/admin/users", headers=service.admin)).json()
    assert [user["wallet_address"] for user in users].count(wallet.address) == 1
    assert await sessions_of(service, answers[0]["user_id"]) == 2
