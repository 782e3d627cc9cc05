"""The monthly prediction quota, checked during validation of prediction keys.

Once the predictions recorded for a key in the current calendar month (UTC; the cycle starts on the 1st) reach its
``monthly_prediction_limit``, validation answers 429 ``quota_exceeded`` with Retry-After until the next month.
The count comes from usage (written rollups plus this instance's unwritten records) and is cached per key for a
second, so the hot path reads the database at most once a second per key; usage recorded on other instances
arrives with their next flush. Enforcement is therefore exact to within a few seconds of traffic, not per request.

The validator asks it through ``validation.ports.Quota``; runtime.py builds it over the usage service.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from hokusai._vocabulary import Failure, Service
from hokusai_auth.usage.periods import month_start, next_month
from hokusai_auth.validation.ports import StoreUnavailable
from hokusai_auth.validation.rejection import Rejection, reject
from hokusai_auth.validation.state import KeyState

QUOTA_SERVICE = Service.PREDICTION


class PredictionCounts(Protocol):
    async def predictions_in_month(self, key_id: uuid.UUID, at: datetime) -> int: ...


@dataclass(slots=True)
class _Count:
    month: datetime
    used: int
    fresh_until: float


class MonthlyQuota:
    def __init__(
        self, counts: PredictionCounts, *, ttl: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._counts = counts
        self._ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[uuid.UUID, _Count] = {}

    async def check(self, state: KeyState, now: datetime) -> Rejection | None:
        limit = state.monthly_prediction_limit
        if limit is None or state.service_id != QUOTA_SERVICE:
            return None
        month = month_start(now)
        cached = self._cache.get(state.key_id)
        if cached is not None and cached.month == month and self._monotonic() < cached.fresh_until:
            used = cached.used
        else:
            try:
                used = await self._counts.predictions_in_month(state.key_id, now)
            except (SQLAlchemyError, OSError) as exc:
                raise StoreUnavailable(type(exc).__name__) from exc
            self._cache[state.key_id] = _Count(month, used, self._monotonic() + self._ttl)
        if used < limit:
            return None
        resets = next_month(month)
        return reject(
            Failure.QUOTA_EXCEEDED,
            f"Monthly prediction limit of {limit} reached; it resets on {resets.date().isoformat()} (UTC)",
            retry_after=max(1, math.ceil((resets - now).total_seconds())),
        )
