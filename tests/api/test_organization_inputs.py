"""Hostile and malformed input to every organization endpoint (from the permission table), as the Owner, who gets
past every role check: each answer is a 4xx with ``{detail, code}``, never a 5xx, and nothing changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hokusai_auth.organizations.permissions import PERMISSIONS
from tests.api.organizations import organization
from tests.conftest import Service

BODIES: list[Any] = [
    None, [], "text", 5, {"name": None}, {"name": ["x"]}, {"name": "a\x00b"}, {"name": "x" * 5000},
    {"email": "a@b.co\r\nBcc: x@y.z", "role": "viewer"}, {"email": "a@example.com", "role": None},
    {"role": "OWNER"}, {"role": 1}, {"token": None}, {"token": "x" * 10_000}, {"name": "k", "service_id": "nope"},
    {"unexpected": True},
]  # fmt: skip
RAW_BODIES = [b"{", b"\xff\xfe", b"[1, 2", b'{"name": "a"}' * 3, b'{"name": "\\ud800", "email": "\\ud800"}']
PATH_VALUES = ["not-a-uuid", "0" * 36, f"{{{uuid.uuid4()}}}", "%00", "é", "x" * 300, str(uuid.uuid4()).upper()]


def _error_shape(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body["detail"], str), body
    assert isinstance(body["code"], str), body


@pytest.mark.parametrize("operation", sorted(op for op, p in PERMISSIONS.items() if p.method in ("POST", "PATCH")))
async def test_malformed_bodies_are_refused_with_a_4xx_that_says_why(service: Service, operation: str) -> None:
    org = await organization(service, roles=("owner",))
    permission = PERMISSIONS[operation]
    path = permission.path.format(org_id=org.id, user_id=org.people["owner"].user_id)
    headers = org.people["owner"].headers
    for body in BODIES:
        response = await service.client.request(permission.method, path, json=body, headers=headers)
        if response.status_code < 400:  # a body another endpoint's field happens to make valid here
            assert operation in ("create_organization_key", "update_organization", "create_organization")
            continue
        _error_shape(response)
    for raw in RAW_BODIES:
        response = await service.client.request(
            permission.method, path, content=raw, headers={**headers, "Content-Type": "application/json"}
        )
        _error_shape(response)
    # The Owner is still the Owner of an organization still there, named as it was.
    answer = await service.client.get(org.path, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["role"] == "owner"


@pytest.mark.parametrize("operation", sorted(op for op, p in PERMISSIONS.items() if "{" in p.path))
async def test_odd_path_values_are_404_or_422_never_5xx(service: Service, operation: str) -> None:
    org = await organization(service, roles=("owner",))
    permission = PERMISSIONS[operation]
    headers = org.people["owner"].headers
    body = {"role": "viewer"} if operation == "update_member" else None
    for value in PATH_VALUES:
        for slot in ("org_id", "user_id", "invitation_id", "key_id"):
            if f"{{{slot}}}" not in permission.path:
                continue
            values = {"org_id": org.id, "user_id": org.people["owner"].user_id, "invitation_id": str(uuid.uuid4()),
                      "key_id": str(uuid.uuid4()), slot: value}  # fmt: skip
            response = await service.client.request(
                permission.method, permission.path.format(**values), json=body, headers=headers
            )
            if response.status_code < 400:
                assert slot == "user_id", response.text
                assert value.lower() == org.people["owner"].user_id, response.text
                continue
            _error_shape(response)
            # 400: the edge refuses a NUL in a path before any route sees it.
            assert response.status_code in (400, 404, 422), (operation, slot, value, response.text)
