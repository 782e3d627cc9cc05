"""POST /api/v1/keys/validate: every place a key may travel, every row of the contract's error table."""

from __future__ import annotations

from typing import Any

import pytest

from hokusai_auth.keys import tokens
from tests.conftest import Service, ServiceFactory

VALID_FIELDS = {
    "is_valid", "key_id", "user_id", "service_id", "scopes", "environment", "rate_limit_per_hour",
    "rate_limit_remaining", "billing_plan", "monthly_prediction_limit", "expires_at",
}  # fmt: skip


def five_ways(key: str) -> list[dict[str, Any]]:
    return [
        {"headers": {"Authorization": f"Bearer {key}"}},
        {"headers": {"Authorization": f"ApiKey {key}"}},
        {"headers": {"X-API-Key": key}},
        {"json": {"api_key": key}},
        {"params": {"api_key": key}},
    ]


async def test_the_key_is_accepted_from_each_of_the_five_places(service: Service) -> None:
    created = await service.create_key(scopes=["read"], billing_plan="pro")
    for way in five_ways(created["api_key"]):
        response = await service.client.post("/api/v1/keys/validate", **way)
        assert response.status_code == 200, way
        body = response.json()
        assert body.keys() >= VALID_FIELDS
        assert body["is_valid"] is True
        assert body["key_id"] == created["key_id"]
        assert body["service_id"] == "platform"
        assert body["scopes"] == ["read"]
        assert body["billing_plan"] == "pro"
        for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            assert header in response.headers


async def test_a_caller_may_use_authorization_for_its_own_credential(service: Service) -> None:
    """The 2025-07 incident: the proxy authenticated itself in Authorization and sent the key in the body."""
    created = await service.create_key()
    response = await service.client.post(
        "/api/v1/keys/validate",
        headers={"Authorization": "Bearer some-service-jwt.abc.def"},
        json={"api_key": created["api_key"], "service_id": "ml-platform", "client_ip": "198.51.100.4"},
    )
    assert response.status_code == 200
    assert response.json()["service_id"] == "platform"


async def test_the_first_key_shaped_value_wins(service: Service) -> None:
    good = (await service.create_key())["api_key"]
    other = (await service.create_key(service_id="prediction"))["api_key"]
    response = await service.client.post(
        "/api/v1/keys/validate", headers={"Authorization": f"Bearer {good}", "X-API-Key": other}
    )
    assert response.json()["service_id"] == "platform"
    response = await service.client.post("/api/v1/keys/validate", headers={"X-API-Key": other}, json={"api_key": good})
    assert response.json()["service_id"] == "prediction"


def assert_failure(response: Any, status: int, error: str, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["is_valid"] is False
    assert body["error"] == error
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


async def test_no_key_anywhere(service: Service) -> None:
    ways: tuple[dict[str, Any], ...] = (
        {},
        {"json": {}},
        {"headers": {"Authorization": "Bearer not-a-key"}},
        {"json": {"api_key": ""}},
    )
    for kwargs in ways:
        response = await service.client.post("/api/v1/keys/validate", **kwargs)
        assert_failure(response, 401, "API key required", "missing_api_key")


@pytest.mark.parametrize(
    "candidate",
    [
        "hk_live_chnn8EMMos4Lcwj3i3C3JeAkoNoDcOWL",  # the documents' old, unchecksummed format
        "hk_live_" + "A" * 38,  # right shape, wrong checksum
        "garbage",
    ],
)
async def test_malformed_or_mistyped_keys(service: Service, candidate: str) -> None:
    response = await service.client.post("/api/v1/keys/validate", headers={"X-API-Key": candidate})
    assert_failure(response, 401, "Invalid API key", "invalid_api_key")
    assert "x-ratelimit-limit" not in response.headers


async def test_unknown_well_formed_key(service: Service) -> None:
    response = await service.validate(tokens.generate("production"))
    assert_failure(response, 401, "Invalid API key", "invalid_api_key")


async def test_expired(service: Service) -> None:
    assert service.clock is not None
    created = await service.create_key(expires_in_days=1)
    assert (await service.validate(created["api_key"])).status_code == 200
    service.clock.advance(86400)
    response = await service.validate(created["api_key"])
    assert_failure(response, 401, "API key has expired", "expired")
    assert "x-ratelimit-limit" in response.headers, "headers accompany every answer about a found key"


async def test_revoked(service: Service) -> None:
    created = await service.create_key()
    await service.client.delete(f"/api/v1/keys/{created['key_id']}", headers=service.admin)
    assert_failure(
        await service.validate(created["api_key"]), 401, "API key is inactive or has been revoked", "revoked"
    )


async def test_wrong_service_names_the_keys_service_and_the_valid_ids(service: Service) -> None:
    created = await service.create_key(service_id="prediction")
    body = assert_failure(
        await service.validate(created["api_key"], service_id="ml-platform"),
        401,
        "Key not authorized for this service",
        "wrong_service",
    )
    assert "'prediction'" in body["detail"]
    assert "platform" in body["detail"]
    assert "ml-platform" in body["detail"]
    assert (await service.validate(created["api_key"], service_id="prediction-api")).status_code == 200


async def test_environment_mismatch(service: Service) -> None:
    created = await service.create_key(environment="test")
    assert_failure(
        await service.validate(created["api_key"], environment="production"),
        401,
        "API key environment mismatch",
        "environment_mismatch",
    )
    assert (await service.validate(created["api_key"], environment="test")).status_code == 200


async def test_ip_not_allowed_uses_client_ip_from_the_body_else_the_peer(service: Service) -> None:
    created = await service.create_key(allowed_ips=["198.51.100.0/24", "2001:db8::/32"])
    key = created["api_key"]
    assert (await service.validate(key, client_ip="198.51.100.20")).status_code == 200
    assert (await service.validate(key, client_ip="2001:db8::5")).status_code == 200
    assert_failure(
        await service.validate(key, client_ip="192.0.2.1"), 401, "IP address not in allowlist", "ip_not_allowed"
    )
    # the test client's peer address is 203.0.113.9, outside the list
    assert_failure(await service.validate(key), 401, "IP address not in allowlist", "ip_not_allowed")


async def test_forwarded_for_counts_only_from_trusted_proxies(make_service: ServiceFactory, database_url: str) -> None:
    trusting = await make_service(database_url, trusted_proxies="203.0.113.0/24")
    created = await trusting.create_key(allowed_ips=["192.0.2.7"])
    forwarded = {"X-API-Key": created["api_key"], "X-Forwarded-For": "192.0.2.7"}
    assert (await trusting.client.post("/api/v1/keys/validate", headers=forwarded)).status_code == 200

    distrusting = await make_service(database_url)
    response = await distrusting.client.post("/api/v1/keys/validate", headers=forwarded)
    assert response.json()["code"] == "ip_not_allowed"


async def test_insufficient_scope(service: Service) -> None:
    created = await service.create_key(scopes=["predict"])
    body = assert_failure(
        await service.validate(created["api_key"], required_scope="train"),
        401,
        "Key does not have required scope",
        "insufficient_scope",
    )
    assert body["required_scope"] == "train"
    assert (await service.validate(created["api_key"], required_scope="predict")).status_code == 200
    unscoped = await service.create_key()
    assert (await service.validate(unscoped["api_key"], required_scope="train")).status_code == 200


async def test_rate_limited_after_exactly_the_limit(service: Service) -> None:
    created = await service.create_key(rate_limit_per_hour=10)
    remaining = []
    for _ in range(10):
        response = await service.validate(created["api_key"])
        assert response.status_code == 200
        remaining.append(response.json()["rate_limit_remaining"])
    assert remaining == list(range(9, -1, -1))
    response = await service.validate(created["api_key"])
    assert_failure(response, 429, "Rate limit exceeded", "rate_limited")
    assert response.headers["retry-after"] == "360"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-limit"] == "10"


async def test_cost_zero_checks_without_spending(service: Service) -> None:
    created = await service.create_key(rate_limit_per_hour=10)
    for _ in range(3):
        response = await service.validate(created["api_key"], cost=0)
        assert response.json()["rate_limit_remaining"] == 10
    assert (await service.validate(created["api_key"], cost=4)).json()["rate_limit_remaining"] == 6


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_ip": "not-an-ip"}, "client_ip"),
        ({"environment": "staging"}, "environment"),
        ({"cost": -1}, "cost"),
        ({"cost": "1"}, "cost"),
        ({"service_id": 5}, "service_id"),
    ],
)
async def test_malformed_bodies_get_422_naming_the_field(service: Service, body: dict[str, Any], field: str) -> None:
    response = await service.client.post("/api/v1/keys/validate", json=body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}:")


async def test_invalid_json_is_422_and_never_echoed(service: Service) -> None:
    secret = tokens.generate("production")
    response = await service.client.post(
        "/api/v1/keys/validate", content=f'{{"api_key": "{secret}", ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert secret not in response.text


async def test_environment_aliases_and_unknown_fields_are_tolerated(service: Service) -> None:
    created = await service.create_key(environment="development")
    response = await service.validate(created["api_key"], environment="dev", proxy_version="2.1")
    assert response.status_code == 200


async def test_get_on_validate_says_use_post(service: Service) -> None:
    response = await service.client.get("/api/v1/keys/validate")
    assert response.status_code == 405
    assert "POST" in response.json()["detail"]


async def test_alias_path_validates_too(service: Service) -> None:
    created = await service.create_key()
    response = await service.client.post("/api/v1/auth/keys/validate", headers={"X-API-Key": created["api_key"]})
    assert response.status_code == 200


async def test_validation_needs_no_admin_token(service: Service) -> None:
    created = await service.create_key()
    response = await service.client.post(
        "/api/v1/keys/validate", headers={"Authorization": "Bearer wrong-admin-token", "X-API-Key": created["api_key"]}
    )
    assert response.status_code == 200


async def test_fast_path_and_documented_route_answer_identically(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hokusai_auth.validation import fast_path

    created = await service.create_key(scopes=["read"])
    cases: list[dict[str, Any]] = [
        {"headers": {"Authorization": f"Bearer {created['api_key']}"}, "json": {"service_id": "website"}},
        {"json": {"api_key": created["api_key"], "required_scope": "train"}},
        {"params": {"api_key": "hk_live_" + "A" * 38}},
        {"json": {"cost": "x"}},
        {},
    ]
    for case in cases:
        fast = await service.client.post("/api/v1/keys/validate", **case)
        with monkeypatch.context() as patch:
            patch.setattr(fast_path, "VALIDATE_PATHS", frozenset())  # the request now reaches the FastAPI route
            routed = await service.client.post("/api/v1/keys/validate", **case)
        assert fast.status_code == routed.status_code, case
        fast_body, routed_body = fast.json(), routed.json()
        fast_body.pop("rate_limit_remaining", None)
        routed_body.pop("rate_limit_remaining", None)
        assert fast_body == routed_body
        assert set(fast.headers) == set(routed.headers)


async def test_an_oversized_body_is_refused_without_being_parsed(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/keys/validate", content=b"{" + b" " * 70_000 + b"}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
