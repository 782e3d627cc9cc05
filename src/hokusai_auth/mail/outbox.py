"""Queueing a mail: in the caller's transaction, so the mail exists exactly when the change that causes it
commits. Delivery is the sender's (mail/sender.py), in the background, with retries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.mail.models import OutboxMessage


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    recipient: str
    subject: str
    text_body: str
    html_body: str
    kind: str  # what it is about, for listings and logs (never the content)


def enqueue(session: AsyncSession, mail: OutgoingMail, now: datetime) -> uuid.UUID:
    row = OutboxMessage(
        id=uuid.uuid4(),
        created_at=now,
        recipient=mail.recipient,
        subject=mail.subject,
        text_body=mail.text_body,
        html_body=mail.html_body,
        kind=mail.kind,
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )
    session.add(row)
    return row.id
