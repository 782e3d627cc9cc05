"""Registration, approval and the claim link, end to end over HTTP, on SQLite and PostgreSQL.

The contract's "Registration (public) and approval (admin)": a company registers, verifies its address with the
mailed link, an operator approves (or rejects) it, and a signed-in user claims the organization with the mailed
claim link, becoming its Owner and receiving a production key that validates. Mail is asserted on the outbox rows
(recipient, kind, link), which is what the request commits; delivering them is the mail sender's business.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from hokusai_auth.organizations.models import OrganizationMember
from hokusai_auth.registrations.models import Registration
from tests.api.mailed import count, mails, refused, token_in
from tests.conftest import Service, ServiceFactory
from tests.wallet import Wallet, bearer, sign_in

ADMIN_PATH = "/api/v1/admin/registrations"
RECEIPT_FIELDS = {"id", "organization_name", "contact_email", "contact_name", "status", "created_at"}
DAY = 86_400.0


def company(**fields: Any) -> dict[str, Any]:
    body = {
        "organization_name": "Acme Robotics",
        "contact_email": f"ops-{uuid.uuid4().hex[:8]}@acme.example",
        "contact_name": "Ada Lovelace",
        "use_case": "Forecasting demand with models we train and serve on Hokusai.",
        "website_url": "https://acme.example",
    }
    body.update(fields)
    return body


async def register(service: Service, body: dict[str, Any]) -> dict[str, Any]:
    response = await service.client.post("/register", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def verification_token(service: Service, email: str) -> str:
    sent = await mails(service, email, "registration.verify")
    assert len(sent) == 1
    return token_in(sent[0], "/registration/verify")


async def verify(service: Service, token: str) -> httpx.Response:
    return await service.client.post("/registration/verify-email", json={"token": token})


async def status_of(service: Service, email: str) -> httpx.Response:
    return await service.client.post("/registration/status", json={"email": email})


async def decide(service: Service, registration_id: str, **body: Any) -> httpx.Response:
    return await service.client.patch(f"{ADMIN_PATH}/{registration_id}", json=body, headers=service.admin)


async def pending_approval(service: Service, **fields: Any) -> dict[str, Any]:
    """A registration whose address is verified: what an operator decides on."""
    receipt = await register(service, company(**fields))
    answer = await verify(service, await verification_token(service, receipt["contact_email"]))
    assert answer.status_code == 200, answer.text
    return receipt


async def approved(service: Service, **fields: Any) -> tuple[dict[str, Any], str]:
    """An approved registration (its organization exists) and the claim link's token."""
    receipt = await pending_approval(service, **fields)
    answer = await decide(service, receipt["id"], status="approved")
    assert answer.status_code == 200, answer.text
    sent = await mails(service, receipt["contact_email"], "registration.approved")
    assert len(sent) == 1
    return answer.json(), token_in(sent[0], "/claim")


async def claim(service: Service, token: str, access_token: str | None) -> httpx.Response:
    headers = bearer(access_token) if access_token else {}
    return await service.client.post(f"/api/v1/claims/{token}", headers=headers)


async def audit(service: Service, action: str) -> list[dict[str, Any]]:
    response = await service.client.get("/api/v1/audit-logs", params={"action": action}, headers=service.admin)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


# ----------------------------------------------------------------------------------------------- the whole flow


async def test_a_company_registers_verifies_is_approved_and_claims_a_production_key(service: Service) -> None:
    body = company()
    email = body["contact_email"]
    receipt = await register(service, body)
    assert set(receipt) == RECEIPT_FIELDS
    assert receipt["status"] == "pending_email_verification"
    assert receipt["organization_name"] == "Acme Robotics"
    assert receipt["contact_email"] == email
    assert (await status_of(service, email)).json()["status"] == "pending_email_verification"

    [verify_mail] = await mails(service, email)
    assert verify_mail.kind == "registration.verify"
    assert "Verify" in verify_mail.subject
    token = token_in(verify_mail, "/registration/verify")
    assert token.startswith("hkv_")
    answer = await verify(service, token)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "pending_approval"}
    refused(await verify(service, token), 400, "invalid_token")  # single-use
    state = await status_of(service, email)
    assert state.status_code == 200
    assert state.json() == {"status": "pending_approval", "created_at": receipt["created_at"]}

    listed = await service.client.get(ADMIN_PATH, params={"status": "pending_approval"}, headers=service.admin)
    assert [item["id"] for item in listed.json()] == [receipt["id"]]
    shown = (await service.client.get(f"{ADMIN_PATH}/{receipt['id']}", headers=service.admin)).json()
    assert shown["use_case"] == body["use_case"]
    assert shown["website_url"] == "https://acme.example"
    assert shown["email_verified_at"] is not None
    assert shown["organization_id"] is None

    decided = await decide(service, receipt["id"], status="approved", reason="a known customer")
    assert decided.status_code == 200, decided.text
    registration = decided.json()
    assert registration["status"] == "approved"
    assert registration["decided_by"].startswith("admin")
    organization_id = registration["organization_id"]
    assert organization_id is not None
    assert (await status_of(service, email)).json()["status"] == "approved"
    [claim_mail] = await mails(service, email, "registration.approved")
    claim_token = token_in(claim_mail, "/claim")
    assert claim_token.startswith("hkc_")

    wallet = Wallet()
    session = await sign_in(service.client, wallet)
    claimed = await claim(service, claim_token, session["access_token"])
    assert claimed.status_code == 201, claimed.text
    key = claimed.json()
    assert key["organization_id"] == organization_id
    assert key["api_key"].startswith("hk_live_")
    assert key["key_info"]["environment"] == "production"
    assert key["key_info"]["organization_id"] == organization_id
    assert key["key_info"]["user_id"] == session["user_id"]
    validated = await service.validate(key["api_key"], service_id="platform")
    assert validated.status_code == 200, validated.text
    assert validated.json()["organization_id"] == organization_id
    assert validated.json()["key_id"] == key["key_id"]

    owners = await count(
        service,
        OrganizationMember,
        OrganizationMember.organization_id == uuid.UUID(organization_id),
        OrganizationMember.user_id == uuid.UUID(session["user_id"]),
        OrganizationMember.role == "owner",
    )
    assert owners == 1
    # The claimed key is the organization's: its Owner sees and manages it there, not among their own keys.
    own = await service.client.get("/api/v1/keys", headers=bearer(session["access_token"]))
    assert own.json() == []
    listed = await service.client.get(f"/api/v1/organizations/{organization_id}/api-keys",
                                      headers=bearer(session["access_token"]))  # fmt: skip
    assert [item["key_id"] for item in listed.json()] == [key["key_id"]]

    # A second claim, by anyone, is 410.
    other = await sign_in(service.client, Wallet())
    refused(await claim(service, claim_token, other["access_token"]), 410, "claimed")
    refused(await claim(service, claim_token, session["access_token"]), 410, "claimed")

    # Every step is in the audit log; the decision and the claim name the organization.
    [approval] = await audit(service, "registration.approve")
    assert approval["target_id"] == receipt["id"]
    assert approval["organization_id"] == organization_id
    assert approval["details"]["reason"] == "a known customer"
    [claim_event] = await audit(service, "organization.claim")
    assert claim_event["actor"] == f"user:{session['user_id']}"
    assert claim_event["organization_id"] == organization_id
    [key_event] = await audit(service, "api_key.create")
    assert key_event["organization_id"] == organization_id
    for action in ("registration.create", "registration.verify_email", "organization.create"):
        assert len(await audit(service, action)) == 1, action


async def test_rejection_mails_the_reason_and_the_company_may_register_again(service: Service) -> None:
    receipt = await pending_approval(service)
    email = receipt["contact_email"]
    answer = await decide(service, receipt["id"], status="rejected", reason="We could not reach your website.")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "rejected"
    assert answer.json()["rejection_reason"] == "We could not reach your website."
    assert answer.json()["organization_id"] is None
    [mail] = await mails(service, email, "registration.rejected")
    assert "We could not reach your website." in mail.text_body
    assert "We could not reach your website." in mail.html_body
    [event] = await audit(service, "registration.reject")
    assert event["target_id"] == receipt["id"]
    assert event["details"]["reason"] == "We could not reach your website."
    assert (await status_of(service, email)).json()["status"] == "rejected"

    again = await register(service, company(contact_email=email))
    assert again["id"] != receipt["id"]
    assert await count(service, Registration, Registration.contact_email == email) == 2
    assert (await status_of(service, email)).json()["status"] == "pending_email_verification"
    assert len(await mails(service, email, "registration.verify")) == 2


async def test_a_rejection_without_a_reason_says_so(service: Service) -> None:
    receipt = await pending_approval(service)
    assert (await decide(service, receipt["id"], status="rejected")).status_code == 200
    [mail] = await mails(service, receipt["contact_email"], "registration.rejected")
    assert "No reason was given." in mail.text_body


async def test_a_registration_is_decided_once_and_only_after_its_address_is_verified(service: Service) -> None:
    unverified = await register(service, company())
    answer = await decide(service, unverified["id"], status="approved")
    refused(answer, 409, "not_pending_approval")
    assert answer.json()["status"] == "pending_email_verification"

    registration, _ = await approved(service)
    for status in ("approved", "rejected"):
        answer = await decide(service, registration["id"], status=status)
        refused(answer, 409, "not_pending_approval")
        assert answer.json()["status"] == "approved"
    assert len(await mails(service, registration["contact_email"], "registration.approved")) == 1
    assert len(await audit(service, "organization.create")) == 1

    rejected = await pending_approval(service)
    assert (await decide(service, rejected["id"], status="rejected")).status_code == 200
    refused(await decide(service, rejected["id"], status="approved"), 409, "not_pending_approval")


async def test_operators_decide_with_approved_or_rejected_only(service: Service) -> None:
    receipt = await pending_approval(service)
    for body in ({"status": "pending_approval"}, {"status": "APPROVED"}, {}, {"status": "approved", "extra": 1},
                 {"status": "rejected", "reason": "x" * 1001}):  # fmt: skip
        answer = await service.client.patch(f"{ADMIN_PATH}/{receipt['id']}", json=body, headers=service.admin)
        refused(answer, 422, "validation_error")
    assert (await status_of(service, receipt["contact_email"])).json()["status"] == "pending_approval"


# ----------------------------------------------------------------------------------------------- no enumeration


async def test_registering_an_address_again_answers_alike_and_only_its_owner_learns_of_it(service: Service) -> None:
    body = company()
    email = body["contact_email"]
    first = await service.client.post("/register", json=body)
    fresh = await service.client.post("/register", json=company())  # another address, new: the reference answer
    second = await service.client.post("/register", json=company(contact_email=email, contact_name="Mallory"))
    assert first.status_code == fresh.status_code == second.status_code == 201

    def shape(answer: httpx.Response) -> dict[str, type]:
        return {name: type(value) for name, value in answer.json().items()}

    assert shape(second) == shape(fresh) == shape(first)
    assert second.json()["status"] == fresh.json()["status"] == "pending_email_verification"
    assert second.json()["contact_name"] == "Mallory"  # what was sent, as for a new registration
    assert second.json()["id"] != first.json()["id"]  # no registration's id is given away
    assert set(second.headers) - {"date", "x-request-id", "content-length"} == set(fresh.headers) - {
        "date", "x-request-id", "content-length"}  # fmt: skip
    assert await count(service, Registration, Registration.contact_email == email) == 1

    # The owner of the address hears of it, with a new verification link (the first may be lost).
    [repeated] = await mails(service, email, "registration.repeated")
    assert "Mallory" not in repeated.text_body
    new_token = token_in(repeated, "/registration/verify")
    assert (await verify(service, new_token)).json() == {"status": "pending_approval"}
    refused(await verify(service, await verification_token(service, email)), 400, "invalid_token")

    # Pending approval, or approved: still the same answer, and a mail without a link.
    third = await service.client.post("/register", json=company(contact_email=email))
    assert shape(third) == shape(fresh)
    assert third.json()["status"] == "pending_email_verification"
    latest = (await mails(service, email, "registration.repeated"))[-1]
    assert "approval" in latest.text_body
    assert "token=" not in latest.text_body
    assert await count(service, Registration, Registration.contact_email == email) == 1
    assert len(await audit(service, "registration.repeat")) == 2


async def test_an_approved_address_registered_again_answers_alike(service: Service) -> None:
    registration, _ = await approved(service)
    email = registration["contact_email"]
    again = await service.client.post("/register", json=company(contact_email=email))
    assert again.status_code == 201
    assert set(again.json()) == RECEIPT_FIELDS
    assert again.json()["status"] == "pending_email_verification"
    assert await count(service, Registration, Registration.contact_email == email) == 1
    [mail] = await mails(service, email, "registration.repeated")
    assert "already approved" in mail.text_body


async def test_repeated_registrations_mail_an_address_at_most_three_times_an_hour(service: Service) -> None:
    email = (await register(service, company()))["contact_email"]
    for _ in range(5):
        assert (await service.client.post("/register", json=company(contact_email=email))).status_code == 201
    assert len(await mails(service, email, "registration.repeated")) == 3
    assert service.clock is not None
    service.clock.advance(3600)
    assert (await service.client.post("/register", json=company(contact_email=email))).status_code == 201
    assert len(await mails(service, email, "registration.repeated")) == 4


async def test_the_status_of_unknown_and_invalid_addresses_is_the_same_404(service: Service) -> None:
    answers = [await status_of(service, email) for email in ("nobody@acme.example", "not an address", "", "a@b")]
    for answer in answers:
        refused(answer, 404, "not_found")
    assert len({answer.json()["detail"] for answer in answers}) == 1
    refused(await service.client.post("/registration/status", json={"email": 5}), 422, "validation_error")


async def test_addresses_are_trimmed_and_their_domain_lower_cased(service: Service) -> None:
    local = f"Ops.{uuid.uuid4().hex[:6]}"
    receipt = await register(service, company(contact_email=f"  {local}@Acme.EXAMPLE "))
    assert receipt["contact_email"] == f"{local}@acme.example"
    assert len(await mails(service, f"{local}@acme.example", "registration.verify")) == 1
    state = await status_of(service, f"{local}@ACME.example")
    assert state.json()["status"] == "pending_email_verification"
    again = await register(service, company(contact_email=f"{local}@acme.Example"))
    assert again["contact_email"] == f"{local}@acme.example"
    assert await count(service, Registration) == 1


# ----------------------------------------------------------------------------------------------- strict input


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contact_email", "not-an-address"),
        ("contact_email", "a@b"),
        ("contact_email", "two@@acme.example"),
        ("contact_email", "dot.@acme.example"),
        ("contact_email", '"quoted"@acme.example'),
        ("contact_email", "user@[127.0.0.1]"),
        ("contact_email", "üser@acme.example"),
        ("contact_email", "user@-acme.example"),
        ("contact_email", "line\nbreak@acme.example"),
        ("contact_email", "x" * 65 + "@acme.example"),
        ("contact_email", "a@" + "b" * 250 + ".example"),
        ("contact_email", 42),
        ("website_url", "ftp://acme.example"),
        ("website_url", "javascript:alert(1)"),
        ("website_url", "acme.example"),
        ("website_url", "https://"),
        ("website_url", "https://user:secret@acme.example"),
        ("website_url", "https://acme.example/a b"),
        ("website_url", "https://acme.example:port"),
        ("website_url", "https://acme.example/" + "x" * 2048),
        ("organization_name", ""),
        ("organization_name", "   "),
        ("organization_name", "x" * 201),
        ("organization_name", "Acme\nBcc: victim@example.com"),
        ("contact_name", "x" * 101),
        ("contact_name", "Ada\tLovelace"),
        ("use_case", ""),
        ("use_case", "x" * 2001),
        ("use_case", "bell \x07"),
        ("unexpected", "field"),
    ],
)
async def test_registration_input_is_checked_strictly(service: Service, field: str, value: Any) -> None:
    answer = await service.client.post("/register", json=company(**{field: value}))
    refused(answer, 422, "validation_error")
    assert answer.json()["errors"][0]["field"] == field
    assert "input" not in answer.json()["errors"][0], "a refusal does not echo what it refused"
    assert await count(service, Registration) == 0


@pytest.mark.parametrize("field", ["organization_name", "contact_email", "contact_name", "use_case"])
async def test_each_required_field_is_required(service: Service, field: str) -> None:
    body = company()
    del body[field]
    refused(await service.client.post("/register", json=body), 422, "validation_error")


async def test_acceptable_input_at_the_limits(service: Service) -> None:
    receipt = await register(
        service,
        company(
            organization_name="Ünïcode Ltd. — 株式会社" + "x" * 180,
            contact_email="first.o'brien+hokusai@mail.acme-robotics.example",
            contact_name="x" * 100,
            use_case="Two lines\nof\tintent.\r\n" + "x" * 1900,
            website_url="HTTP://acme.example:8080/path?q=1#top",
        ),
    )
    assert receipt["contact_email"] == "first.o'brien+hokusai@mail.acme-robotics.example"
    body = company()
    del body["website_url"]
    assert (await register(service, body))["status"] == "pending_email_verification"


# ----------------------------------------------------------------------------------------------- tokens


async def test_verification_links_work_once_for_24_hours(service: Service) -> None:
    assert service.clock is not None
    first = await register(service, company())
    second = await register(service, company())
    service.clock.advance(DAY - 1)
    assert (await verify(service, await verification_token(service, first["contact_email"]))).status_code == 200
    service.clock.advance(2)
    expired = await verify(service, await verification_token(service, second["contact_email"]))
    refused(expired, 400, "invalid_token")
    assert (await status_of(service, second["contact_email"])).json()["status"] == "pending_email_verification"
    for token in ("", "hkv_unknown", "hkc_" + "a" * 43, "x" * 5000, "hkv_" + "a" * 200):
        refused(await verify(service, token), 400, "invalid_token")
    refused(await service.client.post("/registration/verify-email", json={}), 422, "validation_error")


async def test_claim_links_work_for_7_days(service: Service) -> None:
    assert service.clock is not None
    _, late_token = await approved(service)
    _, in_time_token = await approved(service)
    service.clock.advance(7 * DAY - 1)
    session = await sign_in(service.client, Wallet())
    assert (await claim(service, in_time_token, session["access_token"])).status_code == 201
    service.clock.advance(2)
    session = await sign_in(service.client, Wallet())
    refused(await claim(service, late_token, session["access_token"]), 400, "invalid_token")
    refused(await claim(service, in_time_token, session["access_token"]), 410, "claimed")  # used, whatever its age


async def test_a_claim_needs_a_signed_in_user_and_a_real_link(service: Service) -> None:
    _, token = await approved(service)
    refused(await claim(service, token, None), 401, "missing_token")
    answer = await service.client.post(f"/api/v1/claims/{token}", headers=service.admin)
    assert answer.status_code == 401, answer.text
    session = await sign_in(service.client, Wallet())
    for bad in ("hkc_unknown", "hkv_" + token[4:], "nothing", "hkc_" + "a" * 200):
        refused(await claim(service, bad, session["access_token"]), 400, "invalid_token")
    assert (await claim(service, token, session["access_token"])).status_code == 201


async def test_two_concurrent_claims_make_one_owner(service: Service) -> None:
    registration, token = await approved(service)
    sessions = [await sign_in(service.client, Wallet()) for _ in range(2)]
    answers = await asyncio.gather(*(claim(service, token, s["access_token"]) for s in sessions))
    assert sorted(answer.status_code for answer in answers) == [201, 410], [a.text for a in answers]
    organization = uuid.UUID(registration["organization_id"])
    assert await count(service, OrganizationMember, OrganizationMember.organization_id == organization) == 1
    keys = await service.client.get("/api/v1/keys", headers=service.admin)
    assert [key["organization_id"] for key in keys.json()] == [registration["organization_id"]]


async def test_concurrent_registrations_of_one_address_make_one_record(service: Service) -> None:
    email = company()["contact_email"]
    answers = await asyncio.gather(*(service.client.post("/register", json=company(contact_email=email))
                                     for _ in range(4)))  # fmt: skip
    assert [answer.status_code for answer in answers] == [201] * 4
    assert await count(service, Registration, Registration.contact_email == email) == 1
    assert len(await mails(service, email, "registration.verify")) == 1


# ----------------------------------------------------------------------------------------------- limits


async def test_public_endpoints_are_limited_per_client_address(make_service: ServiceFactory, database_url: str) -> None:
    service = await make_service(database_url, registrations_per_hour=2, registration_status_per_hour=3)
    for _ in range(2):
        await register(service, company())
    limited = await service.client.post("/register", json=company())
    refused(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    for _ in range(3):
        refused(await status_of(service, "nobody@acme.example"), 404, "not_found")
    limited = await status_of(service, "nobody@acme.example")
    refused(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    for _ in range(3):
        refused(await verify(service, "hkv_unknown"), 400, "invalid_token")
    refused(await verify(service, "hkv_unknown"), 429, "rate_limited")
    assert await count(service, Registration) == 2

    # Another client address has an allowance of its own.
    transport = httpx.ASGITransport(app=service.app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        assert (await elsewhere.post("/register", json=company())).status_code == 201
        assert (await elsewhere.post("/registration/status", json={"email": "x@acme.example"})).status_code == 404


# ----------------------------------------------------------------------------------------------- operators


async def test_operators_list_registrations_by_status_newest_first_in_pages(service: Service) -> None:
    assert service.clock is not None
    unverified = await register(service, company())
    service.clock.advance(1)
    waiting = []
    for _ in range(3):
        waiting.append(await pending_approval(service))
        service.clock.advance(1)
    every = await service.client.get(ADMIN_PATH, headers=service.admin)
    assert [item["id"] for item in every.json()] == [item["id"] for item in reversed(waiting)] + [unverified["id"]]
    page = await service.client.get(ADMIN_PATH, params={"status": "pending_approval", "limit": 2},
                                    headers=service.admin)  # fmt: skip
    assert len(page.json()) == 2
    assert 'rel="next"' in page.headers["link"]
    query: dict[str, str | int] = {"status": "pending_approval", "limit": 2, "cursor": page.headers["x-next-cursor"]}
    rest = await service.client.get(ADMIN_PATH, params=query, headers=service.admin)
    assert [item["id"] for item in page.json() + rest.json()] == [item["id"] for item in reversed(waiting)]
    assert "x-next-cursor" not in rest.headers
    only = await service.client.get(ADMIN_PATH, params={"status": "pending_email_verification"}, headers=service.admin)
    assert [item["id"] for item in only.json()] == [unverified["id"]]
    refused(await service.client.get(ADMIN_PATH, params={"status": "claimed"}, headers=service.admin), 422,
            "validation_error")  # fmt: skip
    refused(await service.client.get(ADMIN_PATH, params={"cursor": "nope"}, headers=service.admin), 422,
            "validation_error")  # fmt: skip


async def test_unknown_registrations_are_404(service: Service) -> None:
    for registration_id in (str(uuid.uuid4()), "not-a-uuid"):
        refused(await service.client.get(f"{ADMIN_PATH}/{registration_id}", headers=service.admin), 404, "not_found")
        refused(await decide(service, registration_id, status="approved"), 404, "not_found")


async def test_the_operator_endpoints_need_the_admin_token(service: Service) -> None:
    receipt = await pending_approval(service)
    session = await sign_in(service.client, Wallet())
    for headers in ({}, bearer("wrong"), bearer(session["access_token"])):
        assert (await service.client.get(ADMIN_PATH, headers=headers)).status_code == 401
        assert (await service.client.get(f"{ADMIN_PATH}/{receipt['id']}", headers=headers)).status_code == 401
        answer = await service.client.patch(f"{ADMIN_PATH}/{receipt['id']}", json={"status": "approved"},
                                            headers=headers)  # fmt: skip
        assert answer.status_code == 401
    assert (await status_of(service, receipt["contact_email"])).json()["status"] == "pending_approval"


async def test_tokens_are_stored_only_as_digests(service: Service) -> None:
    _, claim_token = await approved(service)
    receipt = await register(service, company())
    verify_token = await verification_token(service, receipt["contact_email"])
    async with service.runtime.database.reader() as session:
        for table in ("registration_verifications", "organization_claims", "registrations", "audit_events"):
            dump = str((await session.execute(text(f"SELECT * FROM {table}"))).all())  # noqa: S608 - fixed names
            assert verify_token not in dump, table
            assert claim_token not in dump, table
