"""Organizations through ``AuthClient`` and ``AsyncAuthClient``, against a real service, as signed-in users: an
Owner creates one, invites by email, the invited accept with the mailed token, roles change, keys are made, used,
listed and revoked, the audit log and the usage report follow; and each refusal is the SDK's typed error."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hokusai import (
    AsyncAuthClient,
    AuthClient,
    AuthorizationError,
    ConfigurationError,
    ConflictError,
    CreatedOrganizationKey,
    InvalidRequestError,
    NotFoundError,
    Organization,
)
from hokusai._config import session_settings, write_profile
from tests.docs_blocks import blocks
from tests.sdk.conftest import HOKUSAI_VARIABLES, SERVICE_TOKEN, OrganizationService
from tests.wallet import Wallet

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
DOCUMENTED_URL = "https://auth.hokus.ai"


@dataclass
class Person:
    """A signed-in user: a wallet, a client with its session, and the address invitations are mailed to."""

    client: AuthClient
    wallet: Wallet
    email: str

    @property
    def user_id(self) -> str:
        assert self.client.session is not None
        return self.client.session.user_id


def sign_in(client: AuthClient | AsyncAuthClient, wallet: Wallet) -> None:
    assert isinstance(client, AuthClient)
    challenge = client.siwe_challenge(wallet.address)
    client.siwe_verify(challenge.message, wallet.sign(challenge.message))


@pytest.fixture
def people(organization_service: OrganizationService, sdk_env: Path) -> Iterator[dict[str, Person]]:
    """Four signed-in people, by the role they are meant to get: owner, admin, developer, viewer."""
    made: dict[str, Person] = {}
    try:
        for role in ("owner", "admin", "developer", "viewer"):
            wallet = Wallet()
            client = AuthClient(organization_service.url)
            sign_in(client, wallet)
            made[role] = Person(client, wallet, f"{role}-{uuid.uuid4().hex[:8]}@example.com")
        yield made
    finally:
        for person in made.values():
            person.client.close()


def join(service: OrganizationService, org: Organization, by: Person, who: Person, role: str) -> Organization:
    by.client.invite_member(org.id, who.email, role=role)
    return who.client.accept_invitation(service.invitation_token(who.email))


def team(service: OrganizationService, people: dict[str, Person], name: str = "Acme ML") -> Organization:
    """An organization with one member of each role."""
    org = people["owner"].client.create_organization(name)
    for role in ("admin", "developer", "viewer"):
        join(service, org, people["owner"], people[role], role)
    return org


def test_create_list_get_and_rename(people: dict[str, Person]) -> None:
    owner = people["owner"].client
    org = owner.create_organization("  Acme ML  ")
    assert (org.name, org.role) == ("Acme ML", "owner")
    assert org.billing_plan
    assert org.created_at.tzinfo is not None
    assert org.id in {item.id for item in owner.list_organizations()}
    assert owner.get_organization(org.id) == org
    renamed = owner.rename_organization(org.id, "Acme Machine Learning")
    assert (renamed.id, renamed.name) == (org.id, "Acme Machine Learning")
    (member,) = owner.list_members(org.id)
    assert (member.user_id, member.role, member.wallet_address) == (
        people["owner"].user_id, "owner", people["owner"].wallet.address)  # fmt: skip
    assert member.invited_by is None
    with pytest.raises(NotFoundError):  # not a member: the organization is not theirs to know of
        people["viewer"].client.get_organization(org.id)
    assert people["viewer"].client.list_organizations() == []


def test_invite_accept_roles_and_removal(organization_service: OrganizationService, people: dict[str, Person]) -> None:
    owner, admin, viewer = people["owner"], people["admin"], people["viewer"]
    org = owner.client.create_organization("Invited Inc")
    invitation = owner.client.invite_member(org.id, admin.email, role="admin")
    assert (invitation.email, invitation.role, invitation.invited_by) == (admin.email, "admin", owner.user_id)
    assert invitation.expires_at > invitation.created_at
    assert [item.id for item in owner.client.list_invitations(org.id)] == [invitation.id]

    joined = admin.client.accept_invitation(organization_service.invitation_token(admin.email))
    assert (joined.id, joined.role) == (org.id, "admin")
    assert owner.client.list_invitations(org.id) == []
    with pytest.raises(InvalidRequestError) as used:  # the link works once
        viewer.client.accept_invitation(organization_service.invitation_token(admin.email))
    assert used.value.code == "invalid_token"

    default = admin.client.invite_member(org.id, viewer.email)
    assert default.role == "developer"
    joined = viewer.client.accept_invitation(organization_service.invitation_token(viewer.email))
    assert joined.role == "developer"
    changed = admin.client.set_member_role(org.id, viewer.user_id, "viewer")
    assert (changed.user_id, changed.role, changed.invited_by) == (viewer.user_id, "viewer", admin.user_id)
    roles = {member.user_id: member.role for member in viewer.client.list_members(org.id)}
    assert roles == {owner.user_id: "owner", admin.user_id: "admin", viewer.user_id: "viewer"}

    withdrawn = owner.client.invite_member(org.id, "nobody@example.com")
    assert owner.client.revoke_invitation(org.id, withdrawn.id)
    with pytest.raises(InvalidRequestError):
        viewer.client.accept_invitation(organization_service.invitation_token("nobody@example.com"))

    with pytest.raises(ConflictError) as last:
        owner.client.set_member_role(org.id, owner.user_id, "admin")
    assert last.value.code == "last_owner"
    with pytest.raises(ConflictError) as leaving:
        owner.client.remove_member(org.id, owner.user_id)
    assert leaving.value.code == "last_owner"

    assert admin.client.remove_member(org.id, viewer.user_id) == "Member removed"
    with pytest.raises(NotFoundError):
        viewer.client.list_members(org.id)
    assert admin.client.remove_member(org.id, admin.user_id) == "Member removed"  # anyone may leave
    assert [member.user_id for member in owner.client.list_members(org.id)] == [owner.user_id]


def test_role_refusals_name_the_role(organization_service: OrganizationService, people: dict[str, Person]) -> None:
    org = team(organization_service, people)
    viewer, developer, admin = people["viewer"].client, people["developer"].client, people["admin"].client

    with pytest.raises(AuthorizationError) as refused:
        viewer.create_organization_key(org.id, "nope", "platform")
    assert (refused.value.status, refused.value.code, refused.value.required_role) == (
        403, "insufficient_role", "developer")  # fmt: skip
    assert "Developer role" in str(refused.value)
    with pytest.raises(AuthorizationError) as refused:
        developer.invite_member(org.id, "x@example.com")
    assert refused.value.required_role == "admin"
    assert "Admin" in str(refused.value)
    with pytest.raises(AuthorizationError) as refused:
        admin.invite_member(org.id, "boss@example.com", role="owner")
    assert refused.value.required_role == "owner"
    assert "Owner" in str(refused.value)
    with pytest.raises(AuthorizationError):
        developer.list_organization_audit_logs(org.id)
    admin.invite_member(org.id, people["viewer"].email)
    with pytest.raises(ConflictError) as twice:
        people["viewer"].client.accept_invitation(organization_service.invitation_token(people["viewer"].email))
    assert twice.value.code == "already_member"


def test_keys_audit_and_usage(organization_service: OrganizationService, people: dict[str, Person]) -> None:
    org = team(organization_service, people)
    developer, admin, viewer = people["developer"].client, people["admin"].client, people["viewer"].client
    created = developer.create_organization_key(
        org.id, "ci", "prediction", scopes=["predict"], environment="test", rate_limit_per_hour=500,
        expires_in_days=30, allowed_ips=["127.0.0.1"],
    )  # fmt: skip
    assert isinstance(created, CreatedOrganizationKey)
    assert created.api_key not in repr(created)
    assert (created.organization_id, created.key_info.organization_id) == (org.id, org.id)
    assert (created.key_info.user_id, created.key_info.environment) == (people["developer"].user_id, "test")
    verdict = developer.validate_key(created.api_key, service_id="prediction", required_scope="predict",
                                     client_ip="127.0.0.1")  # fmt: skip
    assert verdict.is_valid
    assert verdict.organization_id == org.id

    other = admin.create_organization_key(org.id, "batch", "platform")
    page = viewer.list_organization_keys(org.id, limit=1)
    assert [key.key_id for key in page.items] == [other.key_id]
    assert page.next_cursor is not None
    assert [key.key_id for key in viewer.iter_organization_keys(org.id, limit=1)] == [other.key_id, created.key_id]

    with AuthClient(organization_service.url, service_token=SERVICE_TOKEN) as service:
        for status in (200, 200, 500):
            service.record_usage(created.key_id, service_id="prediction", endpoint="/predict", status_code=status,
                                 response_time_ms=30, predictions_count=2, compute_ms=7)  # fmt: skip
    deadline = time.monotonic() + 10
    while (report := viewer.get_organization_usage(org.id)).total_requests < 3 and time.monotonic() < deadline:
        time.sleep(0.1)  # reports are flushed every 0.2 s
    assert (report.organization_id, report.total_requests, report.total_predictions) == (org.id, 3, 6)
    assert report.total_compute_ms == 21
    assert report.error_rate == pytest.approx(1 / 3)
    assert report.period == time.strftime("%Y-%m", time.gmtime())
    (used,) = report.keys
    assert (used.key_id, used.name, used.requests, used.predictions) == (created.key_id, "ci", 3, 6)
    assert viewer.get_organization_usage(org.id, period="2020-01").keys == []

    with pytest.raises(AuthorizationError) as refused:  # a Developer revokes only the keys they created
        developer.revoke_organization_key(org.id, other.key_id)
    assert refused.value.required_role == "admin"
    assert developer.revoke_organization_key(org.id, created.key_id)
    assert not developer.validate_key(created.api_key).is_valid
    assert [key.key_id for key in viewer.iter_organization_keys(org.id, active_only=True)] == [other.key_id]
    with pytest.raises(NotFoundError):
        admin.revoke_organization_key(org.id, str(uuid.uuid4()))

    events = list(admin.iter_organization_audit_logs(org.id, limit=2))
    actions = [event.action for event in events]
    assert actions[:2] == ["api_key.revoke", "api_key.create"]
    assert "organization.invitation.accept" in actions
    assert all(event.organization_id == org.id for event in events)
    creations = admin.list_organization_audit_logs(org.id, action="api_key.create")
    assert {event.target_id for event in creations.items} == {created.key_id, other.key_id}
    assert {event.actor_type for event in creations.items} == {"user"}
    assert admin.list_organization_audit_logs(org.id, since=events[0].occurred_at).items[0].id == events[0].id

    assert people["owner"].client.delete_organization(org.id) == "Organization deleted"
    assert not admin.validate_key(other.api_key).is_valid, "its keys stop with it"
    with pytest.raises(NotFoundError):
        admin.get_organization(org.id)


def test_a_session_is_needed(organization_service: OrganizationService, sdk_env: Path) -> None:
    with AuthClient(organization_service.url) as client, pytest.raises(ConfigurationError) as refused:
        client.list_organizations()
    assert "hokusai auth login --wallet" in str(refused.value)


async def test_the_async_client_does_the_same(organization_service: OrganizationService, sdk_env: Path) -> None:
    owner, invited = Wallet(), Wallet()
    async with AsyncAuthClient(organization_service.url) as first, AsyncAuthClient(organization_service.url) as second:
        for client, wallet in ((first, owner), (second, invited)):
            challenge = await client.siwe_challenge(wallet.address)
            await client.siwe_verify(challenge.message, wallet.sign(challenge.message))
        org = await first.create_organization("Async Co")
        assert [item.id for item in await first.list_organizations()] == [org.id]
        await first.invite_member(org.id, "async@example.com", role="viewer")
        joined = await second.accept_invitation(organization_service.invitation_token("async@example.com"))
        assert (joined.id, joined.role) == (org.id, "viewer")
        with pytest.raises(AuthorizationError) as refused:
            await second.create_organization_key(org.id, "nope", "platform")
        assert refused.value.required_role == "developer"
        created = await first.create_organization_key(org.id, "async key", "platform")
        assert [key.key_id async for key in second.iter_organization_keys(org.id)] == [created.key_id]
        actions = [event.action async for event in first.iter_organization_audit_logs(org.id, limit=1)]
        assert actions[0] == "api_key.create"
        assert (await second.get_organization_usage(org.id)).total_requests == 0


def test_the_organizations_section_of_sdk_md_runs_as_written(
    organization_service: OrganizationService, sdk_env: Path, tmp_path: Path
) -> None:
    """Its two ```py examples, each run by its person as a program of its own, with the session that
    ``hokusai auth login --wallet`` would have stored in their profile; and they print what the doc says."""
    owner_example, ana_example = [block.text for block in blocks(DOC, "py", heading="Organizations")]
    url = organization_service.url
    people = {}
    for name in ("owner", "ana"):
        wallet, home = Wallet(), tmp_path / name
        with AuthClient(url) as client:
            sign_in(client, wallet)
            assert client.session is not None
            write_profile("default", {"auth_service_url": url, **session_settings(client.session, url)},
                          home / ".hokusai" / "config")  # fmt: skip
        people[name] = (wallet, home)

    def run(example: str, name: str, prelude: str = "") -> str:
        home = people[name][1]
        script = home / "example.py"
        script.write_text(prelude + example.replace(DOCUMENTED_URL, url))
        env = {k: v for k, v in os.environ.items() if k not in HOKUSAI_VARIABLES} | {"HOME": str(home)}
        done = subprocess.run([sys.executable, script.name], env=env, cwd=home, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        for promised in re.findall(r"^ *# → (.+)$", example, re.MULTILINE):
            assert promised in done.stdout, f"{promised!r} not in:\n{done.stdout}"
        return done.stdout

    printed = run(owner_example, "owner").splitlines()
    owner_address = people["owner"][0].address
    assert printed[1] == f"owner {owner_address}"
    assert re.fullmatch(r"api_key\.create user:[0-9a-f-]{36} True", printed[2])
    assert re.fullmatch(r"\d{4}-\d{2} 0 free 0\.0", printed[3])

    token = organization_service.invitation_token("ana@example.com")
    printed = run(ana_example, "ana", prelude=f"token = {token!r}\n").splitlines()
    assert printed == ["Acme ML viewer", "developer - This needs the Developer role or higher in this organization"]
