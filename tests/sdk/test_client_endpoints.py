"""The sync and async clients against a real service: every endpoint, typed answers, typed errors."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hokusai import (
    APIKeyInfo,
    AsyncAuthClient,
    AuthClient,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    CreatedKey,
    InvalidRequestError,
    NotFoundError,
    check_format,
)
from hokusai._api import UNSET
from tests.conftest import ADMIN_TOKEN
from tests.sdk.conftest import SERVICE_TOKEN, LiveService


@pytest.fixture
def client(live_service: LiveService, sdk_env: Path) -> AuthClient:
    return AuthClient(live_service.url, admin_token=ADMIN_TOKEN)


def test_key_lifecycle_with_the_sync_client(client: AuthClient) -> None:
    created = client.create_key("lifecycle", "ml-platform", scopes=["read", "model:write"], rate_limit_per_hour=500,
                                allowed_ips=["10.0.0.0/8"], expires_in_days=30)  # fmt: skip
    assert isinstance(created, CreatedKey)
    assert check_format(created.api_key).environment == "production"
    assert created.api_key not in repr(created), "the key stays out of reprs and tracebacks"
    info = created.key_info
    assert isinstance(info, APIKeyInfo)
    assert info.service_id == "platform", "aliases come back canonical"
    assert info.created_at.tzinfo is not None
    assert info.expires_at is not None
    assert info.expires_at > datetime.now(UTC) + timedelta(days=29)

    assert client.get_key(created.key_id) == info
    updated = client.update_key(created.key_id, rate_limit_per_hour=2000, allowed_ips=None, name="renamed")
    assert (updated.rate_limit_per_hour, updated.allowed_ips, updated.name) == (2000, None, "renamed")
    assert updated.scopes == ["read", "model:write"], "fields not given are left as they are"

    rotated = client.rotate_key(created.key_id, grace_period_seconds=60)
    assert rotated.key_id != created.key_id
    assert rotated.key_info.rotated_from == created.key_id
    assert client.validate_key(created.api_key).is_valid, "the old key works through its grace period"
    with pytest.raises(ConflictError) as conflict:
        client.rotate_key(created.key_id)
    assert conflict.value.code == "already_rotated"

    assert client.revoke_key(rotated.key_id) == "API key revoked successfully"
    assert client.revoke_key(rotated.key_id) == "API key revoked successfully", "revoking twice is fine"
    refused = client.validate_key(rotated.api_key)
    assert (refused.is_valid, refused.status, refused.code) == (False, 401, "revoked")


def test_update_distinguishes_unset_from_clearing(client: AuthClient) -> None:
    created = client.create_key("burst", "platform", rate_limit_per_hour=100, burst=10)
    assert client.update_key(created.key_id, name="still bursty", burst=UNSET).burst == 10
    assert client.update_key(created.key_id, burst=None).burst is None
    with pytest.raises(InvalidRequestError):
        client.update_key(created.key_id)  # nothing to change: refused before any request


def test_validation_verdicts_are_results_not_exceptions(client: AuthClient) -> None:
    created = client.create_key("verdicts", "platform", scopes=["read"], rate_limit_per_hour=10)
    good = client.validate_key(created.api_key, service_id="website", required_scope="read")
    assert good.is_valid
    assert good.service_id == "platform"
    assert good.scopes == ["read"]
    assert good.rate_limit is not None
    assert good.rate_limit.limit == 10
    assert good.rate_limit.remaining == 9
    wrong = client.validate_key(created.api_key, service_id="prediction")
    assert (wrong.is_valid, wrong.code, wrong.error) == (False, "wrong_service", "Key not authorized for this service")
    assert "prediction, platform" in (wrong.detail or "")
    scope = client.validate_key(created.api_key, required_scope="train")
    assert (scope.code, scope.required_scope) == ("insufficient_scope", "train")
    check = client.validate_key(created.api_key, cost=0)
    assert check.rate_limit is not None
    assert check.rate_limit.remaining == 9, "refusals and cost=0 spend nothing"
    for _ in range(9):
        assert client.validate_key(created.api_key).is_valid
    limited = client.validate_key(created.api_key)
    assert (limited.is_valid, limited.status, limited.code) == (False, 429, "rate_limited")
    assert limited.retry_after is not None
    assert limited.retry_after > 0


def test_a_mistyped_key_is_answered_offline(sdk_env: Path) -> None:
    # Nothing listens on port 9: an answer proves no request was made.
    with AuthClient("http://127.0.0.1:9") as offline:
        result = offline.validate_key("hk_live_" + "A" * 38)
    assert (result.is_valid, result.code, result.checked_offline) == (False, "invalid_api_key", True)
    assert "checksum" in (result.detail or "")


def test_service_errors_are_typed(client: AuthClient, live_service: LiveService, sdk_env: Path) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.get_key("00000000-0000-4000-8000-000000000000")
    assert (missing.value.status, missing.value.code, str(missing.value)) == (404, "not_found", "API key not found")
    with pytest.raises(InvalidRequestError) as invalid:
        client.create_key("bad", "platform", rate_limit_per_hour=5)
    assert invalid.value.field == "rate_limit_per_hour"
    with (
        AuthClient(live_service.url, admin_token="wrong-token") as wrong,
        pytest.raises(AuthenticationError) as refused,
    ):
        wrong.list_keys()
    assert refused.value.code == "unauthorized"
    with AuthClient(live_service.url) as anonymous, pytest.raises(ConfigurationError, match="admin token"):
        anonymous.list_keys()


def test_pages_and_iteration(client: AuthClient) -> None:
    owner = f"pager-{time.monotonic_ns()}"
    ids = [client.create_key(f"page {n}", "platform", user_id=owner).key_id for n in range(5)]
    first = client.list_keys(user_id=owner, limit=2)
    assert [k.key_id for k in first.items] == ids[::-1][:2], "newest first"
    assert first.next_cursor is not None
    assert [k.key_id for k in client.iter_keys(user_id=owner, limit=2)] == ids[::-1]


def test_usage_reporting_and_reading_with_a_service_token(live_service: LiveService, sdk_env: Path) -> None:
    key_id = live_service.create_key(service_id="prediction")["key_id"]
    with AuthClient(live_service.url, service_token=SERVICE_TOKEN) as service:
        for _ in range(3):
            message = service.record_usage(key_id, service_id="prediction", endpoint="/predict", status_code=200,
                                           response_time_ms=12, predictions_count=2)  # fmt: skip
            assert message == "Usage recorded successfully"
        # The same idempotency key twice: a retried report counts once.
        for _ in range(2):
            service.record_usage(key_id, service_id="prediction", endpoint="/predict", status_code=500,
                                 response_time_ms=40, predictions_count=1, idempotency_key="retry-1")  # fmt: skip
        deadline = time.monotonic() + 10
        while (stats := service.usage_stats(key_id)).total_requests < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (stats.total_requests, stats.total_predictions) == (4, 7)
        assert stats.error_rate == pytest.approx(0.25)
        assert stats.top_endpoints[0].endpoint == "/predict"
        bill = service.billing(key_id)
        assert bill.current_usage.predictions == 7
        assert bill.overage_charges == 0
        assert bill.next_billing_date.day == 1
        today = datetime.now(UTC).date()
        aggregate = service.usage_aggregate(service_id="prediction", start_date=today, end_date=today)
        assert aggregate.usage_by_date[today.isoformat()]["prediction"].requests >= 4


def test_audit_log_names_the_sdk_as_user_agent(client: AuthClient) -> None:
    created = client.create_key("audited", "platform")
    events = list(client.iter_audit_logs(key_id=created.key_id))
    assert [e.action for e in events] == ["api_key.create"]
    assert (events[0].user_agent or "").startswith("hokusai-python/")
    assert created.api_key not in repr(events)


def test_readiness_and_health(client: AuthClient) -> None:
    assert client.health() is True
    ready = client.ready()
    assert ready.ready
    assert ready.checks["database"] is True


async def test_the_async_client_does_the_same(live_service: LiveService, sdk_env: Path) -> None:
    async with AsyncAuthClient(live_service.url, admin_token=ADMIN_TOKEN) as client:
        created = await client.create_key("async", "platform", scopes=["predict"], user_id="async-owner")
        results = await asyncio.gather(*(client.validate_key(created.api_key, cost=0) for _ in range(20)))
        assert all(result.is_valid for result in results)
        assert [k.key_id async for k in client.iter_keys(user_id="async-owner")] == [created.key_id]
        rotated = await client.rotate_key(created.key_id)
        assert not (await client.validate_key(created.api_key)).is_valid, "grace 0: the old key stops at once"
        with pytest.raises(NotFoundError):
            await client.get_key("00000000-0000-4000-8000-000000000000")
        assert (await client.revoke_key(rotated.key_id)) == "API key revoked successfully"
        actions = [e.action async for e in client.iter_audit_logs(key_id=created.key_id)]
        assert actions == ["api_key.rotate", "api_key.create"]
