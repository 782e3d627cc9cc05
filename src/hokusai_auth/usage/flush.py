"""Writing buffered usage: every ``USAGE_FLUSH_INTERVAL`` seconds, once more on graceful shutdown.

One transaction per flush, so a batch counts entirely or not at all:
1. store the ids of the batches being written; a batch whose id is already stored was committed by an earlier
   attempt whose outcome was lost (connection broken during COMMIT) and is not counted again;
2. store the idempotency keys of the new batches' keyed records; only records whose key was not stored yet count;
3. add the counts to the hourly rollup rows.
A flush that fails leaves its batches in the buffer and the next flush writes them again. Nothing is dropped
unless the process dies (at most one interval of records is then lost) or the database stays unreachable through
shutdown (logged with the number of records lost).

One poisoned record must not block the others. Steps 2 and 3 run in a SAVEPOINT; when the database refuses a
*value* (``is_data_error``: PostgreSQL SQLSTATE class 22 or 23, SQLite's IntegrityError/DataError, or a value the
driver could not encode) the savepoint is rolled back and the parts are written again in halves, each in its own
savepoint, down to the single part that fails. That part (one rollup row, or one record with an idempotency key)
is set aside: counted in ``set_aside``, logged with its key id but never its content, and dropped. The rest
commits with the batch ids in the same transaction, so the exactly-once scheme holds: a retry of that transaction
counts nothing twice, and nothing set aside is ever counted. Any other error (the database unreachable, a
connection dropped, a missing table, a deadlock) keeps every batch buffered for the next flush: when in doubt,
keep.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.background import Periodic
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.usage import repository
from hokusai_auth.usage.buffer import Batch, Counts, IdempotencyRef, RollupKey, UsageBuffer

logger = logging.getLogger("hokusai_auth.usage")

RETENTION = timedelta(hours=48)  # how long idempotency keys (and batch ids) are remembered
PRUNE_EVERY = timedelta(hours=1)
SHUTDOWN_ATTEMPTS = 3
SHUTDOWN_RETRY_DELAY_S = 1.0
# PostgreSQL SQLSTATE classes that mean "this value is refused", whatever the connection: 22 data exception
# (0x00 in text, a number out of range, a string too long), 23 integrity constraint violation (a CHECK).
DATA_SQLSTATE_CLASSES = ("22", "23")


def is_data_error(exc: BaseException) -> bool:
    """True when ``exc`` says the database refused a value it was given, so writing the same records again can
    never succeed; False for everything else (unreachable, connection lost, timeout, missing table, deadlock,
    anything unknown), which is retried with every record kept.

    Walks the chain from SQLAlchemy's wrapper down to the driver's error (``orig``, then ``raise ... from``): the
    first SQLSTATE found decides (asyncpg sets it on server errors, and 22000 on a value it could not encode);
    without one (SQLite), the DB-API class decides, or a ValueError/OverflowError raised while binding a value
    (sqlite3 cannot encode a lone surrogate or an integer over 64 bits)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return False
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and len(sqlstate) == 5:
            return sqlstate[:2] in DATA_SQLSTATE_CLASSES
        if isinstance(current, (sa_exc.DataError, sa_exc.IntegrityError)):
            return True
        if isinstance(current, (ValueError, OverflowError)) and not isinstance(current, sa_exc.SQLAlchemyError):
            return True
        following = current.orig if isinstance(current, sa_exc.StatementError) else None
        current = following if isinstance(following, BaseException) else current.__cause__
    return False


def _describe(exc: BaseException, *, message: bool = False) -> str:
    """The error's classes and SQLSTATE. The message only when asked, and only the driver's own (SQLAlchemy's
    wrapper appends the statement's parameters, i.e. records): never for a data error, since drivers quote the
    refused value in those messages."""
    names: list[str] = []
    sqlstate = None
    current: BaseException | None = exc
    innermost = exc
    while current is not None and len(names) < 5:
        names.append(type(current).__name__)
        sqlstate = sqlstate or getattr(current, "sqlstate", None)
        innermost = current
        following = current.orig if isinstance(current, sa_exc.StatementError) else None
        current = following if isinstance(following, BaseException) else current.__cause__
    text = " < ".join(names) + (f", SQLSTATE {sqlstate}" if isinstance(sqlstate, str) else "")
    if message and not isinstance(innermost, sa_exc.SQLAlchemyError):
        text += f": {str(innermost)[:200]}"
    return text


@dataclass(frozen=True, slots=True)
class _Part:
    """The smallest unit set aside alone: one rollup row's records without idempotency keys (``ref`` None), or
    one record with an idempotency key, whose key and counts go in, or stay out, together."""

    rollup: RollupKey
    counts: Counts
    ref: IdempotencyRef | None = None

    @property
    def records(self) -> int:
        return self.counts.requests  # every record adds one request


@dataclass(frozen=True, slots=True)
class _Refused:
    part: _Part
    reason: str


def _parts(batches: list[Batch]) -> list[_Part]:
    """The batches' records as parts in primary-key order (rows locked in one order on every instance)."""
    merged: dict[RollupKey, Counts] = {}
    for batch in batches:
        for key, counts in batch.rollups.items():
            merged.setdefault(key, Counts()).merge(counts)
    parts = [_Part(key, counts) for key, counts in merged.items()]
    samples = {ref: sample for batch in batches for ref, sample in batch.samples.items()}  # one part per key
    for ref, sample in samples.items():
        counts = Counts()
        counts.add(sample.predictions, sample.compute_ms, sample.response_time_ms)
        parts.append(_Part(sample.rollup, counts, ref))
    parts.sort(key=lambda part: (part.rollup, part.ref or (part.rollup.key_id, "")))
    return parts


async def _write_parts(session: AsyncSession, parts: list[_Part], now: datetime) -> None:
    """Steps 2 and 3 for ``parts``: claim their idempotency keys, add the counts of those not claimed before."""
    fresh = await repository.claim_idempotency_keys(session, [part.ref for part in parts if part.ref], now)
    counted: dict[RollupKey, Counts] = {}
    for part in parts:
        if part.ref is None or part.ref in fresh:
            counted.setdefault(part.rollup, Counts()).merge(part.counts)
    await repository.add_rollups(session, counted)


async def _write_or_split(session: AsyncSession, parts: list[_Part], now: datetime) -> list[_Refused]:
    """Write ``parts`` in a savepoint; on a data error, write each half the same way. The parts refused alone.
    Any other error propagates and fails the whole flush (everything stays buffered)."""
    if not parts:
        return []
    try:
        async with session.begin_nested():
            await _write_parts(session, parts, now)
        return []
    except Exception as exc:
        if not is_data_error(exc):
            raise
        if len(parts) == 1:
            return [_Refused(parts[0], _describe(exc))]
    middle = len(parts) // 2
    return await _write_or_split(session, parts[:middle], now) + await _write_or_split(session, parts[middle:], now)


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
        self.set_aside = 0  # records the database refused and that were dropped, since start, for metrics

    async def flush(self) -> int:
        """Write everything buffered; the number of records written (0 if there was nothing or it failed; records
        set aside are not written)."""
        async with self._lock:
            batches = self._buffer.take()
            if not batches:
                return 0
            try:
                refused = await self._write(batches)
            except Exception as exc:  # not a refused value: the batches stay buffered and are retried
                self.failures += 1
                logger.warning(
                    "could not write usage (%d records buffered, attempt %d): %s; will retry",
                    self._buffer.records,
                    self.failures,
                    _describe(exc, message=True),
                    # A traceback only for what is neither the database nor the network: a bug to find. Database
                    # errors go without one: SQLAlchemy's text carries the statement's parameters (records).
                    exc_info=not isinstance(exc, (sa_exc.SQLAlchemyError, OSError)),
                )
                return 0
            self.failures = 0
            dropped = sum(item.part.records for item in refused)
            if refused:
                self._set_aside(refused)
            return sum(batch.records for batch in batches) - dropped

    async def _write(self, batches: list[Batch]) -> list[_Refused]:
        """Write the batches in one transaction; the parts set aside (already dropped with their batches)."""
        now = self._clock.now()
        self.sequence += 1
        self._idle.clear()
        try:
            async with self._db.writer.begin() as session:
                claimed = await repository.claim_batches(session, [batch.id for batch in batches], now)
                refused = await _write_or_split(
                    session, _parts([batch for batch in batches if batch.id in claimed]), now
                )
            self._buffer.written(batches)  # only once committed: a failed commit keeps everything, set aside or not
            return refused
        finally:
            self.sequence += 1
            self._idle.set()

    def _set_aside(self, refused: list[_Refused]) -> None:
        self.set_aside += sum(item.part.records for item in refused)
        by_key: Counter[uuid.UUID] = Counter()
        reasons: dict[uuid.UUID, set[str]] = {}
        for item in refused:
            by_key[item.part.rollup.key_id] += item.part.records
            reasons.setdefault(item.part.rollup.key_id, set()).add(item.reason)
        for key_id, records in sorted(by_key.items()):
            # The key id and counts only: the refused values (endpoint, idempotency key) may be anything.
            logger.warning(
                "set aside %d usage records of key %s that the database refused (%s); the others were written",
                records,
                key_id,
                "; ".join(sorted(reasons[key_id])),
            )

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
