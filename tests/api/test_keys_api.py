"""Key management through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from hokusai import _keys as key_format
from tests.conftest import Service

INFO_FIELDS = {
    "key_id", "name", "key_prefix", "user_id", "service_id", "scopes", "environment", "is_active",
    "rate_limit_per_hour", "burst", "monthly_prediction_limit", "allowed_ips", "billing_plan", "created_at",
    "expires_at", "last_used_at", "revoked_at", "rotated_from", "rotated_to",
}  # fmt: skip


async def test_create_returns_201_with_the_key_once_and_defaults(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/keys", json={"name": "First", "service_id": "platform"}, headers=service.admin
    )
    assert response.status_code == 201
    body = response.json()
    key = body["api_key"]
    assert key_format.parse(key) is not None
    assert key.startswith("hk_live_")
    assert body["key_id"] == body["key_info"]["key_id"]
    info = body["key_info"]
    assert info.keys() >= INFO_FIELDS
    assert info["key_prefix"] == key[:11] + "***"
    assert info["user_id"] == "admin"
    assert info["scopes"] == []
    assert info["environment"] == "production"
    assert info["rate_limit_per_hour"] == 1000
    assert info["burst"] is None
    assert info["monthly_prediction_limit"] is None
    assert info["allowed_ips"] is None
    assert info["billing_plan"] == "free"
    assert info["expires_at"] is None
    assert info["is_active"] is True

    listed = await service.client.get(f"/api/v1/keys/{body['key_id']}", headers=service.admin)
    assert listed.status_code == 200
    assert "api_key" not in listed.json()
    assert key not in listed.text


@pytest.mark.parametrize(("environment", "prefix"), [("test", "hk_test_"), ("development", "hk_dev_")])
async def test_environment_picks_the_prefix(service: Service, environment: str, prefix: str) -> None:
    created = await service.create_key(environment=environment)
    assert created["api_key"].startswith(prefix)


async def test_create_with_every_field(service: Service) -> None:
    created = await service.create_key(
        name="Batch",
        service_id="prediction-api",
        scopes=["predict", "read", "predict"],
        environment="test",
        expires_in_days=30,
        rate_limit_per_hour=5000,
        burst=100,
        monthly_prediction_limit=500000,
        allowed_ips=["203.0.113.10", "198.51.100.0/24", "2001:db8::/32", "10.1.2.3/8"],
        billing_plan="pro",
        user_id="user-42",
    )
    info = created["key_info"]
    assert info["service_id"] == "prediction", "responses show the canonical service id"
    assert info["scopes"] == ["predict", "read"]
    assert info["allowed_ips"] == ["203.0.113.10/32", "198.51.100.0/24", "2001:db8::/32", "10.0.0.0/8"]
    assert info["user_id"] == "user-42"
    assert info["billing_plan"] == "pro"
    created_at = datetime.fromisoformat(info["created_at"])
    assert datetime.fromisoformat(info["expires_at"]) - created_at == timedelta(days=30)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"service_id": "mlplatform"}, "service_id"),
        ({"environment": "staging"}, "environment"),
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": 366}, "expires_in_days"),
        ({"rate_limit_per_hour": 9}, "rate_limit_per_hour"),
        ({"rate_limit_per_hour": 100001}, "rate_limit_per_hour"),
        ({"rate_limit_per_hour": "100"}, "rate_limit_per_hour"),
        ({"burst": 0}, "burst"),
        ({"rate_limit_per_hour": 100, "burst": 101}, "burst"),
        ({"monthly_prediction_limit": -1}, "monthly_prediction_limit"),
        ({"allowed_ips": ["300.1.1.1"]}, "allowed_ips.0"),
        ({"allowed_ips": []}, "allowed_ips"),
        ({"billing_plan": "platinum"}, "billing_plan"),
        ({"scopes": "predict"}, "scopes"),
        ({"scopes": ["has space"]}, "scopes.0"),
        ({"allowed_ip": ["1.2.3.4"]}, "allowed_ip"),
    ],
)
async def test_every_limit_is_enforced_with_a_422_naming_the_field(
    service: Service, change: dict[str, Any], field: str
) -> None:
    body = {"name": "k", "service_id": "platform", **change}
    response = await service.client.post("/api/v1/keys", json=body, headers=service.admin)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "validation_error"
    assert error["detail"].startswith(f"{field}:"), error["detail"]
    assert any(item["field"] == field for item in error["errors"])


async def test_missing_required_fields(service: Service) -> None:
    response = await service.client.post("/api/v1/keys", json={}, headers=service.admin)
    assert response.status_code == 422
    assert {item["field"] for item in response.json()["errors"]} == {"name", "service_id"}


async def test_unknown_key_is_404(service: Service) -> None:
    for key_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        for method in ("GET", "PATCH", "DELETE"):
            response = await service.client.request(
                method, f"/api/v1/keys/{key_id}", headers=service.admin, json={} if method == "PATCH" else None
            )
            assert response.status_code == 404
            assert response.json()["detail"] == "API key not found"
        rotate = await service.client.post(f"/api/v1/keys/{key_id}/rotate", headers=service.admin)
        assert rotate.status_code == 404


async def test_list_filters_and_paginates(service: Service) -> None:
    assert service.clock is not None
    ids = []
    for index in range(5):
        service.clock.advance(1)
        created = await service.create_key(
            name=f"k{index}", service_id="prediction" if index % 2 else "website", user_id=f"u{index % 2}"
        )
        ids.append(created["key_id"])
    await service.client.delete(f"/api/v1/keys/{ids[0]}", headers=service.admin)

    everything = (await service.client.get("/api/v1/keys", headers=service.admin)).json()
    assert [item["key_id"] for item in everything] == list(reversed(ids)), "newest first"

    platform = await service.client.get("/api/v1/keys?service_id=ml-platform", headers=service.admin)
    assert {item["key_id"] for item in platform.json()} == {ids[0], ids[2], ids[4]}
    user = await service.client.get("/api/v1/keys?user_id=u1", headers=service.admin)
    assert {item["key_id"] for item in user.json()} == {ids[1], ids[3]}
    active = await service.client.get("/api/v1/keys?active_only=true", headers=service.admin)
    assert ids[0] not in {item["key_id"] for item in active.json()}
    assert len(active.json()) == 4

    seen: list[str] = []
    url = "/api/v1/keys?limit=2"
    pages = 0
    while True:
        response = await service.client.get(url, headers=service.admin)
        assert response.status_code == 200
        seen += [item["key_id"] for item in response.json()]
        pages += 1
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            break
        assert 'rel="next"' in response.headers["link"]
        url = f"/api/v1/keys?limit=2&cursor={cursor}"
    assert pages == 3
    assert seen == list(reversed(ids))


async def test_list_rejects_bad_parameters(service: Service) -> None:
    for query, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("cursor=garbage!", "cursor"),
                         ("service_id=nope", "service_id")):  # fmt: skip
        response = await service.client.get(f"/api/v1/keys?{query}", headers=service.admin)
        assert response.status_code == 422, query
        assert response.json()["detail"].startswith(f"{field}:")


async def test_patch_changes_settings_and_is_audited(service: Service) -> None:
    created = await service.create_key(rate_limit_per_hour=1000)
    key_id = created["key_id"]
    response = await service.client.patch(
        f"/api/v1/keys/{key_id}",
        json={"name": "Renamed", "scopes": ["read"], "rate_limit_per_hour": 50, "burst": 5,
              "allowed_ips": ["192.0.2.0/24"], "billing_plan": "starter", "monthly_prediction_limit": 10},
        headers=service.admin,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["name"], info["scopes"], info["rate_limit_per_hour"], info["burst"]) == ("Renamed", ["read"], 50, 5)
    assert info["allowed_ips"] == ["192.0.2.0/24"]
    assert info["billing_plan"] == "starter"
    assert service.clock is not None
    service.clock.advance(1)
    cleared = await service.client.patch(
        f"/api/v1/keys/{key_id}", json={"burst": None, "allowed_ips": None}, headers=service.admin
    )
    assert cleared.json()["burst"] is None
    assert cleared.json()["allowed_ips"] is None
    logs = await service.client.get(f"/api/v1/audit-logs?key_id={key_id}&action=api_key.update", headers=service.admin)
    assert len(logs.json()) == 2
    assert logs.json()[1]["details"]["changed"]["rate_limit_per_hour"] == 50


async def test_patch_rules(service: Service) -> None:
    created = await service.create_key(rate_limit_per_hour=100, expires_in_days=10)
    key_id = created["key_id"]
    expires = datetime.fromisoformat(created["key_info"]["expires_at"])

    async def patch(body: dict[str, Any]) -> Any:
        return await service.client.patch(f"/api/v1/keys/{key_id}", json=body, headers=service.admin)

    assert (await patch({"burst": 101})).json()["detail"].startswith("burst:")
    assert (await patch({"name": None})).status_code == 422
    assert (await patch({"key_prefix": "x"})).status_code == 422, "unknown fields are refused"
    later = (expires + timedelta(days=1)).isoformat()
    refused = await patch({"expires_at": later})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("expires_at:")
    assert (await patch({"expires_at": None})).status_code == 422, "removing the expiry extends it"
    assert (await patch({"expires_at": later, "allow_expiry_extension": True})).status_code == 200
    sooner = (expires - timedelta(days=5)).isoformat()
    assert (await patch({"expires_at": sooner})).json()["expires_at"].startswith(sooner[:19])
    assert (await patch({"expires_at": "2020-01-01T00:00:00Z"})).status_code == 422
    assert (await patch({"expires_at": "2030-01-01T00:00:00"})).status_code == 422, "naive times are refused"


async def test_revoke_is_immediate_and_idempotent(service: Service) -> None:
    created = await service.create_key()
    key, key_id = created["api_key"], created["key_id"]
    assert (await service.validate(key)).status_code == 200
    for _ in range(2):
        response = await service.client.delete(f"/api/v1/keys/{key_id}", headers=service.admin)
        assert response.status_code == 200
        assert response.json() == {"message": "API key revoked successfully"}
    refused = await service.validate(key)
    assert refused.status_code == 401
    assert refused.json()["code"] == "revoked"
    info = (await service.client.get(f"/api/v1/keys/{key_id}", headers=service.admin)).json()
    assert info["is_active"] is False
    assert info["revoked_at"] is not None


async def test_rotate_without_grace_stops_the_old_key_at_once(service: Service) -> None:
    created = await service.create_key(scopes=["read"], rate_limit_per_hour=500, allowed_ips=["203.0.113.0/24"])
    old_key, old_id = created["api_key"], created["key_id"]
    assert (await service.validate(old_key)).status_code == 200  # warm the cache: rotation must still win

    response = await service.client.post(f"/api/v1/keys/{old_id}/rotate", headers=service.admin)
    assert response.status_code == 201
    rotated = response.json()
    new_key, new_id = rotated["api_key"], rotated["key_id"]
    assert new_key != old_key
    assert new_id != old_id
    info = rotated["key_info"]
    assert info["rotated_from"] == old_id
    assert (info["scopes"], info["rate_limit_per_hour"], info["allowed_ips"]) == (["read"], 500, ["203.0.113.0/24"])

    assert (await service.validate(old_key)).json()["code"] == "revoked"
    assert (await service.validate(new_key)).status_code == 200
    old_info = (await service.client.get(f"/api/v1/keys/{old_id}", headers=service.admin)).json()
    assert old_info["rotated_to"] == new_id
    assert old_info["is_active"] is False

    again = await service.client.post(f"/api/v1/keys/{old_id}/rotate", headers=service.admin)
    assert again.status_code == 409
    assert again.json()["code"] == "already_rotated"


async def test_rotate_with_grace_keeps_the_old_key_until_then(service: Service) -> None:
    assert service.clock is not None
    created = await service.create_key()
    response = await service.client.post(
        f"/api/v1/keys/{created['key_id']}/rotate", json={"grace_period_seconds": 3600}, headers=service.admin
    )
    assert response.status_code == 201
    assert (await service.validate(created["api_key"])).status_code == 200
    assert (await service.validate(response.json()["api_key"])).status_code == 200
    service.clock.advance(3599)
    assert (await service.validate(created["api_key"])).status_code == 200
    service.clock.advance(1)
    refused = await service.validate(created["api_key"])
    assert refused.status_code == 401
    assert refused.json()["code"] == "revoked"


async def test_grace_period_never_outlives_the_old_key(service: Service) -> None:
    assert service.clock is not None
    created = await service.create_key(expires_in_days=1)
    rotated = await service.client.post(
        f"/api/v1/keys/{created['key_id']}/rotate", json={"grace_period_seconds": 604800}, headers=service.admin
    )
    old = (await service.client.get(f"/api/v1/keys/{created['key_id']}", headers=service.admin)).json()
    assert old["revoked_at"] == old["expires_at"]
    service.clock.advance(86400)
    assert (await service.validate(created["api_key"])).status_code == 401
    new_info = rotated.json()["key_info"]
    lifetime = datetime.fromisoformat(new_info["expires_at"]) - datetime.fromisoformat(new_info["created_at"])
    assert lifetime == timedelta(days=1), "the new key gets the same lifetime as the old one"


async def test_rotate_refuses_revoked_and_expired_keys_and_bad_grace(service: Service) -> None:
    assert service.clock is not None
    revoked = await service.create_key()
    await service.client.delete(f"/api/v1/keys/{revoked['key_id']}", headers=service.admin)
    response = await service.client.post(f"/api/v1/keys/{revoked['key_id']}/rotate", headers=service.admin)
    assert (response.status_code, response.json()["code"]) == (409, "key_revoked")

    expiring = await service.create_key(expires_in_days=1)
    for grace in (-1, 604801, "60"):
        bad = await service.client.post(
            f"/api/v1/keys/{expiring['key_id']}/rotate", json={"grace_period_seconds": grace}, headers=service.admin
        )
        assert bad.status_code == 422
        assert bad.json()["detail"].startswith("grace_period_seconds:")
    service.clock.advance(86400)
    response = await service.client.post(f"/api/v1/keys/{expiring['key_id']}/rotate", headers=service.admin)
    assert (response.status_code, response.json()["code"]) == (409, "key_expired")


async def test_the_auth_keys_alias_behaves_the_same(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/auth/keys", json={"name": "alias", "service_id": "platform"}, headers=service.admin
    )
    assert response.status_code == 201
    key_id = response.json()["key_id"]
    assert (await service.client.get(f"/api/v1/auth/keys/{key_id}", headers=service.admin)).status_code == 200
    assert len((await service.client.get("/api/v1/auth/keys", headers=service.admin)).json()) == 1
    rotated = await service.client.post(f"/api/v1/auth/keys/{key_id}/rotate", headers=service.admin)
    assert rotated.status_code == 201
    deleted = await service.client.delete(f"/api/v1/auth/keys/{rotated.json()['key_id']}", headers=service.admin)
    assert deleted.json() == {"message": "API key revoked successfully"}
    unauthenticated = await service.client.get("/api/v1/auth/keys")
    assert unauthenticated.status_code == 401
