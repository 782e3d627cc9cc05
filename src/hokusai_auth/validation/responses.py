"""A verdict as the contract's HTTP answer: status, JSON body, rate-limit and Retry-After headers. Shared by
the validate endpoint, the embeddable ASGI middleware and the gateway so all three answer identically."""

from __future__ import annotations

from typing import Any

import orjson

from hokusai_auth.validation.validator import Verdict

Headers = list[tuple[bytes, bytes]]  # as ASGI carries them: every consumer sends them on unchanged


def verdict_headers(verdict: Verdict) -> Headers:
    headers: Headers = []
    limit = verdict.limit
    if limit is not None:
        headers += [
            (b"x-ratelimit-limit", b"%d" % limit.limit),
            (b"x-ratelimit-remaining", b"%d" % limit.remaining),
            (b"x-ratelimit-reset", b"%d" % limit.reset_after_s),
        ]
    if verdict.rejection is not None and verdict.rejection.retry_after is not None:
        headers.append((b"retry-after", b"%d" % verdict.rejection.retry_after))
    return headers


def verdict_body(verdict: Verdict) -> dict[str, Any]:
    rejection = verdict.rejection
    if rejection is not None:
        body: dict[str, Any] = {
            "is_valid": False,
            "error": rejection.error,
            "code": rejection.code.value,
            "detail": rejection.detail,
        }
        body.update(rejection.extra)
        return body
    state, limit = verdict.state, verdict.limit
    if state is None or limit is None:
        raise ValueError("a valid verdict carries the key's state and rate-limit position")
    return {
        "is_valid": True,
        "key_id": state.key_id_text,
        "user_id": state.user_id,
        "organization_id": str(state.organization_id) if state.organization_id else None,
        "service_id": state.service_id,
        "scopes": list(state.scopes),
        "environment": state.environment,
        "rate_limit_per_hour": state.rate_limit_per_hour,
        "rate_limit_remaining": limit.remaining,
        "billing_plan": state.billing_plan,
        "monthly_prediction_limit": state.monthly_prediction_limit,
        "expires_at": state.expires_at.isoformat().replace("+00:00", "Z") if state.expires_at else None,
    }


def verdict_status(verdict: Verdict) -> int:
    return 200 if verdict.rejection is None else verdict.rejection.status


def render(verdict: Verdict) -> tuple[int, bytes, Headers]:
    return verdict_status(verdict), orjson.dumps(verdict_body(verdict)), verdict_headers(verdict)
