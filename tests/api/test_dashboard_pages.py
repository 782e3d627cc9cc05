"""The dashboard's pages over HTTP, on SQLite and PostgreSQL: what each kind of visitor may see, the CSRF token on
every form, the cookies' attributes, the CSP, and the flows a mailed link starts (verify an address, claim an
organization, accept an invitation) with an operator deciding in between. The browser tests
(tests/e2e/test_dashboard_browser.py) drive the same pages in Chromium."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest

from hokusai_auth.organizations.mails import ACCEPT_PATH
from tests.api.dashboard_client import Browser
from tests.api.mailed import mails, token_in
from tests.api.organizations import ORGS, create, invite, person
from tests.conftest import Service
from tests.wallet import Wallet

PAGES_FOR_USERS = ["/dashboard/keys", "/dashboard/organizations", "/dashboard/audit"]
PAGES_FOR_OPERATORS = ["/dashboard/admin/registrations", "/dashboard/admin/users", "/dashboard/admin/outbox"]


@pytest.fixture
async def browser(service: Service) -> AsyncIterator[Browser]:
    opened = Browser(service)
    yield opened
    await opened.close()


async def test_pages_need_a_sign_in_and_operator_pages_an_operator(service: Service, browser: Browser) -> None:
    for path in [*PAGES_FOR_USERS, *PAGES_FOR_OPERATORS]:
        answer = await browser.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/dashboard/sign-in?next=")
    await browser.sign_in_with_wallet(Wallet())
    for path in PAGES_FOR_USERS:
        assert (await browser.get(path)).status_code == 200, path
    for path in PAGES_FOR_OPERATORS:
        assert (await browser.get(path)).status_code == 403, path
    operator = Browser(service)
    await operator.sign_in_as_operator()
    for path in ["/dashboard/keys", "/dashboard/audit", *PAGES_FOR_OPERATORS]:
        assert (await operator.get(path)).status_code == 200, path
    await operator.close()


async def test_cookies_are_httponly_lax_and_pages_carry_a_strict_csp(service: Service, browser: Browser) -> None:
    page = await browser.get("/dashboard/sign-in")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "form-action 'self'" in csp
    assert page.headers["cache-control"] == "no-store"
    answer = await browser.post("/dashboard/sign-in/operator", token="wrong")
    assert answer.status_code == 401
    answer = await browser.client.post("/dashboard/sign-in/operator", data={"csrf": browser.csrf,
                                       "token": "test-admin-token-" + "x" * 32})  # fmt: skip
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind TLS it is Secure
    assert "test-admin-token" not in cookie  # the cookie says which token, never the token


async def test_every_form_refuses_a_missing_or_foreign_csrf_token(service: Service, browser: Browser) -> None:
    await browser.sign_in_with_wallet(Wallet())
    other = Browser(service)
    await other.sign_in_with_wallet(Wallet())
    posts = ["/dashboard/keys", f"/dashboard/keys/{uuid.uuid4()}/revoke", "/dashboard/organizations",
             "/dashboard/sign-out", "/claim", "/invitations/accept"]  # fmt: skip
    for path in posts:
        for csrf in ("", "0" * 64, other.csrf):  # none, made up, and another session's
            answer = await browser.post(path, csrf=csrf, name="x", service_id="platform", token="x")
            assert answer.status_code == 403, (path, answer.text[:200])
            assert "This form has expired" in answer.text
    assert "No keys yet" in (await browser.get("/dashboard/keys")).text  # nothing was created
    await other.close()


async def test_a_key_made_in_the_dashboard_is_shown_once_and_never_in_a_url(service: Service, browser: Browser) -> None:
    await browser.sign_in_with_wallet(Wallet())
    created = await browser.post("/dashboard/keys", name="nightly", service_id="prediction", environment="test",
                                 scopes="predict read", rate_limit_per_hour="500",
                                 allowed_ips="10.0.0.0/8")  # fmt: skip
    assert created.status_code == 200
    key = re.search(r'value="(hk_test_[0-9A-Za-z]{38})"', created.text)
    assert key is not None
    assert created.headers["cache-control"] == "no-store"
    answer = (await service.validate(key.group(1), client_ip="10.1.2.3")).json()
    assert (answer["scopes"], answer["rate_limit_per_hour"], answer["service_id"]) == (["predict", "read"], 500,
                                                                                         "prediction")  # fmt: skip
    detail = await browser.get(f"/dashboard/keys/{answer['key_id']}")
    assert "499 available now" in detail.text  # the rate limit's position: one validation spent one
    listing = await browser.get("/dashboard/keys")
    assert key.group(1) not in listing.text
    assert "nightly" in listing.text
    refused = await browser.post("/dashboard/keys", name="", service_id="nope", burst="many")
    assert refused.status_code == 422
    assert "must be a whole number" in refused.text
    assert "unknown service id" in refused.text


async def test_a_company_registers_verifies_is_approved_and_claims_through_the_pages(
    service: Service, browser: Browser
) -> None:
    await browser.get("/register")
    done = await browser.post("/register/form", organization_name="Acme ML", contact_email="cto@acme.example",
                              contact_name="Ada", use_case="Forecasts")  # fmt: skip
    assert "Check your mail" in done.text
    verify = token_in((await mails(service, "cto@acme.example", "registration.verify"))[0], "/registration/verify")
    page = await browser.get("/registration/verify", token=verify)
    assert "Verify my address" in page.text
    assert "Address verified" in (await browser.post("/registration/verify", token=verify)).text

    operator = Browser(service)
    await operator.sign_in_as_operator()
    queue = await operator.get("/dashboard/admin/registrations")
    registration_id = re.search(r'action="/dashboard/admin/registrations/([0-9a-f-]+)"', queue.text)
    assert registration_id is not None
    decided = await operator.post(f"/dashboard/admin/registrations/{registration_id.group(1)}", status="approved")
    assert decided.status_code == 303
    await operator.close()

    claim = token_in((await mails(service, "cto@acme.example", "registration.approved"))[0], "/claim")
    assert "Sign in with your wallet first" in (await browser.get("/claim", token=claim)).text
    await browser.sign_in_with_wallet(Wallet())
    assert "Claim the organization" in (await browser.get("/claim", token=claim)).text
    claimed = await browser.post("/claim", token=claim)
    key = re.search(r'value="(hk_live_[0-9A-Za-z]{38})"', claimed.text)
    assert key is not None
    assert (await service.validate(key.group(1))).json()["organization_id"] is not None
    assert "already used" in (await browser.post("/claim", token=claim)).text


async def test_an_invitation_is_accepted_from_its_mailed_link(service: Service, browser: Browser) -> None:
    owner = await person(service)
    org_id = await create(service, owner, "Team")
    wallet = Wallet()
    await invite(service, org_id, owner, "dev@team.example", "developer")
    token = token_in((await mails(service, "dev@team.example"))[-1], ACCEPT_PATH)
    await browser.sign_in_with_wallet(wallet)
    assert "Accept the invitation" in (await browser.get(ACCEPT_PATH, token=token)).text
    accepted = await browser.post(ACCEPT_PATH, token=token)
    assert accepted.headers["location"] == f"/dashboard/organizations/{org_id}?done=accepted"
    page = await browser.get(f"/dashboard/organizations/{org_id}", done="accepted")
    assert "Welcome: you are a member now." in page.text
    assert "Create organization key" in page.text  # a Developer creates keys
    assert "Send invitation" not in page.text  # and does not invite
    members = (await service.client.get(f"{ORGS}/{org_id}/members", headers=owner.headers)).json()
    assert {member["role"] for member in members} == {"owner", "developer"}


async def test_a_terminals_sign_in_is_approved_on_the_device_page(service: Service, browser: Browser) -> None:
    code = (await service.client.post("/auth/device/code", json={"client_name": "hokusai CLI"})).json()
    assert code["verification_uri_complete"].endswith(f"/dashboard/device?user_code={code['user_code']}")
    pending = await service.client.post("/auth/device/token", json={"device_code": code["device_code"]})
    assert pending.json()["code"] == "authorization_pending"

    assert (await browser.get("/dashboard/device", user_code=code["user_code"])).status_code == 303  # sign in first
    wallet = Wallet()
    await browser.sign_in_with_wallet(wallet)
    page = await browser.get("/dashboard/device", user_code=code["user_code"].lower().replace("-", ""))
    assert code["user_code"] in page.text
    assert "hokusai CLI" in page.text
    approved = await browser.post("/dashboard/device", user_code=code["user_code"], decision="approve")
    assert "Your terminal is signed in now" in approved.text
    assert service.clock is not None
    service.clock.advance(6)  # the poll interval
    session = await service.client.post("/auth/device/token", json={"device_code": code["device_code"]})
    assert session.status_code == 200, session.text
    assert session.json()["wallet_address"] == wallet.address
    again = await browser.post("/dashboard/device", user_code=code["user_code"], decision="approve")
    assert again.status_code == 400
    unknown = await browser.get("/dashboard/device", user_code="BCDF-GHJK")
    assert "No sign-in waits with this code" in unknown.text
