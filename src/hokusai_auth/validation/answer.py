"""The validate endpoint's answer read back into a ``Verdict``: the inverse of ``responses.render``, for a gateway
that validates over HTTP, so that it decides on the same type, and maps it to HTTP the same way, as one that
validates in-process.

A refusal's ``code`` is read through the vocabulary; an answer the contract does not allow (no JSON object, an
unknown code, a 5xx other than 503) is ``UnreadableAnswer``, which the caller turns into 503: it says nothing about
the key. A valid key's environment and plan stay text: the gateway decides nothing on them, and a newer service
that adds a plan must not make an older gateway refuse that plan's keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hokusai._vocabulary import Failure
from hokusai_auth.ratelimit.gcra import Decision
from hokusai_auth.validation.rejection import Rejection
from hokusai_auth.validation.validator import Verdict

_RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


class UnreadableAnswer(ValueError):
    """The auth service answered something that is not a validate answer."""


@dataclass(frozen=True, slots=True)
class AnsweredKey:
    """A valid key as the validate endpoint describes it (``KeyFacts``)."""

    key_id: uuid.UUID
    user_id: str
    organization_id: uuid.UUID | None
    service_id: str
    scopes: tuple[str, ...]
    environment: str
    billing_plan: str
    rate_limit_per_hour: int
    monthly_prediction_limit: int | None
    expires_at: datetime | None
    key_id_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_id_text", str(self.key_id))


def read_answer(status: int, body: Any, headers: Mapping[str, str]) -> Verdict:
    """The verdict in a validate answer (``headers`` with lower-case names, as httpx gives them)."""
    if not isinstance(body, dict):
        raise UnreadableAnswer(f"Auth service answered {status} without a JSON object")
    if status == 200 and body.get("is_valid") is True:
        try:
            key = _key(body)
        except (KeyError, TypeError, ValueError):
            raise UnreadableAnswer("Auth service answered 200 without a valid key's fields") from None
        return Verdict(key, None, _limit(headers, allowed=True))
    if status >= 500 and status != 503:
        raise UnreadableAnswer(f"Auth service answered {status}")
    try:
        code = Failure(_text(body.get("code")))
    except (TypeError, ValueError):
        raise UnreadableAnswer(f"Auth service answered {status} without a validation failure code") from None
    detail = body.get("detail")
    scope = body.get("required_scope")
    retry = headers.get("retry-after")
    rejection = Rejection(
        code,
        detail if isinstance(detail, str) else code.error,
        int(retry) if retry and retry.isdigit() else None,
        (("required_scope", scope),) if isinstance(scope, str) else (),
    )
    return Verdict(None, rejection, _limit(headers, allowed=False))


def _key(body: dict[str, Any]) -> AnsweredKey:
    organization = body.get("organization_id")
    limit = body.get("monthly_prediction_limit")
    expires = body.get("expires_at")
    return AnsweredKey(
        key_id=uuid.UUID(body["key_id"]),
        user_id=_text(body["user_id"]),
        organization_id=uuid.UUID(organization) if organization else None,
        service_id=_text(body["service_id"]),
        scopes=tuple(_text(scope) for scope in body["scopes"]),
        environment=_text(body["environment"]),
        billing_plan=_text(body["billing_plan"]),
        rate_limit_per_hour=int(body["rate_limit_per_hour"]),
        monthly_prediction_limit=int(limit) if limit is not None else None,
        expires_at=datetime.fromisoformat(expires) if expires else None,
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _limit(headers: Mapping[str, str], *, allowed: bool) -> Decision | None:
    """The rate-limit position the X-RateLimit-* headers report, when they all do."""
    try:
        limit, remaining, reset = (int(headers[name]) for name in _RATE_HEADERS)
    except (KeyError, ValueError):
        return None
    return Decision(allowed, limit, remaining, reset, None)
