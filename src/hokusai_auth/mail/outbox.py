"""Queueing a mail: in the caller's transaction, so the mail exists exactly when the change that causes it
commits. Delivery is the sender's (mail/sender.py), in the background, with retries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from hokusai_auth.mail.models import OutboxMessage

SIGNATURE = "Hokusai"


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    recipient: str
    subject: str
    text_body: str
    html_body: str
    kind: str  # what it is about, for listings and logs (never the content)


def compose(recipient: str, subject: str, kind: str, paragraphs: list[str], *, url: str | None = None) -> OutgoingMail:
    """A mail of plain text and its simple HTML twin. ``paragraphs`` are plain text (escaped in the HTML);
    ``url``, when given, follows the first paragraph as a link. Nothing a client typed belongs in ``subject``."""
    text = [paragraphs[0], *([url] if url else []), *paragraphs[1:], SIGNATURE]
    html = [f"<p>{escape(paragraphs[0])}</p>"]
    if url:
        html.append(f'<p><a href="{escape(url)}">{escape(url)}</a></p>')
    html += [f"<p>{escape(paragraph)}</p>".replace("\n", "<br>\n") for paragraph in paragraphs[1:]]
    html.append(f"<p>{SIGNATURE}</p>")
    return OutgoingMail(
        recipient=recipient,
        subject=subject,
        text_body="\n\n".join(text) + "\n",
        html_body="<!doctype html>\n<html><body>\n" + "\n".join(html) + "\n</body></html>\n",
        kind=kind,
    )


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
