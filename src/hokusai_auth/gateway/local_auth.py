"""Authenticating in-process: the same validation stack as the auth service (database, caches, Redis)."""

from __future__ import annotations

from hokusai_auth.validation.stack import ValidationStack
from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.validation.validator import Verdict


class LocalAuthenticator:
    def __init__(self, stack: ValidationStack) -> None:
        self.stack = stack

    async def authenticate(self, key: str | None, check: CheckRequest) -> Verdict:
        return await self.stack.validator.validate(key, check)

    async def close(self) -> None:
        return None
