"""The audit log's hash chain: an event's canonical bytes and its hash. Pure: no I/O.

``hash = SHA-256(bytes.fromhex(prev_hash) || canonical(event))`` in lower-case hex; the first event's
``prev_hash`` is GENESIS (64 zeros). The canonical form is the JSON of the contract's fields plus ``seq`` (FIELDS),
keys sorted, no whitespace, UTF-8, times as RFC 3339 UTC with microseconds (``2026-01-02T03:04:05.000000Z``),
UUIDs as lower-case strings. The same event gives the same bytes whether it was just built in Python or read back
from SQLite or PostgreSQL (JSONB included): see ``json_value`` for numbers.

This is a stored format. Changing anything here makes every stored hash wrong, so it never changes; a new form
would need a version of its own in the chain.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

GENESIS = "0" * 64
FIELDS = (
    "id",
    "occurred_at",
    "actor",
    "actor_type",
    "actor_id",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "organization_id",
    "client_ip",
    "user_agent",
    "request_id",
    "details",
    "seq",
)


class EventLike(Protocol):
    """An AuditEvent, or a row with its columns (the migration reads rows without the model)."""

    id: uuid.UUID
    occurred_at: datetime
    actor: str
    actor_type: str
    actor_id: str | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    organization_id: uuid.UUID | None
    client_ip: str | None
    user_agent: str | None
    request_id: str | None
    details: Any
    seq: int


def rfc3339(moment: datetime) -> str:
    """UTC, always with microseconds and a ``Z``: one spelling per instant."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime in an audit event")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def json_value(value: Any) -> Any:
    """``value`` as the JSON it becomes once stored and read back, on every backend.

    Numbers are the one difference: JSONB keeps a number, not its spelling, so ``1e16`` comes back as the integer
    ``10000000000000000`` and ``-0.0`` as ``0.0``. A float that is a whole number is therefore written as the
    integer. Other floats survive any round trip (the shortest repr names exactly one double). Keys become strings,
    tuples lists; NaN, infinities and anything JSON has no spelling for are refused (PostgreSQL refuses them too).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("audit details hold a number JSON cannot spell")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    raise TypeError(f"audit details cannot hold a {type(value).__name__}")


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)


def document(event: EventLike) -> dict[str, Any]:
    """The chained fields of ``event`` as JSON values: what is hashed, and what an export line carries."""
    return {
        "id": str(event.id),
        "occurred_at": rfc3339(event.occurred_at),
        "actor": event.actor,
        "actor_type": str(event.actor_type),
        "actor_id": event.actor_id,
        "action": event.action,
        "outcome": event.outcome,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "organization_id": _text(event.organization_id),
        "client_ip": event.client_ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "details": json_value(event.details),
        "seq": int(event.seq),
    }


def canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def link(prev_hash: str, doc: Mapping[str, Any]) -> str:
    """The hash of the event ``doc`` describes, chained after ``prev_hash``."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(doc)).hexdigest()


def event_hash(prev_hash: str, event: EventLike) -> str:
    return link(prev_hash, document(event))
