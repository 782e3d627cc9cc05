"""Device sign-in (RFC 8628, `hokusai auth login --web`) end to end over HTTP, on SQLite and PostgreSQL: a command
line asks for a code, a signed-in user approves or denies it, the command line's polls get what RFC 8628 §3.5
says, and an approval gives exactly one poll a new session of the approving user."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hokusai_auth.clock import FrozenClock
from hokusai_auth.device.models import DeviceAuthorization
from hokusai_auth.device.service import DeviceAuthorizations
from hokusai_auth.redact import mask_keys
from tests.conftest import Service, ServiceFactory
from tests.wallet import Wallet, bearer, sign_in

USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


async def start(service: Service, **body: Any) -> dict[str, Any]:
    response = await service.client.post("/auth/device/code", json=body or None)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def poll(service: Service, device_code: str) -> httpx.Response:
    return await service.client.post("/auth/device/token", json={"device_code": device_code})


def refused(response: httpx.Response, code: str, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def poll_refused(response: httpx.Response, code: str) -> dict[str, Any]:
    body = refused(response, code)
    assert body["error"] == code, "RFC 8628 clients read `error`"
    assert response.headers["cache-control"] == "no-store"
    return body


async def decide(service: Service, verdict: str, user_code: str, access_token: str) -> httpx.Response:
    return await service.client.post(
        f"/auth/device/{verdict}", json={"user_code": user_code}, headers=bearer(access_token)
    )


def later(service: Service, seconds: float = 5) -> None:
    assert isinstance(service.clock, FrozenClock)
    service.clock.advance(seconds)


def devices(service: Service) -> DeviceAuthorizations:
    found: DeviceAuthorizations = service.runtime.device_authorizations
    return found


# ----------------------------------------------------------------------------------------------- the flow


async def test_an_approved_device_receives_a_session_of_its_own_once(service: Service) -> None:
    wallet = Wallet()
    browser = await sign_in(service.client, wallet)
    response = await service.client.post("/auth/device/code", json={"client_name": "hokusai CLI on my-laptop"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    code = response.json()
    assert code["device_code"].startswith("hkd_")
    assert len(code["device_code"]) >= 40
    assert USER_CODE.fullmatch(code["user_code"]), code["user_code"]
    assert code["verification_uri"] == "http://127.0.0.1:8000/dashboard/device"
    assert code["verification_uri_complete"] == f"http://127.0.0.1:8000/dashboard/device?user_code={code['user_code']}"
    assert (code["expires_in"], code["interval"]) == (600, 5)

    body = poll_refused(await poll(service, code["device_code"]), "authorization_pending")
    assert body["interval"] == 5
    approved = await decide(service, "approve", code["user_code"], browser["access_token"])
    assert approved.status_code == 200, approved.text

    later(service)
    answer = await poll(service, code["device_code"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    signed_in = answer.json()
    assert signed_in.keys() == browser.keys(), "the shape of POST /auth/siwe/verify"
    assert (signed_in["token_type"], signed_in["expires_in"], signed_in["is_new_user"]) == ("bearer", 900, False)
    assert (signed_in["user_id"], signed_in["wallet_address"]) == (browser["user_id"], wallet.address)
    assert signed_in["refresh_token"].startswith("hkr_")

    me = await service.client.get("/auth/me", headers=bearer(signed_in["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == browser["user_id"]
    validated = await service.client.post("/api/v1/tokens/validate", json={"token": signed_in["access_token"]})
    assert validated.status_code == 200
    assert validated.json()["valid"] is True
    browser_session = await service.client.post("/api/v1/tokens/validate", json={"token": browser["access_token"]})
    assert validated.json()["session_id"] != browser_session.json()["session_id"], "a new session, not the browser's"
    refreshed = await service.client.post("/auth/token/refresh", json={"refresh_token": signed_in["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text

    later(service)
    poll_refused(await poll(service, code["device_code"]), "expired_token")  # single use
    sessions = await service.client.get("/auth/sessions", headers=bearer(browser["access_token"]))
    assert len(sessions.json()) == 2


async def test_a_denied_device_is_told_so_and_the_code_cannot_be_approved_after(service: Service) -> None:
    browser = await sign_in(service.client, Wallet())
    code = await start(service)
    denied = await decide(service, "deny", code["user_code"], browser["access_token"])
    assert denied.status_code == 200, denied.text
    poll_refused(await poll(service, code["device_code"]), "access_denied")
    later(service)
    poll_refused(await poll(service, code["device_code"]), "access_denied")
    again = refused(await decide(service, "approve", code["user_code"], browser["access_token"]), "invalid_user_code")
    assert "already approved or denied" in again["detail"]
    refused(await decide(service, "deny", code["user_code"], browser["access_token"]), "invalid_user_code")


async def test_codes_expire_after_ten_minutes(service: Service) -> None:
    browser = await sign_in(service.client, Wallet())
    code = await start(service)
    later(service, 599)
    assert await devices(service).pending(code["user_code"]) is not None
    poll_refused(await poll(service, code["device_code"]), "authorization_pending")
    later(service, 1)
    assert await devices(service).pending(code["user_code"]) is None
    body = refused(await decide(service, "approve", code["user_code"], browser["access_token"]), "invalid_user_code")
    assert "expired" in body["detail"]
    poll_refused(await poll(service, code["device_code"]), "expired_token")

    approved_late = await start(service)
    assert (await decide(service, "approve", approved_late["user_code"], browser["access_token"])).status_code == 200
    later(service, 600)
    poll_refused(await poll(service, approved_late["device_code"]), "expired_token")  # approved, but not in time


async def test_polling_faster_than_the_interval_slows_the_device_down_for_good(service: Service) -> None:
    code = await start(service)
    assert poll_refused(await poll(service, code["device_code"]), "authorization_pending")["interval"] == 5
    assert poll_refused(await poll(service, code["device_code"]), "slow_down")["interval"] == 10
    later(service, 5)  # the old interval is not enough any more
    assert poll_refused(await poll(service, code["device_code"]), "slow_down")["interval"] == 15
    later(service, 15)
    assert poll_refused(await poll(service, code["device_code"]), "authorization_pending")["interval"] == 15
    later(service, 15)
    browser = await sign_in(service.client, Wallet())
    assert (await decide(service, "approve", code["user_code"], browser["access_token"])).status_code == 200
    assert (await poll(service, code["device_code"])).status_code == 200


async def test_of_concurrent_polls_of_an_approved_code_exactly_one_gets_the_session(service: Service) -> None:
    browser = await sign_in(service.client, Wallet())
    code = await start(service)
    await decide(service, "approve", code["user_code"], browser["access_token"])
    answers = await asyncio.gather(*(poll(service, code["device_code"]) for _ in range(6)))
    assert sorted(answer.status_code for answer in answers) == [200] + [400] * 5
    assert {answer.json()["code"] for answer in answers if answer.status_code == 400} <= {"expired_token", "slow_down"}


async def test_user_codes_compare_without_case_spaces_or_the_dash(service: Service) -> None:
    browser = await sign_in(service.client, Wallet())
    for typed in (str.lower, lambda code: code.replace("-", ""), lambda code: f"  {code[:4]} {code[5:].lower()} "):
        code = await start(service)
        pending = await devices(service).pending(typed(code["user_code"]))
        assert pending is not None
        assert pending.user_code == code["user_code"]
        approved = await decide(service, "approve", typed(code["user_code"]), browser["access_token"])
        assert approved.status_code == 200, approved.text
        later(service)
        assert (await poll(service, code["device_code"])).status_code == 200
    for wrong in ("BCDF-GHJ", "BCDF-GHJKL", "AEIO-UAEI", "", "x" * 33):
        assert await devices(service).pending(wrong) is None
        answer = await decide(service, "approve", wrong, browser["access_token"])
        assert answer.status_code in (400, 422), answer.text
    unknown = refused(await decide(service, "approve", "BBBB-BBBB", browser["access_token"]), "invalid_user_code")
    assert "No sign-in request has this code" in unknown["detail"]


async def test_the_approval_page_sees_who_asks(service: Service) -> None:
    code = await start(service, client_name="hokusai CLI on build-7")
    pending = await devices(service).pending(code["user_code"])
    assert pending is not None
    assert (pending.client_name, pending.client_ip) == ("hokusai CLI on build-7", "203.0.113.9")
    assert pending.user_agent is not None
    assert pending.user_agent.startswith("python-httpx/")
    assert (pending.expires_at - pending.created_at).total_seconds() == 600
    browser = await sign_in(service.client, Wallet())
    await decide(service, "approve", code["user_code"], browser["access_token"])
    assert await devices(service).pending(code["user_code"]) is None, "approved: nothing waits any more"


# ----------------------------------------------------------------------------------------------- secrets


async def test_codes_are_stored_only_as_digests(service: Service) -> None:
    code = await start(service, client_name="laptop")
    async with service.runtime.database.reader() as session:
        rows = (await session.execute(select(DeviceAuthorization))).scalars().all()
    assert len(rows) == 1
    stored = " ".join(str(getattr(rows[0], column.key)) for column in DeviceAuthorization.__table__.columns)
    for secret in (code["device_code"], code["device_code"][4:], code["user_code"], code["user_code"].replace("-", "")):
        assert secret not in stored
    assert re.fullmatch(r"[0-9a-f]{64}", rows[0].device_code_digest)
    assert re.fullmatch(r"[0-9a-f]{64}", rows[0].user_code_digest)
    assert mask_keys(f"POST /auth/device/token {code['device_code']}") == "POST /auth/device/token hkd_***"


async def test_every_step_is_in_the_audit_log_without_a_code(service: Service) -> None:
    browser = await sign_in(service.client, Wallet())
    approved = await start(service, client_name="laptop")
    denied = await start(service)
    await decide(service, "approve", approved["user_code"], browser["access_token"])
    await decide(service, "deny", denied["user_code"], browser["access_token"])
    signed_in = (await poll(service, approved["device_code"])).json()
    log = await service.client.get("/api/v1/audit-logs?limit=100", headers=service.admin)
    events = log.json()
    actions = [event["action"] for event in events]
    for action in ("device.create", "device.approve", "device.deny", "device.sign_in"):
        assert action in actions, actions
    by_action = {event["action"]: event for event in events if event["action"] != "device.create"}
    created = {event["target_id"]: event for event in events if event["action"] == "device.create"}
    by_action["device.create"] = created[by_action["device.approve"]["target_id"]]
    user = f"user:{browser['user_id']}"
    assert by_action["device.approve"]["actor"] == by_action["device.deny"]["actor"] == user
    assert by_action["device.sign_in"]["actor"] == user
    assert by_action["device.create"]["actor"] == "anonymous"
    assert by_action["device.create"]["details"] == {"client_name": "laptop"}
    assert (
        by_action["device.sign_in"]["details"]["session_id"]
        == (await service.client.post("/api/v1/tokens/validate", json={"token": signed_in["access_token"]})).json()[
            "session_id"
        ]
    )
    assert by_action["device.sign_in"]["target_id"] == by_action["device.approve"]["target_id"]
    assert "session.create" in actions
    text = log.text
    for secret in (approved["device_code"], approved["user_code"], denied["user_code"]):
        assert secret not in text
        assert secret.replace("-", "") not in text


# ----------------------------------------------------------------------------------------------- refusals


async def test_codes_are_limited_per_client_address(
    make_service: ServiceFactory, database_url: str, clock: FrozenClock
) -> None:
    service = await make_service(database_url, clock=clock, device_codes_per_hour=3)
    for _ in range(3):
        await start(service)
    over = await service.client.post("/auth/device/code")
    refused(over, "rate_limited", 429)
    assert int(over.headers["retry-after"]) >= 1
    transport = httpx.ASGITransport(app=service.app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        assert (await elsewhere.post("/auth/device/code")).status_code == 200, "another address has its own"
    clock.advance(3600 / 3)
    assert (await service.client.post("/auth/device/code")).status_code == 200, "the allowance refills"


async def test_approving_and_denying_need_a_signed_in_user(service: Service) -> None:
    code = await start(service)
    for verdict in ("approve", "deny"):
        answer = await service.client.post(f"/auth/device/{verdict}", json={"user_code": code["user_code"]})
        refused(answer, "missing_token", 401)
        answer = await service.client.post(
            f"/auth/device/{verdict}", json={"user_code": code["user_code"]}, headers=service.admin
        )
        assert answer.status_code == 401, "an operator is nobody to sign in as"
    poll_refused(await poll(service, code["device_code"]), "authorization_pending")


async def test_approvals_are_limited_per_user(service: Service) -> None:
    browser = await sign_in(service.client, Wallet())
    answers = [await decide(service, "approve", "BBBB-BBBB", browser["access_token"]) for _ in range(11)]
    assert [answer.status_code for answer in answers] == [400] * 10 + [429]
    other = await sign_in(service.client, Wallet())
    code = await start(service)
    assert (await decide(service, "approve", code["user_code"], other["access_token"])).status_code == 200


async def test_a_user_disabled_after_approving_does_not_sign_the_device_in(service: Service) -> None:
    browser = await sign_in(service.client, Wallet())
    code = await start(service)
    await decide(service, "approve", code["user_code"], browser["access_token"])
    disabled = await service.client.patch(
        f"/api/v1/admin/users/{browser['user_id']}", json={"is_active": False}, headers=service.admin
    )
    assert disabled.status_code == 200, disabled.text
    body = poll_refused(await poll(service, code["device_code"]), "access_denied")
    assert "disabled" in body["detail"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"device_code": "hkd_" + "A" * 43}, 400, "expired_token"),
        ({"device_code": "not-a-device-code"}, 400, "expired_token"),
        ({"device_code": "hkr_" + "A" * 43}, 400, "expired_token"),
        ({"device_code": "hkd_" + "A" * 200}, 422, "validation_error"),
        ({"device_code": "hkd_x", "grant_type": "authorization_code"}, 422, "validation_error"),
        ({"device_code": "hkd_x", "grant_type": GRANT}, 400, "expired_token"),
        ({"device_code": "hkd_x", "client_id": "x"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
async def test_the_token_endpoint_refuses_what_is_not_a_live_code(
    service: Service, body: dict[str, Any], status: int, code: str
) -> None:
    refused(await service.client.post("/auth/device/token", json=body), code, status)


@pytest.mark.parametrize("client_name", ["two\nlines", "x" * 101, "", "bell\x07", 7])
async def test_a_client_name_is_one_short_line(service: Service, client_name: Any) -> None:
    answer = await service.client.post("/auth/device/code", json={"client_name": client_name})
    body = refused(answer, "validation_error", 422)
    assert body["detail"].startswith("client_name")


async def test_the_rfc_grant_type_and_an_empty_body_are_accepted(service: Service) -> None:
    assert (await service.client.post("/auth/device/code")).status_code == 200
    assert (await service.client.post("/auth/device/code", json={})).status_code == 200
    code = await start(service, client_name="  padded  ")
    pending = await devices(service).pending(code["user_code"])
    assert pending is not None
    assert pending.client_name == "padded"
    answer = await service.client.post(
        "/auth/device/token", json={"device_code": code["device_code"], "grant_type": GRANT}
    )
    poll_refused(answer, "authorization_pending")
