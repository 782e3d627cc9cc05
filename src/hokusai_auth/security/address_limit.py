"""A per-address allowance for public endpoints that cost the service something (a database row, a signature
check) and need no credential: sign-in challenges and verifications, later registration. A GCRA bucket per
client address in the service's rate limiter, so with Redis it holds across instances. Over it: 429 with
Retry-After. When the limiter cannot decide (Redis down, limits failing closed), the request goes through: a
public sign-in must not fail because a cache is away."""

from __future__ import annotations

from hokusai._vocabulary import Failure
from hokusai_auth.errors import ServiceError
from hokusai_auth.ratelimit.base import Limiter, LimiterUnavailable


class AddressLimit:
    def __init__(self, limiter: Limiter, name: str, *, per_hour: int, burst: int) -> None:
        self._limiter = limiter
        self._name = name
        self._per_hour = per_hour
        self._burst = burst
        self.refused = 0

    async def spend(self, address: str | None) -> None:
        try:
            decision = await self._limiter.hit(f"{self._name}:{address or 'unknown'}", self._per_hour, self._burst, 1)
        except LimiterUnavailable:
            return
        if decision.allowed:
            return
        self.refused += 1
        wait = max(1, decision.retry_after_s or 1)
        raise ServiceError(
            429,
            Failure.RATE_LIMITED,
            f"Too many requests from this address; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
