"""Checking the audit log's hash chain: ``{ok, events_checked, first_bad_event_id}`` (and why, for people).

The first bad event is the first one whose seq is not the next number, whose prev_hash is not the previous event's
hash, or whose hash is not what its content gives. So a deleted event is reported at the one after the gap, an
edited or inserted one at itself. Deleted events at the end leave no gap: the last event is compared with the
chain's head, and the head's event (the last one written, now missing) is reported.

The head is read first and the walk stops at its seq, so events appended while the check runs are neither checked
nor mistaken for a deleted tail. An event beyond the head is a forgery only if the head, read after it, is still
behind it: a real append moves the head in the same commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import Row

from hokusai_auth.audit import chain
from hokusai_auth.audit.stream import BATCH, Head, UnreadableEvent, batches_in_order, first_after, read_head
from hokusai_auth.db.engine import Database


class Break(StrEnum):
    """Why the chain breaks where it does."""

    SEQ_GAP = "seq_gap"
    PREV_HASH_MISMATCH = "prev_hash_mismatch"
    HASH_MISMATCH = "hash_mismatch"
    UNREADABLE = "unreadable"
    TAIL_MISSING = "tail_missing"
    HEAD_MISMATCH = "head_mismatch"
    BEYOND_HEAD = "beyond_head"
    HEAD_MISSING = "head_missing"


EXPLAINED = {
    Break.SEQ_GAP: "its seq is not the next one (events before it deleted, or it was inserted)",
    Break.PREV_HASH_MISMATCH: "its prev_hash is not the previous event's hash",
    Break.HASH_MISMATCH: "its hash does not match its content (edited)",
    Break.UNREADABLE: "its columns cannot be read as an event",
    Break.TAIL_MISSING: "it was the last event written and is missing (events deleted at the end)",
    Break.HEAD_MISMATCH: "the last event is not the one the chain's head names",
    Break.BEYOND_HEAD: "it lies after the chain's head (appended outside the service)",
    Break.HEAD_MISSING: "the chain's head row is missing",
}


@dataclass(frozen=True)
class Verification:
    ok: bool
    events_checked: int  # events read and checked, the first bad one included
    first_bad_event_id: uuid.UUID | None = None
    reason: Break | None = None
    first_bad_seq: int | None = None  # its seq (for a missing tail: the seq it had)
    # The head the check went up to: what to anchor elsewhere once it verified (docs/audit.md)
    head_seq: int | None = None
    head_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "first_bad_event_id": None if self.first_bad_event_id is None else str(self.first_bad_event_id),
            "reason": None if self.reason is None else self.reason.value,
            "first_bad_seq": self.first_bad_seq,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
        }

    def summary(self) -> str:
        """One line for people."""
        if self.ok:
            head = f"; head seq {self.head_seq} hash {self.head_hash}" if self.head_seq else ""
            return f"audit chain ok: {self.events_checked} events checked{head}"
        what = f"event {self.first_bad_event_id}" if self.first_bad_event_id else "the head"
        where = f" (seq {self.first_bad_seq})" if self.first_bad_seq is not None else ""
        why = EXPLAINED[self.reason] if self.reason else "broken"
        return f"audit chain BROKEN at {what}{where}: {why}; {self.events_checked} events checked"


def _problem(row: Row[Any], expected_seq: int, prev_hash: str) -> Break | None:
    if row.seq != expected_seq:
        return Break.SEQ_GAP
    if row.prev_hash != prev_hash:
        return Break.PREV_HASH_MISMATCH
    try:
        # prev_hash, not the row's: it is the previous row's checked hash (or genesis), so always valid hex
        computed = chain.event_hash(prev_hash, row)
    except (ValueError, TypeError):  # e.g. details edited into something JSON cannot spell
        return Break.UNREADABLE
    return None if computed == row.hash else Break.HASH_MISMATCH


async def verify_chain(database: Database, *, batch: int = BATCH) -> Verification:
    head = await read_head(database)
    found = await _walk(database, head, batch)
    return found if head is None else replace(found, head_seq=head.seq, head_hash=head.hash)


@dataclass
class _Walk:
    checked: int = 0
    prev_hash: str = chain.GENESIS
    last_id: uuid.UUID | None = None


def _check_batch(rows: Sequence[Row[Any]], walk: _Walk) -> Verification | None:
    """Check ``rows`` on from ``walk``, advancing it; the first break, if any."""
    for row in rows:
        walk.checked += 1
        problem = _problem(row, walk.checked, walk.prev_hash)
        if problem is not None:
            return Verification(False, walk.checked, row.id, problem, int(row.seq))
        walk.prev_hash, walk.last_id = row.hash, row.id
    return None


async def _walk(database: Database, head: Head | None, batch: int) -> Verification:
    walk = _Walk()
    try:
        async for rows in batches_in_order(database, up_to=head.seq if head else None, batch=batch):
            # Hashing is CPU work: in a thread, so a check run through the API does not stall the event loop
            # (and the validations it serves) for a whole batch at a time.
            broken = await asyncio.to_thread(_check_batch, rows, walk)
            if broken is not None:
                return broken
    except UnreadableEvent as bad:
        return Verification(False, walk.checked + 1, bad.event_id, Break.UNREADABLE, bad.seq)
    checked, prev_hash, last_id = walk.checked, walk.prev_hash, walk.last_id
    if head is None:
        return Verification(True, 0) if not checked else Verification(False, checked, None, Break.HEAD_MISSING)
    if checked < head.seq:
        return Verification(False, checked, head.event_id, Break.TAIL_MISSING, head.seq)
    if prev_hash != head.hash or last_id != head.event_id:
        return Verification(False, checked, last_id, Break.HEAD_MISMATCH, checked)
    beyond = await first_after(database, head.seq)
    if beyond is not None:
        now = await read_head(database)
        if now is None or now.seq < beyond[0]:
            return Verification(False, checked + 1, beyond[1], Break.BEYOND_HEAD, beyond[0])
    return Verification(True, checked)
