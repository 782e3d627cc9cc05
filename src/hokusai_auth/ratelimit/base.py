"""What the validator needs from a rate limiter. Implementations: in-process (memory.py) and Redis (redis.py)."""

from __future__ import annotations

from typing import Protocol

from hokusai_auth.ratelimit.gcra import Decision


class LimiterUnavailable(Exception):
    """The limiter cannot decide (its store is down and the failure mode is ``closed``): the caller answers 503."""


class Limiter(Protocol):
    async def hit(self, bucket: str, limit_per_hour: int, burst: int, cost: int) -> Decision:
        """Spend ``cost`` units of ``bucket`` if all fit (nothing is spent when denied); cost 0 only looks.
        Raises LimiterUnavailable when it cannot decide."""
        ...
