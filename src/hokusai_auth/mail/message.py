"""What a queued mail looks like on the wire: an RFC 5322 message, multipart/alternative (plain text first, then
HTML), from ``MAIL_FROM``, with a Date and a Message-ID that stay the same on every attempt (a receiver that sees
one message twice, after a lost reply, can tell), and links built from ``PUBLIC_URL``."""

from __future__ import annotations

import email.policy
import re
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr, parsedate_to_datetime
from urllib.parse import urlencode

DEFAULT_MAIL_FROM = "Hokusai <no-reply@localhost>"
# Lines up to RFC 5322's 998 characters stay as they are (7bit) rather than being quoted-printable-encoded at 78:
# a link in a .eml file or a plain-text view stays one line that can be copied. Non-ASCII text is still encoded.
_POLICY = email.policy.SMTP.clone(max_line_length=998, cte_type="7bit")
_FILE_SAFE = re.compile(r"[^0-9A-Za-z._-]")


def link(public_url: str, path: str, **query: str) -> str:
    """``PUBLIC_URL`` + ``path`` (+ the query, encoded): ``link("https://auth.example", "/verify", token=t)``."""
    url = f"{public_url.rstrip('/')}/{path.lstrip('/')}"
    return f"{url}?{urlencode(query)}" if query else url


def sender_address(mail_from: str) -> str:
    """The bare address of ``MAIL_FROM`` (``Hokusai <no-reply@example.com>`` → ``no-reply@example.com``): the
    envelope sender. Raises ValueError when there is none."""
    if "\r" in mail_from or "\n" in mail_from:
        raise ValueError("MAIL_FROM must be one line")
    address = parseaddr(mail_from)[1]
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("MAIL_FROM must hold an address, e.g. 'Hokusai <no-reply@example.com>'")
    return address


def compose(
    *,
    message_id: uuid.UUID,
    created_at: datetime,
    mail_from: str,
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str,
) -> EmailMessage:
    """The message for one outbox row. Raises ValueError for a header that cannot be written (a line break in
    the subject or the recipient): such a row can never be sent."""
    domain = sender_address(mail_from).rpartition("@")[2]
    message = EmailMessage(policy=_POLICY)
    message["From"] = mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    message.set_content(text_body)
    message.add_alternative(html_body, subtype="html")
    return message


def file_name(message: EmailMessage) -> str:
    """A file name for ``message`` that sorts by time and is the same on every attempt:
    ``20260102T030405Z-<message id>.eml``."""
    moment = parsedate_to_datetime(str(message["Date"])).astimezone(UTC)
    local = str(message["Message-ID"]).strip("<>").partition("@")[0]
    return f"{moment:%Y%m%dT%H%M%SZ}-{_FILE_SAFE.sub('_', local)[:80]}.eml"
