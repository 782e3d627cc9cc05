"""Authenticating in-process: the auth service's own validator, over the same database, caches and Redis
(runtime.open_validation builds it)."""

from __future__ import annotations

from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.validation.validator import Validator, Verdict


class LocalAuthenticator:
    def __init__(self, validator: Validator) -> None:
        self._validator = validator

    async def authenticate(self, key: str | None, check: CheckRequest) -> Verdict:
        return await self._validator.validate(key, check)

    async def close(self) -> None:
        return None
