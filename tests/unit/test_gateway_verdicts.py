"""The gateway decides on the validator's own ``Verdict`` in both modes: in-process it is the validator's, over
HTTP it is read back from the validate endpoint's answer. Whichever way it came, a refusal is answered alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from hokusai._vocabulary import Failure
from hokusai_auth.gateway.refusal import refusal
from hokusai_auth.ratelimit.gcra import Decision
from hokusai_auth.validation.answer import UnreadableAnswer, read_answer
from hokusai_auth.validation.rejection import reject
from hokusai_auth.validation.responses import render
from hokusai_auth.validation.validator import Verdict
from tests.unit.test_state import state

POSITION = Decision(True, 1000, 998, 7, None)
EXTRA: dict[Failure, dict[str, str]] = {Failure.INSUFFICIENT_SCOPE: {"required_scope": "mlflow:write"}}
RETRY: dict[Failure, int] = {Failure.RATE_LIMITED: 3, Failure.QUOTA_EXCEEDED: 86_400, Failure.UNAVAILABLE: 5}
GATEWAY_STATUS = {
    Failure.MISSING: 401,
    Failure.INVALID: 401,
    Failure.EXPIRED: 401,
    Failure.REVOKED: 401,
    Failure.USER_DISABLED: 401,
    Failure.WRONG_SERVICE: 403,
    Failure.ENVIRONMENT_MISMATCH: 403,
    Failure.IP_NOT_ALLOWED: 403,
    Failure.INSUFFICIENT_SCOPE: 403,
    Failure.RATE_LIMITED: 429,
    Failure.QUOTA_EXCEEDED: 429,
    Failure.UNAVAILABLE: 503,
}


def over_http(verdict: Verdict) -> Verdict:
    """What a gateway that validates over HTTP reads from the validate endpoint's answer to ``verdict``."""
    status, body, headers = render(verdict)
    return read_answer(status, orjson.loads(body), {name.decode(): value.decode() for name, value in headers})


def local(code: Failure) -> Verdict:
    key = None if code in (Failure.MISSING, Failure.INVALID) else state()
    limit = None if key is None else POSITION
    return Verdict(key, reject(code, f"detail of {code}", retry_after=RETRY.get(code), **EXTRA.get(code, {})), limit)


@pytest.mark.parametrize("code", list(Failure))
def test_a_refusal_is_answered_alike_in_both_modes(code: Failure) -> None:
    verdict = local(code)
    remote = over_http(verdict)
    assert remote.rejection == verdict.rejection
    for basic_realm in (True, False):
        assert refusal(remote, basic_realm=basic_realm) == refusal(verdict, basic_realm=basic_realm)


@pytest.mark.parametrize("code", list(Failure))
def test_the_gateway_maps_codes_to_its_statuses(code: Failure) -> None:
    status, headers, raw = refusal(local(code), basic_realm=True)
    body = orjson.loads(raw)
    assert status == GATEWAY_STATUS[code]
    assert body["code"] == code.value
    assert body["error"] == code.error
    assert body["is_valid"] is False
    assert body["error_code"] == {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED",
                                  503: "TEMPORARILY_UNAVAILABLE"}[status]  # fmt: skip
    assert body["message"].startswith("Hokusai gateway: ")
    names = [name for name, _ in headers]
    assert (b"www-authenticate" in names) == (status == 401)
    assert (b"retry-after" in names) == (code in RETRY)
    if code is Failure.INSUFFICIENT_SCOPE:
        assert body["required_scope"] == "mlflow:write"


def test_a_valid_answer_names_the_key() -> None:
    key = state(organization_id=uuid.uuid4(), expires_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    remote = over_http(Verdict(key, None, POSITION))
    assert remote.valid
    assert remote.state is not None
    for field in ("key_id", "key_id_text", "user_id", "organization_id", "service_id", "scopes", "environment",
                  "billing_plan", "rate_limit_per_hour", "monthly_prediction_limit", "expires_at"):  # fmt: skip
        assert getattr(remote.state, field) == getattr(key, field), field
    assert remote.limit is not None
    assert remote.limit.remaining == POSITION.remaining


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, ["not", "an", "object"]),
        (401, {"is_valid": False, "code": "no_such_code", "detail": "?"}),
        (401, {"is_valid": False, "detail": "no code"}),
        (500, {"is_valid": False, "code": "invalid_api_key", "detail": "a 500 is never about the key"}),
        (200, {"is_valid": True, "key_id": "not-a-uuid"}),
        (422, {"detail": "body: bad", "code": "validation_error"}),
    ],
)
def test_an_answer_outside_the_contract_is_unreadable(status: int, body: object) -> None:
    with pytest.raises(UnreadableAnswer):
        read_answer(status, body, {})
