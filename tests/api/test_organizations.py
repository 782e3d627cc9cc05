"""Organizations over HTTP, on SQLite and PostgreSQL: the Owner rules (also when two Owners act at once),
invitations (mailed through a real SMTP server), organization keys that outlive their maker's membership,
deletion, the organization in a session's token answer, its audit log and its usage."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import update

from hokusai_auth.organizations.mails import ACCEPT_PATH
from hokusai_auth.users.models import User
from tests.api.mailed import PUBLIC_URL, refused
from tests.api.organizations import (
    ORGS,
    Org,
    accept,
    invitation_token,
    invite,
    join,
    organization,
    person,
    role_of,
)
from tests.conftest import Service, ServiceFactory
from tests.smtp import SmtpServer

DAY = 86_400.0


async def set_role(service: Service, org: Org, by: str, user_id: str, role: str) -> tuple[int, str | None]:
    response = await service.client.patch(f"{org.path}/members/{user_id}", json={"role": role},
                                          headers=org.people[by].headers)  # fmt: skip
    return response.status_code, response.json().get("code") if response.status_code >= 400 else None


async def remove(service: Service, org: Org, by: str, user_id: str) -> tuple[int, str | None]:
    response = await service.client.delete(f"{org.path}/members/{user_id}", headers=org.people[by].headers)
    return response.status_code, response.json().get("code") if response.status_code >= 400 else None


async def org_key(service: Service, org: Org, by: str, **fields: object) -> dict[str, object]:
    response = await service.client.post(f"{org.path}/api-keys", json={"name": "ci", "service_id": "platform",
                                         **fields}, headers=org.people[by].headers)  # fmt: skip
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


# ----------------------------------------------------------------------------------------------- the Owner rules


async def test_only_an_owner_grants_changes_or_removes_owner(service: Service) -> None:
    org = await organization(service)
    owner, admin, developer = (org.people[role].user_id for role in ("owner", "admin", "developer"))
    assert await set_role(service, org, "admin", owner, "viewer") == (403, "insufficient_role")
    assert await remove(service, org, "admin", owner) == (403, "insufficient_role")
    assert await set_role(service, org, "admin", developer, "owner") == (403, "insufficient_role")
    assert await set_role(service, org, "admin", admin, "owner") == (403, "insufficient_role")  # not themselves
    assert await set_role(service, org, "admin", developer, "admin") == (200, None)  # below Owner: an Admin may
    assert await set_role(service, org, "owner", developer, "owner") == (200, None)
    assert await role_of(service, org, developer) == "owner"
    assert await set_role(service, org, "owner", developer, "viewer") == (200, None)  # another Owner remains


async def test_the_last_owner_can_neither_leave_nor_be_demoted(service: Service) -> None:
    org = await organization(service, roles=("owner", "admin"))
    owner = org.people["owner"].user_id
    assert await set_role(service, org, "owner", owner, "admin") == (409, "last_owner")
    assert await remove(service, org, "owner", owner) == (409, "last_owner")
    await join(service, org.id, org.people["owner"], second := await person(service), "owner")
    assert await set_role(service, org, "owner", owner, "admin") == (200, None)  # now there is another
    org.people["owner"] = second
    assert await remove(service, org, "owner", second.user_id) == (409, "last_owner")


async def test_any_member_may_leave_and_then_has_no_access(service: Service) -> None:
    org = await organization(service)
    viewer = org.people["viewer"]
    assert await remove(service, org, "viewer", viewer.user_id.upper()) == (200, None)  # however it is spelled
    response = await service.client.get(org.path, headers=viewer.headers)
    refused(response, 404, "not_found")
    assert await remove(service, org, "developer", org.people["admin"].user_id) == (403, "insufficient_role")


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    make_service: ServiceFactory, database_url: str
) -> None:
    """Two service instances on one database, each an Owner's request; repeated, since a race is a matter of
    timing. Exactly one demotion succeeds each time and the other is refused as the last Owner."""
    first, second = await make_service(database_url), await make_service(database_url)
    for _ in range(5):
        org = await organization(first, roles=("owner",))
        other = await person(first)
        await join(first, org.id, org.people["owner"], other, "owner")
        a, b = org.people["owner"], other
        results = await asyncio.gather(
            first.client.patch(f"{org.path}/members/{b.user_id}", json={"role": "admin"}, headers=a.headers),
            second.client.patch(f"{org.path}/members/{a.user_id}", json={"role": "admin"}, headers=b.headers),
        )
        outcomes = sorted((r.status_code, r.json().get("code")) for r in results)
        # The loser is either the last Owner (409) or, demoted a moment before, no longer an Owner (403).
        assert outcomes[0][0] == 200, outcomes
        assert outcomes[1] in ((403, "insufficient_role"), (409, "last_owner")), outcomes
        members = (await first.client.get(f"{org.path}/members", headers=a.headers)).json()
        assert sum(member["role"] == "owner" for member in members) == 1


async def test_an_organization_is_404_to_outsiders_whatever_its_id(service: Service) -> None:
    org = await organization(service, roles=("owner",))
    outsider = await person(service)
    for path in (org.path, f"{ORGS}/{uuid.uuid4()}", f"{ORGS}/not-a-uuid", f"{org.path}/members"):
        refused(await service.client.get(path, headers=outsider.headers), 404, "not_found")


# ----------------------------------------------------------------------------------------------- invitations


async def test_an_invitation_works_once_replaces_the_previous_one_and_expires_after_7_days(service: Service) -> None:
    org = await organization(service, roles=("owner",))
    owner = org.people["owner"]
    invited, stranger = await person(service), await person(service)
    await invite(service, org.id, owner, invited.email, "developer")
    first = await invitation_token(service, invited.email)
    await invite(service, org.id, owner, invited.email, "viewer")  # again: replaces the first
    second = await invitation_token(service, invited.email)
    refused(await accept(service, invited, first), 400, "invalid_token")
    pending = (await service.client.get(f"{org.path}/invitations", headers=owner.headers)).json()
    assert [(item["email"], item["role"]) for item in pending] == [(invited.email, "viewer")]

    assert (await accept(service, invited, second)).json()["role"] == "viewer"
    refused(await accept(service, stranger, second), 400, "invalid_token")  # single use
    assert (await service.client.get(f"{org.path}/invitations", headers=owner.headers)).json() == []

    await invite(service, org.id, owner, "late@example.com", "viewer")
    token = await invitation_token(service, "late@example.com")
    assert service.clock is not None
    service.clock.advance(7 * DAY - 60)
    on_time = await person(service)  # signed in now: the earlier sessions' access tokens have expired
    service.clock.advance(61)
    refused(await accept(service, on_time, token), 400, "invalid_token")


async def test_an_invitation_is_bound_to_a_user_who_verified_the_address(service: Service) -> None:
    org = await organization(service, roles=("owner",))
    holder, other = await person(service), await person(service)
    async with service.runtime.database.writer.begin() as session:
        await session.execute(update(User).where(User.id == uuid.UUID(holder.user_id))
                              .values(email=holder.email, email_verified_at=service.runtime.clock.now()))  # fmt: skip
    await invite(service, org.id, org.people["owner"], holder.email, "developer")
    token = await invitation_token(service, holder.email)
    refused(await accept(service, other, token), 403, "invitation_for_another_user")
    assert (await accept(service, holder, token)).status_code == 200
    # Already a member: inviting their verified address again is refused rather than mailed.
    refused(await invite(service, org.id, org.people["owner"], holder.email, "viewer"), 409, "already_member")


async def test_an_admin_cannot_invite_an_owner_and_invitations_are_checked_strictly(service: Service) -> None:
    org = await organization(service, roles=("owner", "admin"))
    refused(await invite(service, org.id, org.people["admin"], "x@example.com", "owner"), 403, "insufficient_role")
    for body in ({"email": "not-an-address", "role": "viewer"}, {"email": "a@example.com", "role": "Owner"},
                 {"email": "a@example.com", "role": "viewer", "extra": 1}):  # fmt: skip
        response = await service.client.post(f"{org.path}/invitations", json=body, headers=org.people["admin"].headers)
        assert response.status_code == 422, response.text
    refused(await accept(service, org.people["admin"], "hki_" + "A" * 43), 400, "invalid_token")
    refused(await accept(service, org.people["admin"], "nonsense"), 400, "invalid_token")


async def test_an_invitation_travels_through_a_real_smtp_server(
    make_service: ServiceFactory, database_url: str, smtp_server: SmtpServer
) -> None:
    service = await make_service(database_url, smtp_url=smtp_server.url(), mail_send_interval=0.05)
    org = await organization(service, roles=("owner",))
    invited = await person(service)
    assert (await invite(service, org.id, org.people["owner"], invited.email, "developer")).status_code == 201
    message = await asyncio.to_thread(smtp_server.wait_for, invited.email)
    text = message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "Acme ML" in body
    assert "Developer" in body
    assert "Acme ML" not in str(message["Subject"])  # what members typed never goes into a header
    token = body.split(f"{PUBLIC_URL}{ACCEPT_PATH}?token=")[1].split()[0]
    assert (await accept(service, invited, token)).json() == {
        "id": org.id, "name": "Acme ML", "created_at": (await service.client.get(
            org.path, headers=org.people["owner"].headers)).json()["created_at"], "billing_plan": "free",
        "role": "developer",
    }  # fmt: skip


# ----------------------------------------------------------------------------------------------- organization keys


async def test_organization_keys_outlive_their_makers_membership_and_account(service: Service) -> None:
    org = await organization(service)
    developer = org.people["developer"]
    created = await org_key(service, org, "developer")
    key, key_id = str(created["api_key"]), str(created["key_id"])
    answer = (await service.validate(key)).json()
    assert answer["organization_id"] == org.id
    assert answer["user_id"] == developer.user_id

    assert await remove(service, org, "admin", developer.user_id) == (200, None)
    assert (await service.validate(key)).json()["is_valid"] is True
    # The former member has no hold on it: not through the organization, not through their own keys.
    refused(await service.client.get(f"{org.path}/api-keys", headers=developer.headers), 404, "not_found")
    refused(await service.client.delete(f"/api/v1/keys/{key_id}", headers=developer.headers), 404, "not_found")
    assert (await service.client.get("/api/v1/keys", headers=developer.headers)).json() == []
    # Nor does disabling their account stop the organization's key.
    disabled = await service.client.patch(f"/api/v1/admin/users/{developer.user_id}", json={"is_active": False},
                                          headers=service.admin)  # fmt: skip
    assert disabled.status_code == 200, disabled.text
    assert (await service.validate(key)).json()["is_valid"] is True
    listed = (await service.client.get(f"{org.path}/api-keys", headers=org.people["viewer"].headers)).json()
    assert [item["key_id"] for item in listed] == [key_id]


async def test_a_developer_revokes_their_own_keys_and_an_admin_any(service: Service) -> None:
    org = await organization(service)
    mine, theirs = await org_key(service, org, "developer"), await org_key(service, org, "admin")
    developer, admin = org.people["developer"].headers, org.people["admin"].headers
    refused(await service.client.delete(f"{org.path}/api-keys/{theirs['key_id']}", headers=developer), 403,
            "insufficient_role")  # fmt: skip
    assert (await service.client.delete(f"{org.path}/api-keys/{mine['key_id']}", headers=developer)).status_code == 200
    assert (await service.validate(str(mine["api_key"]))).json()["is_valid"] is False
    other = await organization(service, roles=("owner",))
    foreign = await org_key(service, other, "owner")
    refused(await service.client.delete(f"{org.path}/api-keys/{foreign['key_id']}", headers=admin), 404, "not_found")
    personal = await service.create_key()
    refused(await service.client.delete(f"{org.path}/api-keys/{personal['key_id']}", headers=admin), 404, "not_found")


async def test_organization_keys_take_the_organizations_plan_not_the_callers(service: Service) -> None:
    org = await organization(service, roles=("owner",))
    for field, value in (("billing_plan", "enterprise"), ("user_id", "someone-else")):
        response = await service.client.post(f"{org.path}/api-keys", json={"name": "k", "service_id": "platform",
                                             field: value}, headers=org.people["owner"].headers)  # fmt: skip
        refused(response, 403, "forbidden")


async def test_usage_of_an_organization_sums_its_keys_on_its_plan(service: Service) -> None:
    org = await organization(service, roles=("owner", "viewer"))
    first, second = await org_key(service, org, "owner"), await org_key(service, org, "owner")
    personal = await service.create_key()
    for key, predictions in ((first, 700), (second, 500), (personal, 9_000)):
        recorded = await service.client.post(
            f"/api/v1/usage/{key['key_id']}",
            json={"service_id": "platform", "endpoint": "/predict", "status_code": 200, "response_time_ms": 10,
                  "predictions_count": predictions},
            headers=service.admin,
        )  # fmt: skip
        assert recorded.status_code == 200, recorded.text
    await service.runtime.usage.flush()
    usage = (await service.client.get(f"{org.path}/usage", headers=org.people["viewer"].headers)).json()
    assert (usage["total_requests"], usage["total_predictions"]) == (2, 1200)
    assert (usage["included_predictions"], usage["overage_charges"]) == (1000, 0.2)  # 200 over the free plan
    assert [item["key_id"] for item in usage["keys"]] == sorted([str(first["key_id"]), str(second["key_id"])])
    refused(await service.client.get(f"{org.path}/usage", params={"period": "2026-13"},
                                     headers=org.people["viewer"].headers), 422, "validation_error")  # fmt: skip


# ----------------------------------------------------------------------------------------------- the organization


async def test_deleting_an_organization_revokes_its_keys_and_ends_every_membership(service: Service) -> None:
    org = await organization(service)
    key = str((await org_key(service, org, "developer"))["api_key"])
    refused(await service.client.delete(org.path, headers=org.people["admin"].headers), 403, "insufficient_role")
    assert (await service.client.delete(org.path, headers=org.people["owner"].headers)).status_code == 200
    answer = (await service.validate(key)).json()
    assert answer["is_valid"] is False
    for member in org.people.values():
        refused(await service.client.get(org.path, headers=member.headers), 404, "not_found")
        assert (await service.client.get(ORGS, headers=member.headers)).json() == []


async def test_a_session_token_names_the_users_organizations_and_roles(service: Service) -> None:
    org = await organization(service, roles=("owner", "developer"))
    developer = org.people["developer"]

    async def answer() -> dict[str, object]:
        response = await service.client.post("/api/v1/tokens/validate", json={"token": developer.access_token})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    assert (await answer())["organization_ids"] == [org.id]
    assert (await answer())["permissions"] == [f"organization:{org.id}:developer"]
    await set_role(service, org, "owner", developer.user_id, "admin")
    assert (await answer())["permissions"] == [f"organization:{org.id}:admin"]  # at once on this instance
    await remove(service, org, "owner", developer.user_id)
    assert (await answer())["organization_ids"] == []


async def test_organization_admins_read_their_organizations_audit_log(service: Service) -> None:
    org = await organization(service)
    other = await organization(service, roles=("owner",))
    await org_key(service, org, "developer")
    await set_role(service, org, "owner", org.people["viewer"].user_id, "developer")
    response = await service.client.get(f"{org.path}/audit-logs", headers=org.people["admin"].headers)
    assert response.status_code == 200, response.text
    events = response.json()
    assert {event["organization_id"] for event in events} == {org.id}
    actions = {event["action"] for event in events}
    assert {"organization.create", "organization.invitation.create", "organization.invitation.accept",
            "api_key.create", "organization.member.update"} <= actions  # fmt: skip
    changed = next(event for event in events if event["action"] == "organization.member.update")
    assert changed["actor"] == f"user:{org.people['owner'].user_id}"
    assert changed["details"] == {"role": "developer", "previous_role": "viewer"}
    assert other.id not in {event["organization_id"] for event in events}
    refused(await service.client.get(f"{org.path}/audit-logs", headers=org.people["developer"].headers), 403,
            "insufficient_role")  # fmt: skip


async def test_names_are_one_trimmed_line(service: Service) -> None:
    owner = await person(service)
    for name in ("", "  ", "a\nb", "x" * 201, 5):
        response = await service.client.post(ORGS, json={"name": name}, headers=owner.headers)
        assert response.status_code == 422, (name, response.text)
    response = await service.client.post(ORGS, json={"name": "  Acme  "}, headers=owner.headers)
    assert response.json()["name"] == "Acme"
    assert response.json()["role"] == "owner"


# ----------------------------------------------------------------------------------------------- operators


async def test_operators_set_an_organizations_plan_and_its_keys_follow(service: Service) -> None:
    org = await organization(service, roles=("owner",))
    key = str((await org_key(service, org, "owner"))["api_key"])
    assert (await service.validate(key)).json()["billing_plan"] == "free"
    path = f"/api/v1/admin/organizations/{org.id}"
    refused(await service.client.patch(path, json={"billing_plan": "pro"}, headers=org.people["owner"].headers), 401,
            "unauthorized")  # fmt: skip
    answer = await service.client.patch(path, json={"billing_plan": "pro"}, headers=service.admin)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["billing_plan"], answer.json()["members"]) == ("pro", 1)
    assert (await service.validate(key)).json()["billing_plan"] == "pro"  # the cached key was told
    assert str((await org_key(service, org, "owner"))["key_info"]["billing_plan"]) == "pro"  # type: ignore[index]
    usage = (await service.client.get(f"{org.path}/usage", headers=org.people["owner"].headers)).json()
    assert usage["included_predictions"] == 500_000
    listed = (await service.client.get("/api/v1/admin/organizations", headers=service.admin)).json()
    assert org.id in {item["id"] for item in listed}
    refused(await service.client.patch(path, json={"billing_plan": "gold"}, headers=service.admin), 422,
            "validation_error")  # fmt: skip
    refused(await service.client.get(f"/api/v1/admin/organizations/{uuid.uuid4()}", headers=service.admin), 404,
            "not_found")  # fmt: skip
