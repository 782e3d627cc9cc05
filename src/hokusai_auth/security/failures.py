"""Refused admin and service credentials: throttled per client address, audited as sums.

An address that keeps presenting wrong tokens gets 429 with Retry-After for a while, and during that time its
tokens are not even looked at (a guess that happens to be right is refused too: otherwise throttling would not
slow guessing down). The allowance is a GCRA bucket in the service's rate limiter, so with Redis it holds across
instances.

Every refusal is counted in memory and written as one audit event per (action, address) and window, with the
count: a flood of bad tokens costs one write a minute per address instead of one per request (8 clients once
wrote 2,388 rows in 15 s and slowed real admin writes threefold), and a refusal never waits on, or fails with, the
database. A window whose write fails is kept and written with the next one. The price: a process killed mid-window
loses that window's counts (the throttle itself is unaffected).
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime

from hokusai_auth.audit import recorder
from hokusai_auth.background import Periodic
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.ratelimit.base import Limiter, LimiterUnavailable
from hokusai_auth.web.context import RequestContext

logger = logging.getLogger("hokusai_auth.security")
MAX_ADDRESSES = 10_000  # distinct addresses held per window; more are summed under "address unknown"


@dataclass(slots=True)
class _Tally:
    count: int
    first_at: datetime
    last_at: datetime
    user_agent: str | None
    request_id: str | None

    def merge(self, other: _Tally) -> None:
        self.count += other.count
        self.first_at = min(self.first_at, other.first_at)
        self.last_at = max(self.last_at, other.last_at)


class FailedCredentials:
    def __init__(
        self,
        *,
        limiter: Limiter,
        database: Database,
        clock: Clock,
        burst: int,
        per_hour: int,
        window_s: float,
    ) -> None:
        self._limiter = limiter
        self._db = database
        self._clock = clock
        self._burst = burst
        self._per_hour = per_hour
        self._pending: dict[tuple[str, str | None], _Tally] = {}
        self._loop = Periodic("auth-failure-audit", self.flush, lambda: window_s, final=self.flush)
        self.throttled = 0  # requests answered 429, for /metrics

    @staticmethod
    def _bucket(address: str | None) -> str:
        return f"auth-failure:{address or 'unknown'}"

    async def retry_after(self, address: str | None) -> int | None:
        """Seconds until ``address`` may try again, or None when it may try now."""
        try:
            position = await self._limiter.hit(self._bucket(address), self._per_hour, self._burst, 0)
        except LimiterUnavailable:  # Redis down and limits fail closed: never lock operators out for that
            return None
        if position.remaining > 0:
            return None
        self.throttled += 1
        # The allowance is full again after reset_after_s; one attempt frees up (burst - 1) intervals before that.
        interval_s = 3600 / self._per_hour
        return max(1, math.ceil(position.reset_after_s - (self._burst - 1) * interval_s))

    async def refused(self, action: str, ctx: RequestContext) -> None:
        """Count one refused credential from ``ctx``'s address (no database I/O)."""
        with contextlib.suppress(LimiterUnavailable):
            await self._limiter.hit(self._bucket(ctx.client_ip), self._per_hour, self._burst, 1)
        now = self._clock.now()
        self._add((action, ctx.client_ip), _Tally(1, now, now, ctx.user_agent, ctx.request_id))

    def _add(self, slot: tuple[str, str | None], tally: _Tally) -> None:
        if slot not in self._pending and len(self._pending) >= MAX_ADDRESSES:
            slot = (slot[0], None)  # bounded memory under a flood from many addresses
        current = self._pending.get(slot)
        if current is None:
            self._pending[slot] = tally
        else:
            current.merge(tally)

    async def flush(self) -> int:
        """Write the counts gathered so far, one event per (action, address); the number of events written."""
        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            async with self._db.writer.begin() as session:
                for (action, address), tally in pending.items():
                    ctx = RequestContext("unknown", address, tally.user_agent, tally.request_id)
                    details = {
                        "count": tally.count,
                        "first_at": tally.first_at.isoformat(),
                        "last_at": tally.last_at.isoformat(),
                    }
                    recorder.record(session, ctx, action=action, outcome="failure", at=tally.first_at, details=details)
        except Exception:  # the database is away: keep the counts for the next window
            logger.warning("could not write %d refused-credential audit events; will retry", len(pending))
            for slot, tally in pending.items():
                self._add(slot, tally)
            return 0
        return len(pending)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
