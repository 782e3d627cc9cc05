"""The in-memory side of usage ingest: records are rolled up as they arrive and handed to the flusher in batches.

Nothing here does I/O, so ``add`` is cheap enough for the gateway to call on every proxied request. A batch keeps
its id until it is known to be written: a batch whose write failed is written again, under the same id, with the
next one, so the database can tell a retry of something it already committed (see ``usage.flush``).

Records with an idempotency key are held one by one (not rolled up) until the flush, because whether they count
depends on whether the database has seen their key; a repeat of a key held here is dropped at once.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from hokusai_auth.usage import histogram
from hokusai_auth.usage.periods import hour_of

IdempotencyRef = tuple[uuid.UUID, str]  # (key id, idempotency key): keys are unique per API key


@dataclass(frozen=True, slots=True, order=True)
class RollupKey:
    """One usage_rollups row. Ordered like the primary key, so batches lock rows in one order everywhere."""

    key_id: uuid.UUID
    bucket_start: datetime
    service_id: str
    endpoint: str
    status_class: int


@dataclass(slots=True)
class Counts:
    requests: int = 0
    predictions: int = 0
    compute_ms: int = 0
    response_time_ms_sum: int = 0
    response_time_ms_max: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * histogram.BUCKETS)

    def add(self, predictions: int, compute_ms: int, response_time_ms: int) -> None:
        self.requests += 1
        self.predictions += predictions
        self.compute_ms += compute_ms
        self.response_time_ms_sum += response_time_ms
        self.response_time_ms_max = max(response_time_ms, self.response_time_ms_max)
        self.latency[histogram.bucket_of(response_time_ms)] += 1

    def merge(self, other: Counts) -> None:
        self.requests += other.requests
        self.predictions += other.predictions
        self.compute_ms += other.compute_ms
        self.response_time_ms_sum += other.response_time_ms_sum
        self.response_time_ms_max = max(other.response_time_ms_max, self.response_time_ms_max)
        self.latency = [mine + theirs for mine, theirs in zip(self.latency, other.latency, strict=True)]


@dataclass(frozen=True, slots=True)
class Sample:
    """One record with an idempotency key, waiting for the database to say whether its key is new."""

    rollup: RollupKey
    predictions: int
    compute_ms: int
    response_time_ms: int


@dataclass(slots=True)
class Batch:
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    rollups: dict[RollupKey, Counts] = field(default_factory=dict)
    samples: dict[IdempotencyRef, Sample] = field(default_factory=dict)
    # (key id, month start) -> predictions in this batch: lets the monthly quota see unflushed usage in O(1)
    predictions: Counter[tuple[uuid.UUID, datetime]] = field(default_factory=Counter)
    records: int = 0


def month_of_hour(hour: datetime) -> datetime:
    return hour.replace(day=1, hour=0)


class UsageBuffer:
    def __init__(self) -> None:
        self._pending = Batch()
        self._unsent: list[Batch] = []  # taken for writing and not yet known to be written, oldest first
        self._held: set[IdempotencyRef] = set()  # idempotency keys in _pending and _unsent

    def add(
        self,
        key_id: uuid.UUID,
        *,
        service_id: str,
        endpoint: str,
        status_code: int,
        response_time_ms: int,
        predictions: int,
        compute_ms: int,
        idempotency_key: str | None,
        at: datetime,
    ) -> bool:
        """Count one record (arguments already validated). False: a repeat of an idempotency key held here."""
        hour = hour_of(at)
        rollup = RollupKey(key_id, hour, service_id, endpoint, status_code // 100)
        batch = self._pending
        if idempotency_key is not None:
            ref = (key_id, idempotency_key)
            if ref in self._held:
                return False
            self._held.add(ref)
            batch.samples[ref] = Sample(rollup, predictions, compute_ms, response_time_ms)
        else:
            counts = batch.rollups.get(rollup)
            if counts is None:
                counts = batch.rollups[rollup] = Counts()
            counts.add(predictions, compute_ms, response_time_ms)
        if predictions:
            batch.predictions[(key_id, month_of_hour(hour))] += predictions
        batch.records += 1
        return True

    def take(self) -> list[Batch]:
        """Every batch not yet known to be written, the records since the last take as the newest one. They stay
        here (visible to ``pending_predictions``) until ``written`` is called with them."""
        if self._pending.records:
            self._unsent.append(self._pending)
            self._pending = Batch()
        return list(self._unsent)

    def written(self, batches: list[Batch]) -> None:
        done = {batch.id for batch in batches}
        self._unsent = [batch for batch in self._unsent if batch.id not in done]
        for batch in batches:
            self._held.difference_update(batch.samples)

    def pending_predictions(self, key_id: uuid.UUID, month_start: datetime) -> int:
        """Predictions recorded here for the key in that month and not yet written (records with an idempotency
        key count even if the database later finds them repeated: an estimate that errs high)."""
        slot = (key_id, month_start)
        return self._pending.predictions[slot] + sum(batch.predictions[slot] for batch in self._unsent)

    @property
    def records(self) -> int:
        """Records not yet written."""
        return self._pending.records + sum(batch.records for batch in self._unsent)

    @property
    def unsent_batches(self) -> int:
        return len(self._unsent)
