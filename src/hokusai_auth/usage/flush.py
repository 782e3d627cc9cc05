"""Writing buffered usage: every ``USAGE_FLUSH_INTERVAL`` seconds, once more on graceful shutdown.

One transaction per flush, so a batch counts entirely or not at all:
1. store the ids of the batches being written; a batch whose id is already stored was committed by an earlier
   attempt whose outcome was lost (connection broken during COMMIT) and is not counted again;
2. store the idempotency keys of the new batches' keyed records; only records whose key was not stored yet count;
3. add the counts to the hourly rollup rows.
A flush that fails leaves its batches in the buffer and the next flush writes them again. Nothing is dropped
unless the process dies (at most one interval of records is then lost) or the database stays unreachable through
shutdown (logged with the number of records lost).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from hokusai_auth.background import Periodic
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.usage import repository
from hokusai_auth.usage.buffer import Batch, Counts, RollupKey, UsageBuffer

logger = logging.getLogger("hokusai_auth.usage")

RETENTION = timedelta(hours=48)  # how long idempotency keys (and batch ids) are remembered
PRUNE_EVERY = timedelta(hours=1)
SHUTDOWN_ATTEMPTS = 3
SHUTDOWN_RETRY_DELAY_S = 1.0


class UsageFlusher:
    def __init__(self, database: Database, buffer: UsageBuffer, clock: Clock, interval: float) -> None:
        self._db = database
        self._buffer = buffer
        self._clock = clock
        self._interval = interval
        self._lock = asyncio.Lock()  # one flush at a time: a batch must not be written by two at once
        # A sequence lock for readers that add the database and this buffer (the monthly quota): odd while a
        # write is in flight, when a batch may be in both; a read that saw the same even value before and after
        # its query counted every batch exactly once.
        self.sequence = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._loop = Periodic("usage-flush", self._tick, lambda: interval, final=self._final_flush)
        self._last_prune: datetime | None = None
        self.failures = 0  # consecutive failed flushes, for logs and metrics

    async def flush(self) -> int:
        """Write everything buffered; the number of records written (0 if there was nothing or it failed)."""
        async with self._lock:
            batches = self._buffer.take()
            if not batches:
                return 0
            try:
                await self._write(batches)
            except Exception:  # whatever failed, the batches stay buffered and are retried: usage is never dropped
                self.failures += 1
                logger.warning(
                    "could not write usage (%d records buffered, attempt %d); will retry",
                    self._buffer.records,
                    self.failures,
                    exc_info=True,
                )
                return 0
            self.failures = 0
            return sum(batch.records for batch in batches)

    async def _write(self, batches: list[Batch]) -> None:
        now = self._clock.now()
        self.sequence += 1
        self._idle.clear()
        try:
            async with self._db.writer.begin() as session:
                claimed = await repository.claim_batches(session, [batch.id for batch in batches], now)
                new = [batch for batch in batches if batch.id in claimed]
                samples = {ref: sample for batch in new for ref, sample in batch.samples.items()}
                fresh = await repository.claim_idempotency_keys(session, list(samples), now)
                counted: dict[RollupKey, Counts] = {}
                for batch in new:
                    for key, counts in batch.rollups.items():
                        counted.setdefault(key, Counts()).merge(counts)
                for ref in fresh:
                    sample = samples[ref]
                    counted.setdefault(sample.rollup, Counts()).add(
                        sample.predictions, sample.compute_ms, sample.response_time_ms
                    )
                if counted:
                    await repository.add_rollups(session, counted)
            self._buffer.written(batches)
        finally:
            self.sequence += 1
            self._idle.set()

    async def settled(self) -> int:
        """The sequence number once no write is in flight."""
        while self.sequence % 2:
            await self._idle.wait()
        return self.sequence

    async def prune(self) -> int:
        """Forget idempotency keys and batch ids past the retention window; rows removed."""
        now = self._clock.now()
        self._last_prune = now
        try:
            async with self._db.writer.begin() as session:
                return await repository.prune(session, now - RETENTION)
        except Exception:  # pruning is housekeeping: try again next time
            logger.warning("could not prune usage idempotency keys", exc_info=True)
            return 0

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        """Let a running flush finish, then write what is left, retrying briefly if the database is down."""
        await self._loop.stop()

    async def _final_flush(self) -> None:
        for attempt in range(SHUTDOWN_ATTEMPTS):
            await self.flush()
            if not self._buffer.records:
                return
            if attempt + 1 < SHUTDOWN_ATTEMPTS:
                await asyncio.sleep(SHUTDOWN_RETRY_DELAY_S)
        logger.error("shutting down with %d usage records that could not be written", self._buffer.records)

    async def _tick(self) -> None:
        await self.flush()
        if self._last_prune is None or self._clock.now() - self._last_prune >= PRUNE_EVERY:
            await self.prune()
