"""People and organizations for the organization tests, made through the API as users make them: wallets sign
in, an Owner creates the organization, invites by email, and the invited accept with the mailed token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from hokusai_auth.organizations.mails import ACCEPT_PATH, INVITATION_KIND
from tests.api.mailed import mails, token_in
from tests.conftest import Service
from tests.wallet import Wallet, bearer, sign_in

ORGS = "/api/v1/organizations"
ROLES = ("owner", "admin", "developer", "viewer")


@dataclass
class Person:
    wallet: Wallet
    user_id: str
    access_token: str
    email: str = field(default_factory=lambda: f"{uuid.uuid4().hex[:12]}@example.com")

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


@dataclass
class Org:
    id: str
    people: dict[str, Person]  # role -> a member with that role

    @property
    def path(self) -> str:
        return f"{ORGS}/{self.id}"


async def person(service: Service) -> Person:
    wallet = Wallet()
    answer = await sign_in(service.client, wallet)
    return Person(wallet, answer["user_id"], answer["access_token"])


async def create(service: Service, owner: Person, name: str = "Acme ML") -> str:
    response = await service.client.post(ORGS, json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def invite(service: Service, org_id: str, by: Person, email: str, role: str) -> httpx.Response:
    return await service.client.post(f"{ORGS}/{org_id}/invitations", json={"email": email, "role": role},
                                     headers=by.headers)  # fmt: skip


async def invitation_token(service: Service, email: str) -> str:
    sent = await mails(service, email, INVITATION_KIND)
    assert sent, f"no invitation mailed to {email}"
    return token_in(sent[-1], ACCEPT_PATH)


async def accept(service: Service, who: Person, token: str) -> httpx.Response:
    return await service.client.post("/api/v1/invitations/accept", json={"token": token}, headers=who.headers)


async def join(service: Service, org_id: str, by: Person, who: Person, role: str) -> None:
    answer = await invite(service, org_id, by, who.email, role)
    assert answer.status_code == 201, answer.text
    accepted = await accept(service, who, await invitation_token(service, who.email))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == role


async def organization(service: Service, roles: tuple[str, ...] = ROLES, **people: Person) -> Org:
    """A new organization with one member of each of ``roles`` (the Owner creates it and invites the others);
    ``people`` names members to use for a role instead of new ones."""
    owner = people.get("owner") or await person(service)
    org_id = await create(service, owner)
    members = {"owner": owner}
    for role in roles:
        if role == "owner":
            continue
        members[role] = people.get(role) or await person(service)
        await join(service, org_id, owner, members[role], role)
    return Org(org_id, members)


async def role_of(service: Service, org: Org, user_id: str) -> str | None:
    response = await service.client.get(f"{org.path}/members", headers=org.people["owner"].headers)
    assert response.status_code == 200, response.text
    roles: dict[str, Any] = {member["user_id"]: member["role"] for member in response.json()}
    return roles.get(user_id)
