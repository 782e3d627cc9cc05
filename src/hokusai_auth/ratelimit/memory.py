"""In-process GCRA limiter: exact within one process; used without Redis and as the fallback when Redis fails."""

from __future__ import annotations

import time
from collections.abc import Callable

from hokusai_auth.ratelimit.gcra import Decision, evaluate

_PRUNE_EVERY = 10_000


class MemoryLimiter:
    def __init__(self, now_us: Callable[[], int] | None = None) -> None:
        self._now_us = now_us or (lambda: time.time_ns() // 1000)
        self._tats: dict[str, int] = {}
        self._calls = 0

    async def hit(self, bucket: str, limit_per_hour: int, burst: int, cost: int) -> Decision:
        return self.hit_now(bucket, limit_per_hour, burst, cost)

    def hit_now(self, bucket: str, limit_per_hour: int, burst: int, cost: int) -> Decision:
        now = self._now_us()
        outcome = evaluate(self._tats.get(bucket), now, limit_per_hour, burst, cost)
        if outcome.new_tat_us is not None:
            self._tats[bucket] = outcome.new_tat_us
        self._calls += 1
        if self._calls % _PRUNE_EVERY == 0:
            self._prune(now)
        return outcome.decision

    def _prune(self, now_us: int) -> None:
        # A TAT in the past means a full allowance, which is the same as no entry at all.
        for bucket in [b for b, tat in self._tats.items() if tat <= now_us]:
            del self._tats[bucket]
