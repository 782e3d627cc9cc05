"""Wallet sign-in (SIWE), sessions and self-service keys, end to end over HTTP, on SQLite and PostgreSQL.

The contract's list (../shared/docs/contract.md, "Users and sessions"), each case as a user or an attacker
would meet it. Wallets are real secp256k1 accounts from eth-account.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from hokusai_auth.clock import FrozenClock
from tests.conftest import Service
from tests.wallet import Wallet, bearer, challenge, sign_in


async def verify(service: Service, message: str, signature: str) -> Any:
    return await service.client.post("/auth/siwe/verify", json={"message": message, "signature": signature})


async def validate_token(service: Service, token: str) -> Any:
    return await service.client.post("/api/v1/tokens/validate", json={"token": token})


def refused(response: Any, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code, response.text


# ----------------------------------------------------------------------------------------------- sign-in


async def test_a_wallet_signs_in_and_the_first_sign_in_creates_the_user(service: Service) -> None:
    wallet = Wallet()
    issued = await challenge(service.client, wallet)
    message = issued["message"]
    assert message.startswith("127.0.0.1:8000 wants you to sign in with your Ethereum account:\n" + wallet.address)
    assert "\nURI: http://127.0.0.1:8000\n" in message
    assert "\nVersion: 1\nChain ID: 1\n" in message
    assert re.search(r"\nNonce: [A-Za-z0-9]{16,}\n", message)
    assert f"Nonce: {issued['nonce']}" in message
    assert "Expiration Time: " in message

    answer = await verify(service, message, wallet.sign(message))
    assert answer.status_code == 200, answer.text
    first = answer.json()
    assert first["token_type"] == "bearer"
    assert first["expires_in"] == 900
    assert first["wallet_address"] == wallet.address
    assert first["is_new_user"] is True
    assert first["refresh_token"].startswith("hkr_")
    me = await service.client.get("/auth/me", headers=bearer(first["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == first["user_id"]
    assert me.json()["wallet_address"] == wallet.address

    again = await sign_in(service.client, wallet)
    assert again["is_new_user"] is False
    assert again["user_id"] == first["user_id"]
    sessions = await service.client.get("/auth/sessions", headers=bearer(again["access_token"]))
    assert len(sessions.json()) == 2
    assert sum(entry["current"] for entry in sessions.json()) == 1


async def test_an_address_in_any_case_is_the_same_user(service: Service) -> None:
    wallet = Wallet()
    first = await sign_in(service.client, wallet)
    lower = await service.client.post("/auth/siwe/challenge", json={"wallet_address": wallet.address.lower()})
    assert lower.status_code == 200
    message = lower.json()["message"]
    assert wallet.address in message  # checksummed in the message
    answer = await verify(service, message, wallet.sign(message))
    assert answer.json()["user_id"] == first["user_id"]


@pytest.mark.parametrize("address", ["0x123", "not an address", "0x" + "g" * 40, "", "0xAbCdEf" + "0" * 34])
async def test_a_malformed_address_is_422_naming_the_field(service: Service, address: str) -> None:
    response = await service.client.post("/auth/siwe/challenge", json={"wallet_address": address})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("wallet_address")


# ----------------------------------------------------------------------------------------------- attacks


async def test_a_replayed_message_and_signature_is_invalid_nonce(service: Service) -> None:
    wallet = Wallet()
    message = (await challenge(service.client, wallet))["message"]
    signature = wallet.sign(message)
    assert (await verify(service, message, signature)).status_code == 200
    refused(await verify(service, message, signature), "invalid_nonce")


async def test_a_nonce_issued_to_another_address_is_invalid_nonce(service: Service) -> None:
    victim, attacker = Wallet(), Wallet()
    issued = await challenge(service.client, victim)
    forged = issued["message"].replace(victim.address, attacker.address)
    refused(await verify(service, forged, attacker.sign(forged)), "invalid_nonce")


async def test_an_unknown_nonce_is_invalid_nonce(service: Service) -> None:
    wallet = Wallet()
    message = (await challenge(service.client, wallet))["message"]
    made_up = re.sub(r"Nonce: \w+", "Nonce: AAAAAAAAAAAAAAAAAAAAAAAA", message)
    refused(await verify(service, made_up, wallet.sign(made_up)), "invalid_nonce")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("127.0.0.1:8000 wants", "evil.example wants"),
        ("URI: http://127.0.0.1:8000", "URI: https://evil.example"),
        ("URI: http://127.0.0.1:8000", "URI: http://127.0.0.1:80001"),
    ],
)
async def test_a_message_for_another_domain_or_uri_is_domain_mismatch(service: Service, old: str, new: str) -> None:
    wallet = Wallet()
    message = (await challenge(service.client, wallet))["message"].replace(old, new)
    refused(await verify(service, message, wallet.sign(message)), "domain_mismatch")


async def test_a_chain_that_is_not_allowed(service: Service) -> None:
    wallet = Wallet()
    message = (await challenge(service.client, wallet))["message"].replace("Chain ID: 1\n", "Chain ID: 5\n")
    refused(await verify(service, message, wallet.sign(message)), "chain_not_allowed")
    asked = await service.client.post("/auth/siwe/challenge", json={"wallet_address": wallet.address, "chain_id": 5})
    assert asked.status_code == 422
    assert asked.json()["detail"].startswith("chain_id")


async def test_an_expired_message_is_message_expired(service: Service) -> None:
    assert isinstance(service.clock, FrozenClock)
    wallet = Wallet()
    message = (await challenge(service.client, wallet))["message"]
    service.clock.advance(301)
    refused(await verify(service, message, wallet.sign(message)), "message_expired")


async def test_not_before_in_the_future_is_message_expired(service: Service) -> None:
    wallet = Wallet()
    message = (await challenge(service.client, wallet))["message"]
    message = message.replace("\nExpiration Time:", "\nExpiration Time:", 1)
    issued_at = re.search(r"Issued At: (\S+)", message)
    expiration = re.search(r"Expiration Time: (\S+)", message)
    assert issued_at is not None
    assert expiration is not None
    message = message.replace(
        f"Expiration Time: {expiration.group(1)}",
        f"Expiration Time: {expiration.group(1)}\nNot Before: 2199-01-01T00:00:00Z",
    )
    refused(await verify(service, message, wallet.sign(message)), "message_expired")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.replace("\n", "\r\n"),
        lambda m: m.replace("Sign in to Hokusai", "Sign in to Hokusai\r\nURI: https://evil.example"),
        lambda m: m.replace("Sign in", "Sіgn in"),  # Cyrillic і
        lambda m: m.replace("Sign in", "Sign\u202ein"),  # bidi override
        lambda m: m.replace("Sign in", "Sign\x00in"),
        lambda m: m + "\nExtra: line",
        lambda m: m.replace("Version: 1", "Version: 2"),
        lambda m: m.replace("Sign in to Hokusai with your Ethereum account.", "x" * 4100),
        lambda m: "",
        lambda m: "hello",
    ],
)
async def test_a_message_that_is_not_strict_eip_4361_is_invalid_message(service: Service, tamper: Any) -> None:
    wallet = Wallet()
    message = tamper((await challenge(service.client, wallet))["message"])
    refused(await verify(service, message, wallet.sign(message) if message else "0x" + "00" * 65), "invalid_message")


async def test_a_non_checksummed_address_in_the_message_is_invalid_message(service: Service) -> None:
    wallet = Wallet()
    message = (await challenge(service.client, wallet))["message"].replace(wallet.address, wallet.address.lower())
    refused(await verify(service, message, wallet.sign(message)), "invalid_message")


def _high_s(signature: str) -> str:
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    raw = bytes.fromhex(signature[2:])
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    return "0x" + (r + (n - s).to_bytes(32, "big") + bytes([55 - v])).hex()  # 27 <-> 28


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-2],  # short
        lambda s: s + "00",  # long
        lambda s: "0x" + "zz" * 65,  # not hex
        lambda s: s[2:],  # no 0x
        lambda s: s[:-2] + "1d",  # v = 29
        lambda s: "0x" + "00" * 32 + s[66:],  # r = 0
        _high_s,
        lambda s: "",
    ],
)
async def test_a_malformed_signature_is_invalid_signature(service: Service, mangle: Any) -> None:
    wallet = Wallet()
    message = (await challenge(service.client, wallet))["message"]
    refused(await verify(service, message, mangle(wallet.sign(message))), "invalid_signature")


async def test_a_signature_by_another_wallet_is_invalid_signature(service: Service) -> None:
    wallet, other = Wallet(), Wallet()
    message = (await challenge(service.client, wallet))["message"]
    refused(await verify(service, message, other.sign(message)), "invalid_signature")


@pytest.mark.parametrize("body", [{}, {"message": 1, "signature": 2}, {"message": "x"}, [], "text"])
async def test_whatever_bytes_arrive_verify_never_answers_500(service: Service, body: Any) -> None:
    response = await service.client.post("/auth/siwe/verify", json=body)
    assert response.status_code in (401, 422), response.text
    raw = await service.client.post(
        "/auth/siwe/verify", content=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    assert raw.status_code in (400, 422), raw.text


# ----------------------------------------------------------------------------------------------- tokens


async def test_tokens_validate_answers_for_a_good_token(service: Service) -> None:
    session = await sign_in(service.client, Wallet())
    answer = await service.client.post("/api/v1/tokens/validate", json={"token": session["access_token"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["valid"] is True
    assert body["user_id"] == session["user_id"]
    assert body["wallet_address"] == session["wallet_address"]
    assert body["permissions"] == []
    assert body["organization_ids"] == []
    assert body["expires_at"].endswith("Z")
    from_header = await service.client.post("/api/v1/tokens/validate", headers=bearer(session["access_token"]))
    assert from_header.json()["session_id"] == body["session_id"]


async def test_tokens_and_keys_are_never_accepted_for_each_other(service: Service) -> None:
    session = await sign_in(service.client, Wallet())
    key = (await service.create_key())["api_key"]
    refused(await service.client.post("/api/v1/tokens/validate", json={"token": key}), "invalid_token")
    as_key = await service.client.post("/api/v1/keys/validate", headers=bearer(session["access_token"]))
    assert as_key.status_code == 401
    assert as_key.json()["code"] in ("missing_api_key", "invalid_api_key")
    in_body = await service.client.post("/api/v1/keys/validate", json={"api_key": session["access_token"]})
    assert in_body.status_code in (401, 422)
    refused(await service.client.post("/api/v1/tokens/validate", json={}), "missing_token")


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")

    def load(part: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return loaded

    return load(header), load(payload), signature


def _encode(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part, separators=(",", ":")).encode()).decode().rstrip("=")


async def test_forged_tokens_are_invalid_token(service: Service) -> None:
    import hashlib
    import hmac

    token = (await sign_in(service.client, Wallet()))["access_token"]
    header, payload, signature = _segments(token)
    jwks = (await service.client.get("/.well-known/jwks.json")).json()
    public_x = jwks["keys"][0]["x"].encode()
    hs_header = _encode({**header, "alg": "HS256"})
    hs_body = _encode({**payload, "sub": "00000000-0000-4000-8000-000000000000"})
    hs_sig = hmac.new(public_x, f"{hs_header}.{hs_body}".encode(), hashlib.sha256).digest()
    forgeries = [
        f"{_encode({**header, 'alg': 'none'})}.{_encode(payload)}.",
        f"{_encode({**header, 'alg': 'none'})}.{_encode(payload)}.{signature}",
        f"{hs_header}.{hs_body}.{base64.urlsafe_b64encode(hs_sig).decode().rstrip('=')}",
        f"{_encode({**header, 'kid': 'unknown-kid'})}.{_encode(payload)}.{signature}",
        f"{_encode(header)}.{_encode({**payload, 'exp': payload['exp'] + 3600})}.{signature}",
        f"{_encode(header)}.{_encode({**payload, 'aud': 'other'})}.{signature}",
        token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        token + ".x",
        "a.b.c",
    ]
    for forged in forgeries:
        refused(await service.client.post("/api/v1/tokens/validate", json={"token": forged}), "invalid_token")
        refused(await service.client.get("/auth/me", headers=bearer(forged)), "invalid_token")


async def test_an_expired_token_is_token_expired(service: Service) -> None:
    assert isinstance(service.clock, FrozenClock)
    token = (await sign_in(service.client, Wallet()))["access_token"]
    service.clock.advance(901)
    refused(await service.client.post("/api/v1/tokens/validate", json={"token": token}), "token_expired")


# ----------------------------------------------------------------------------------------------- sessions


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(service: Service) -> None:
    first = await sign_in(service.client, Wallet())
    refreshed = await service.client.post("/auth/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user_id"] == first["user_id"]
    ok = await service.client.post("/api/v1/tokens/validate", json={"token": second["access_token"]})
    assert ok.status_code == 200

    reused = await service.client.post("/auth/token/refresh", json={"refresh_token": first["refresh_token"]})
    refused(reused, "refresh_token_reused")
    for token in (first["access_token"], second["access_token"]):
        refused(await service.client.post("/api/v1/tokens/validate", json={"token": token}), "session_revoked")
    after = await service.client.post("/auth/token/refresh", json={"refresh_token": second["refresh_token"]})
    refused(after, "invalid_refresh_token")


@pytest.mark.parametrize("token", ["", "hkr_nope", "x" * 600, "hk_live_" + "a" * 38])
async def test_an_unknown_refresh_token_is_invalid_refresh_token(service: Service, token: str) -> None:
    response = await service.client.post("/auth/token/refresh", json={"refresh_token": token})
    assert response.status_code in (401, 422)
    if response.status_code == 401:
        assert response.json()["code"] == "invalid_refresh_token"


async def test_logout_ends_the_session_and_only_that_one(service: Service) -> None:
    wallet = Wallet()
    kept, ended = await sign_in(service.client, wallet), await sign_in(service.client, wallet)
    out = await service.client.post("/auth/logout", headers=bearer(ended["access_token"]))
    assert out.status_code == 200
    refused(await service.client.get("/auth/me", headers=bearer(ended["access_token"])), "session_revoked")
    refused(
        await service.client.post("/auth/token/refresh", json={"refresh_token": ended["refresh_token"]}),
        "invalid_refresh_token",
    )
    assert (await service.client.get("/auth/me", headers=bearer(kept["access_token"]))).status_code == 200


async def test_a_user_ends_their_own_sessions_but_not_anothers(service: Service) -> None:
    mine, theirs = await sign_in(service.client, Wallet()), await sign_in(service.client, Wallet())
    their_sid = (await service.client.get("/auth/sessions", headers=bearer(theirs["access_token"]))).json()[0]
    attempt = await service.client.delete(
        f"/auth/sessions/{their_sid['session_id']}", headers=bearer(mine["access_token"])
    )
    assert attempt.status_code == 404
    own = await service.client.delete(
        f"/auth/sessions/{their_sid['session_id']}", headers=bearer(theirs["access_token"])
    )
    assert own.status_code == 200
    refused(await service.client.get("/auth/me", headers=bearer(theirs["access_token"])), "session_revoked")


# ----------------------------------------------------------------------------------------------- self-service keys


async def test_a_user_manages_their_own_keys_and_sees_no_one_elses(service: Service) -> None:
    alice, bob = await sign_in(service.client, Wallet()), await sign_in(service.client, Wallet())
    as_alice = bearer(alice["access_token"])
    created = await service.client.post(
        "/api/v1/keys", json={"name": "mine", "service_id": "platform"}, headers=as_alice
    )
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["key_info"]["user_id"] == alice["user_id"]
    bobs = await service.client.post(
        "/api/v1/keys", json={"name": "bob's", "service_id": "platform"}, headers=bearer(bob["access_token"])
    )
    admins = await service.create_key(name="operator's")

    listed = await service.client.get("/api/v1/keys", headers=as_alice)
    assert [item["key_id"] for item in listed.json()] == [key["key_id"]]
    for other in (bobs.json()["key_id"], admins["key_id"]):
        assert (await service.client.get(f"/api/v1/keys/{other}", headers=as_alice)).status_code == 404
        assert (
            await service.client.patch(f"/api/v1/keys/{other}", json={"name": "x"}, headers=as_alice)
        ).status_code == 404
        assert (await service.client.post(f"/api/v1/keys/{other}/rotate", headers=as_alice)).status_code == 404
        assert (await service.client.delete(f"/api/v1/keys/{other}", headers=as_alice)).status_code == 404
    assert (await service.validate(admins["api_key"])).status_code == 200, "the others' keys were not touched"

    rotated = await service.client.post(f"/api/v1/keys/{key['key_id']}/rotate", headers=as_alice)
    assert rotated.status_code == 201
    assert (await service.validate(rotated.json()["api_key"])).status_code == 200
    renamed = await service.client.patch(
        f"/api/v1/keys/{rotated.json()['key_id']}", json={"name": "n"}, headers=as_alice
    )
    assert renamed.status_code == 200
    events = (await service.client.get("/api/v1/audit-logs", headers=service.admin)).json()
    assert any(event["actor"] == f"user:{alice['user_id']}" and event["action"] == "api_key.rotate" for event in events)


@pytest.mark.parametrize("field", [{"user_id": "someone"}, {"billing_plan": "pro"}])
async def test_a_user_may_not_set_owner_or_plan(service: Service, field: dict[str, str]) -> None:
    user = await sign_in(service.client, Wallet())
    response = await service.client.post(
        "/api/v1/keys", json={"name": "k", "service_id": "platform", **field}, headers=bearer(user["access_token"])
    )
    assert response.status_code == 403
    assert next(iter(field)) in response.json()["detail"]


async def test_a_user_may_not_list_anothers_keys_by_user_id(service: Service) -> None:
    user = await sign_in(service.client, Wallet())
    response = await service.client.get("/api/v1/keys?user_id=admin", headers=bearer(user["access_token"]))
    assert response.status_code == 403


async def test_max_keys_per_user_is_409_key_limit_reached(make_service: Any, database_url: str) -> None:
    service = await make_service(database_url, max_keys_per_user=2)
    user = bearer((await sign_in(service.client, Wallet()))["access_token"])
    body = {"name": "k", "service_id": "platform"}
    first = await service.client.post("/api/v1/keys", json=body, headers=user)
    assert (await service.client.post("/api/v1/keys", json=body, headers=user)).status_code == 201
    full = await service.client.post("/api/v1/keys", json=body, headers=user)
    assert full.status_code == 409
    assert full.json()["code"] == "key_limit_reached"
    await service.client.delete(f"/api/v1/keys/{first.json()['key_id']}", headers=user)
    assert (await service.client.post("/api/v1/keys", json=body, headers=user)).status_code == 201


# ----------------------------------------------------------------------------------------------- operators


async def test_disabling_a_user_stops_their_keys_and_sessions_and_enabling_restores_the_keys(
    service: Service,
) -> None:
    wallet = Wallet()
    user = await sign_in(service.client, wallet)
    key = (
        await service.client.post(
            "/api/v1/keys", json={"name": "k", "service_id": "platform"}, headers=bearer(user["access_token"])
        )
    ).json()
    assert (await service.validate(key["api_key"])).status_code == 200

    listed = await service.client.get("/api/v1/admin/users", headers=service.admin)
    assert user["user_id"] in [entry["id"] for entry in listed.json()]
    off = await service.client.patch(
        f"/api/v1/admin/users/{user['user_id']}", json={"is_active": False}, headers=service.admin
    )
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    stopped = await service.validate(key["api_key"])
    assert stopped.status_code == 401
    assert stopped.json()["code"] == "user_disabled"
    assert stopped.json()["error"] == "API key owner is disabled"
    refused(
        await service.client.post("/api/v1/tokens/validate", json={"token": user["access_token"]}), "session_revoked"
    )
    issued = await challenge(service.client, wallet)
    refused(await verify(service, issued["message"], wallet.sign(issued["message"])), "user_disabled")

    on = await service.client.patch(
        f"/api/v1/admin/users/{user['user_id']}", json={"is_active": True}, headers=service.admin
    )
    assert on.json()["is_active"] is True
    assert (await service.validate(key["api_key"])).status_code == 200
    refused(
        await service.client.post("/api/v1/tokens/validate", json={"token": user["access_token"]}), "session_revoked"
    )
    assert (await sign_in(service.client, wallet))["user_id"] == user["user_id"]


async def test_the_session_routes_without_a_token_say_missing_token(service: Service) -> None:
    for method, path in (("GET", "/auth/me"), ("GET", "/auth/sessions"), ("POST", "/auth/logout")):
        refused(await service.client.request(method, path), "missing_token")


async def test_admin_user_endpoints_need_the_admin_token(service: Service) -> None:
    user = await sign_in(service.client, Wallet())
    for headers in ({}, bearer(user["access_token"])):
        response = await service.client.get("/api/v1/admin/users", headers=headers)
        assert response.status_code == 401
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await service.client.get(f"/api/v1/admin/users/{unknown}", headers=service.admin)).status_code == 404
    assert (await service.client.get("/api/v1/admin/users/not-a-uuid", headers=service.admin)).status_code == 404


async def test_an_address_asking_for_too_many_sign_ins_waits(make_service: Any, database_url: str) -> None:
    service = await make_service(database_url, sign_in_per_hour=20)  # a burst of 2
    wallet = Wallet()
    answers = [
        await service.client.post("/auth/siwe/challenge", json={"wallet_address": wallet.address}) for _ in range(3)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "rate_limited"
    assert int(answers[2].headers["retry-after"]) > 0
    refused_verify = await verify(service, answers[0].json()["message"], wallet.sign(answers[0].json()["message"]))
    assert refused_verify.status_code == 429
