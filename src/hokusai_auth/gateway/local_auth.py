"""Authenticating in-process: the same validation stack as the auth service (database, caches, Redis)."""

from __future__ import annotations

from hokusai_auth.gateway.outcome import Outcome
from hokusai_auth.validation.responses import verdict_headers
from hokusai_auth.validation.stack import ValidationStack
from hokusai_auth.validation.state import CheckRequest


class LocalAuthenticator:
    def __init__(self, stack: ValidationStack) -> None:
        self.stack = stack

    async def authenticate(self, key: str | None, check: CheckRequest) -> Outcome:
        verdict = await self.stack.validator.validate(key, check)
        rate = tuple((name, value) for name, value in verdict_headers(verdict) if name != "retry-after")
        rejection = verdict.rejection
        if rejection is None:
            state = verdict.state
            assert state is not None  # a valid verdict always carries the key's state
            return Outcome(True, key_id=state.key_id_text, user_id=state.user_id, rate_headers=rate)
        return Outcome(
            False,
            key_id=str(verdict.state.key_id) if verdict.state else None,
            code=rejection.code.value,
            error=rejection.error,
            detail=rejection.detail,
            retry_after=rejection.retry_after,
            extra=dict(rejection.extra),
            rate_headers=rate,
        )

    async def close(self) -> None:
        return None
