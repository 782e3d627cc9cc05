"""Delivering the outbox in the background: every ``MAIL_SEND_INTERVAL`` seconds, claim the due messages, send
each, record each outcome at once.

- **Claimed before sent.** A claim sets ``locked_until = now + lock_s`` only where no live claim exists
  (mail/queue.py), so two senders (instances, workers) never send one message at the same time. A send is bounded
  (``lock_s / 4``) and no send starts after half the claim has passed: every outcome is recorded while the claim
  still holds. Claims not used are released; a sender that dies leaves its claims to expire, and the messages are
  sent by whoever comes next. Delivery is at least once: a message whose outcome was lost (the server took it,
  the reply or the database write did not arrive) is sent again.
- **Retried with backoff.** A failed attempt makes the message due again after ``backoff_base × 2^(attempts-1)``
  seconds (5, 10, 20 … capped at ``backoff_cap``, an hour), ±20 % jitter so a queue that failed together does not
  retry together. After ``max_attempts`` it is ``failed``; so is a message the server refused for good (5xx for
  the recipient) or one that cannot be written (a line break in a header). ``retry`` (``hokusai-auth outbox
  --retry``) makes failed messages pending again.
- **Nothing secret is recorded.** ``last_error`` and the logs carry the error's class and a short message, never
  the SMTP password (transports cut it out, mail/smtp.py) and never the body. A sent message's bodies are erased.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from hokusai_auth.background import Periodic
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.mail import queue
from hokusai_auth.mail.message import DEFAULT_MAIL_FROM, compose, sender_address
from hokusai_auth.mail.models import OutboxMessage
from hokusai_auth.mail.transport import DeliveryError, Transport

logger = logging.getLogger("hokusai_auth.mail")

DEFAULT_INTERVAL_S = 1.0
DEFAULT_BATCH = 20
DEFAULT_MAX_ATTEMPTS = 12  # 11 waits: 5 s … 1 h, about 2 h 25 min from the first attempt to the last
DEFAULT_LOCK_S = 120.0
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 3600.0
JITTER = 0.2
COUNT_EVERY_S = 10.0  # how often the gauges' counts are read again
ROUNDS_PER_TICK = 10  # a full batch is followed at once by another, up to this many per interval
ERROR_MAX = 300
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class SendReport:
    """What one or more steps did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0  # failed this time, due again later
    failed: int = 0  # failed for good (attempts used up, or refused permanently)
    released: int = 0  # claimed but not tried (stopping, or out of time)

    def add(self, other: SendReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.released += other.released


def describe_error(exc: BaseException) -> str:
    """The error as stored and logged: a transport's own summary, or the class and a short message."""
    if isinstance(exc, DeliveryError):
        text = str(exc)
    else:
        detail = _SPACE.sub(" ", str(exc)).strip()
        text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return text[:ERROR_MAX]


class MailSender:
    def __init__(
        self,
        database: Database,
        transport: Transport,
        clock: Clock,
        *,
        mail_from: str = DEFAULT_MAIL_FROM,
        interval: float = DEFAULT_INTERVAL_S,
        batch: int = DEFAULT_BATCH,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        lock_s: float = DEFAULT_LOCK_S,
        backoff_base: float = BACKOFF_BASE_S,
        backoff_cap: float = BACKOFF_CAP_S,
        jitter: Callable[[], float] = random.random,  # in [0, 1)
    ) -> None:
        if batch < 1 or max_attempts < 1 or lock_s < 1 or interval <= 0:
            raise ValueError("batch, max_attempts and lock_s must be at least 1, interval above 0")
        sender_address(mail_from)  # a MAIL_FROM without an address fails here, at start-up
        self._db = database
        self.transport = transport
        self._clock = clock
        self._mail_from = mail_from
        self._batch = batch
        self.max_attempts = max_attempts
        self._lock_s = lock_s
        self._send_timeout = lock_s / 4
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._jitter = jitter
        self._stopping = False
        self._steps = asyncio.Lock()  # one step at a time in this process (the loop, and send_now from tests)
        self._counts = queue.Counts()
        self._counted_at: float | None = None
        self._loop = Periodic("mail-send", self._tick, lambda: interval)

    # ------------------------------------------------------------------------------------------ running

    def start(self) -> None:
        logger.info("mail goes to %s", self.transport.describe())
        self._loop.start()

    async def stop(self) -> None:
        """Start no new send; let the one in flight finish (bounded), release the other claims, stop."""
        self._stopping = True
        await self._loop.stop()

    async def _tick(self) -> None:
        claimed = 0
        for _ in range(ROUNDS_PER_TICK):
            report = await self.send_now()
            claimed += report.claimed
            if report.claimed < self._batch or self._stopping:
                break
        if claimed or self._counted_at is None or time.monotonic() - self._counted_at >= COUNT_EVERY_S:
            await self.refresh_counts()

    async def send_now(self) -> SendReport:
        """One step: claim up to a batch of due messages, send them, record the outcomes."""
        async with self._steps:
            return await self._step()

    async def flush(self, *, max_rounds: int = 1000) -> SendReport:
        """Send until nothing is due (tests, and anyone who wants the queue drained now)."""
        total = SendReport()
        for _ in range(max_rounds):
            report = await self.send_now()
            total.add(report)
            if report.claimed == 0:
                break
        return total

    async def _step(self) -> SendReport:
        now = self._clock.now()
        until = now + timedelta(seconds=self._lock_s)
        started = time.monotonic()
        async with self._db.reader() as session:
            if not await queue.any_due(session, now):
                return SendReport()
        async with self._db.writer.begin() as session:
            rows = await queue.claim(session, now, until, self._batch)
        report = SendReport(claimed=len(rows))
        for index, row in enumerate(rows):
            if self._stopping or time.monotonic() - started > self._lock_s / 2:
                rest = [later.id for later in rows[index:]]
                async with self._db.writer.begin() as session:
                    await queue.release(session, rest, until)
                report.released += len(rest)
                break
            await self._deliver(row, report)
        return report

    async def _deliver(self, row: OutboxMessage, report: SendReport) -> None:
        attempt = row.attempts + 1
        permanent = False
        try:
            message = compose(
                message_id=row.id,
                created_at=row.created_at,
                mail_from=self._mail_from,
                recipient=row.recipient,
                subject=row.subject,
                text_body=row.text_body,
                html_body=row.html_body,
            )
            async with asyncio.timeout(self._send_timeout):
                await self.transport.send(message)
        except TimeoutError:
            error = f"TimeoutError: no answer within {self._send_timeout:g} s"
        except DeliveryError as exc:
            error, permanent = describe_error(exc), exc.permanent
        except ValueError as exc:  # compose: a header that cannot be written; no attempt can ever succeed
            error, permanent = describe_error(exc), True
        except Exception as exc:  # a transport's unexpected error: counted as an attempt like any other
            error = describe_error(exc)
        else:
            async with self._db.writer.begin() as session:
                await queue.record_sent(session, row.id, self._clock.now())
            report.sent += 1
            logger.info("mail sent", extra={"mail_id": str(row.id), "kind": row.kind, "attempt": attempt})
            return

        give_up = permanent or attempt >= self.max_attempts
        next_attempt_at = None if give_up else self._clock.now() + timedelta(seconds=self.backoff(attempt))
        async with self._db.writer.begin() as session:
            await queue.record_failure(session, row.id, error, next_attempt_at=next_attempt_at)
        fields = {"mail_id": str(row.id), "kind": row.kind, "attempt": attempt, "error": error}
        if next_attempt_at is None:
            report.failed += 1
            logger.error(
                "mail failed for good after %d attempts: %s (hokusai-auth outbox --retry %s)",
                attempt,
                error,
                row.id,
                extra=fields,
            )
        else:
            report.retrying += 1
            wait = (next_attempt_at - self._clock.now()).total_seconds()
            logger.warning(
                "mail not sent (attempt %d of %d): %s; next attempt in %.0f s",
                attempt,
                self.max_attempts,
                error,
                wait,
                extra=fields,
            )

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        delay: float = min(self._backoff_cap, self._backoff_base * 2.0 ** min(attempts - 1, 62))
        return min(self._backoff_cap, delay * (1 - JITTER + 2 * JITTER * self._jitter()))

    # ------------------------------------------------------------------------------------------ operators

    async def retry(self, ids: Sequence[uuid.UUID] | None = None, *, all_failed: bool = False) -> list[uuid.UUID]:
        """Make the given messages (or, with ``all_failed``, every failed one) due now with fresh attempts."""
        async with self._db.writer.begin() as session:
            changed = await queue.retry(session, self._clock.now(), ids, all_failed=all_failed)
        await self.refresh_counts()
        return changed

    async def waiting(self, limit: int = 200) -> list[queue.Listed]:
        """Pending and failed messages, oldest first, without their bodies (the operators' view)."""
        async with self._db.reader() as session:
            return await queue.listing(session, limit=limit)

    async def refresh_counts(self) -> queue.Counts:
        async with self._db.reader() as session:
            self._counts = await queue.counts(session)
        self._counted_at = time.monotonic()
        return self._counts

    def gauges(self) -> dict[str, float]:
        """Pending and failed messages (the whole outbox, as of the last count), and how long the oldest pending
        one has waited: an alert on it catches a mail server that stopped accepting."""
        counts = self._counts
        oldest = counts.oldest_pending
        waited = max(0.0, (self._clock.now() - oldest).total_seconds()) if oldest is not None else 0.0
        return {
            "mail_pending": float(counts.pending),
            "mail_failed": float(counts.failed),
            "mail_oldest_pending_seconds": waited,
        }
