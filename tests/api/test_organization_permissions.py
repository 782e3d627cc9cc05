"""Every organization endpoint × every kind of caller, generated from the permission table itself
(hokusai_auth/organizations/permissions.py), on SQLite and PostgreSQL.

For each endpoint and each caller (Owner, Admin, Developer, Viewer, a signed-in outsider, nobody): nobody gets
401; for an endpoint of one organization, an outsider gets 404 and a member below the minimum role 403
``insufficient_role`` naming the role; everyone else succeeds. A new endpoint in the table is tested here
without a line added; an endpoint missing from the table cannot be routed (routes.py takes paths from it).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hokusai_auth.app import create_app
from hokusai_auth.organizations.permissions import PERMISSIONS, Permission
from hokusai_auth.organizations.roles import Role
from tests.api.organizations import Org, Person, invitation_token, invite, join, organization, person
from tests.conftest import Service, make_settings

CALLERS = ("owner", "admin", "developer", "viewer", "outsider", "anonymous")


def test_every_organization_route_is_in_the_table_and_every_entry_is_routed() -> None:
    schema = create_app(make_settings("sqlite:///unused.db")).openapi()
    routed = {
        (method.upper(), path, operation["operationId"])
        for path, operations in schema["paths"].items()
        if ("/organizations" in path or "/invitations" in path) and not path.startswith("/api/v1/admin/")
        for method, operation in operations.items()
    }
    assert routed == {(permission.method, permission.path, operation) for operation, permission in PERMISSIONS.items()}


async def _target(service: Service, org: Org) -> Person:
    """A Viewer whom member endpoints act on (nobody's own record, so no caller acts on themselves)."""
    target = await person(service)
    await join(service, org.id, org.people["owner"], target, "viewer")
    return target


async def _request(
    service: Service, operation: str, permission: Permission, org: Org, caller: Person | None
) -> tuple[str, str, dict[str, Any] | None]:
    """The method, path and body that exercise ``operation`` for ``caller``: each with a fresh target."""
    owner = org.people["owner"]
    values = {"org_id": org.id}
    body: dict[str, Any] | None = None
    if "{user_id}" in permission.path:
        values["user_id"] = (await _target(service, org)).user_id
    if "{invitation_id}" in permission.path:
        answer = await invite(service, org.id, owner, f"{uuid.uuid4().hex[:10]}@example.com", "viewer")
        values["invitation_id"] = answer.json()["id"]
    if "{key_id}" in permission.path:
        # The caller's own key when they may create one (a Developer revokes the keys they created).
        maker = caller if caller is not None and caller in _developers_and_up(org) else owner
        created = await service.client.post(f"{org.path}/api-keys", json={"name": "k", "service_id": "platform"},
                                            headers=maker.headers)  # fmt: skip
        assert created.status_code == 201, created.text
        values["key_id"] = created.json()["key_id"]
    if operation in ("create_organization", "update_organization"):
        body = {"name": "Renamed Co"}
    elif operation == "update_member":
        body = {"role": "developer"}
    elif operation == "create_invitation":
        body = {"email": f"{uuid.uuid4().hex[:10]}@example.com", "role": "viewer"}
    elif operation == "create_organization_key":
        body = {"name": "ci", "service_id": "platform"}
    elif operation == "accept_invitation":
        email = caller.email if caller is not None else "nobody@example.com"
        await invite(service, org.id, owner, email, "viewer")
        body = {"token": await invitation_token(service, email)}
    return permission.method, permission.path.format(**values), body


def _developers_and_up(org: Org) -> list[Person]:
    return [org.people[role] for role in ("owner", "admin", "developer")]


def _expected(operation: str, permission: Permission, caller_kind: str) -> tuple[int, str | None]:
    """(status, code) the table promises ``caller_kind``; code None for a success."""
    if caller_kind == "anonymous":
        return 401, "missing_token"
    minimum = permission.minimum
    if minimum is None:  # any signed-in user, members and outsiders alike
        if operation == "accept_invitation":
            return (200, None) if caller_kind == "outsider" else (409, "already_member")
        return (201 if permission.method == "POST" else 200), None
    if caller_kind == "outsider":
        return 404, "not_found"
    if not Role(caller_kind).at_least(minimum):
        return 403, "insufficient_role"
    return (201 if operation.startswith("create_") else 200), None


@pytest.mark.parametrize("operation", sorted(PERMISSIONS))
async def test_each_endpoint_admits_exactly_the_roles_the_table_names(service: Service, operation: str) -> None:
    """One organization per endpoint; each caller acts on targets of their own. The Owner goes last, so an
    endpoint that ends the organization (DELETE) ends it after everyone else was refused."""
    permission = PERMISSIONS[operation]
    org = await organization(service)
    outcomes = {}
    for caller_kind in reversed(CALLERS):
        caller = None if caller_kind == "anonymous" else org.people.get(caller_kind) or await person(service)
        method, path, body = await _request(service, operation, permission, org, caller)
        response = await service.client.request(method, path, json=body, headers=caller.headers if caller else {})
        code = response.json().get("code") if response.status_code >= 400 else None
        outcomes[caller_kind] = (response.status_code, code)
        if code == "insufficient_role":
            assert response.json()["required_role"] == permission.minimum, response.text
    assert outcomes == {kind: _expected(operation, permission, kind) for kind in CALLERS}
