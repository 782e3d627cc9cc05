import ipaddress
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hokusai._vocabulary import Failure
from hokusai_auth.validation.state import CheckRequest, KeyState

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def state(**changes: object) -> KeyState:
    base = KeyState(
        key_id=uuid.uuid4(),
        version=1,
        hash_fingerprint="f",
        user_id="u",
        organization_id=None,
        service_id="platform",
        scopes=("read", "model:write"),
        environment="production",
        billing_plan="free",
        rate_limit_per_hour=1000,
        burst=None,
        monthly_prediction_limit=None,
        allowed_networks=None,
        is_active=True,
        expires_at=None,
        revoked_at=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def code(key: KeyState, **request: object) -> Failure | None:
    rejection = key.check(CheckRequest(**request), NOW)  # type: ignore[arg-type]
    return rejection.code if rejection else None


def test_a_plain_request_to_a_good_key_passes() -> None:
    assert code(state()) is None


def test_checks_run_in_the_documented_order() -> None:
    everything_wrong = state(
        is_active=False,
        expires_at=NOW - timedelta(days=1),
        environment="test",
        service_id="prediction",
        allowed_networks=(ipaddress.ip_network("10.0.0.0/8"),),
    )
    request = {
        "environment": "production",
        "service_id": "platform",
        "client_ip": ipaddress.ip_address("192.0.2.1"),
        "required_scope": "train",
    }
    assert code(everything_wrong, **request) is Failure.REVOKED
    assert code(replace(everything_wrong, is_active=True), **request) is Failure.EXPIRED
    step = replace(everything_wrong, is_active=True, expires_at=None)
    assert code(step, **request) is Failure.ENVIRONMENT_MISMATCH
    step = replace(step, environment="production")
    assert code(step, **request) is Failure.WRONG_SERVICE
    step = replace(step, service_id="platform")
    assert code(step, **request) is Failure.IP_NOT_ALLOWED
    step = replace(step, allowed_networks=None)
    assert code(step, **request) is Failure.INSUFFICIENT_SCOPE


@pytest.mark.parametrize("alias", ["website", "ml-platform", "platform", "PLATFORM", " platform "])
def test_service_aliases_are_the_canonical_service(alias: str) -> None:
    assert code(state(), service_id=alias) is None


def test_prediction_api_alias() -> None:
    assert code(state(service_id="prediction"), service_id="prediction-api") is None


def test_unknown_service_names_the_valid_ids() -> None:
    rejection = state().check(CheckRequest(service_id="mlplatform"), NOW)
    assert rejection is not None
    assert rejection.code is Failure.WRONG_SERVICE
    assert "platform" in rejection.detail
    assert "prediction" in rejection.detail
    assert "mlplatform" not in rejection.detail, "what the caller sent is never echoed (it may be a key)"


def test_revocation_scheduled_in_the_future_is_a_grace_period() -> None:
    assert code(state(revoked_at=NOW + timedelta(seconds=1))) is None
    assert code(state(revoked_at=NOW)) is Failure.REVOKED


def test_expiry_is_exact() -> None:
    assert code(state(expires_at=NOW + timedelta(microseconds=1))) is None
    assert code(state(expires_at=NOW)) is Failure.EXPIRED


@pytest.mark.parametrize(
    ("allowed", "client", "ok"),
    [
        (["203.0.113.10/32"], "203.0.113.10", True),
        (["203.0.113.0/24"], "203.0.113.77", True),
        (["203.0.113.0/24"], "198.51.100.1", False),
        (["2001:db8::/32"], "2001:db8::1", True),
        (["2001:db8::/32"], "2001:db9::1", False),
        (["203.0.113.0/24"], "::ffff:203.0.113.5", True),
        (["2001:db8::/32"], "203.0.113.5", False),
    ],
)
def test_ip_allowlist(allowed: list[str], client: str, ok: bool) -> None:
    key = state(allowed_networks=tuple(ipaddress.ip_network(a) for a in allowed))
    result = code(key, client_ip=ipaddress.ip_address(client))
    assert (result is None) is ok


def test_allowlisted_key_without_a_known_client_address_is_refused() -> None:
    key = state(allowed_networks=(ipaddress.ip_network("0.0.0.0/0"),))
    assert code(key) is Failure.IP_NOT_ALLOWED


def test_a_key_without_scopes_has_full_access() -> None:
    assert code(state(scopes=()), required_scope="anything") is None
    assert code(state(), required_scope="read") is None
    assert code(state(), required_scope="train") is Failure.INSUFFICIENT_SCOPE


def test_state_survives_json_round_trip() -> None:
    key = state(
        allowed_networks=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")),
        expires_at=NOW,
        organization_id=uuid.uuid4(),
        burst=5,
    )
    assert KeyState.from_json(key.to_json()) == key
