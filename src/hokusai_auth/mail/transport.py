"""How the sender hands a message on: SMTP (``SMTP_URL``, mail/smtp.py) or ``.eml`` files (the embedded default,
mail/eml.py). A transport raises on failure; the sender decides what happens next (mail/sender.py)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

OUTBOX_DIR = "outbox"  # under HOKUSAI_DATA_DIR: where the embedded default writes its .eml files


class Transport(Protocol):
    """``describe()`` names where mail goes, for the start-up log line: never a password."""

    async def send(self, message: EmailMessage) -> None: ...

    def describe(self) -> str: ...


class DeliveryError(Exception):
    """A failure a transport has described already: ``str()`` is safe to log and to store (the error's class
    and a short message, never a password or the body). ``permanent``: trying again cannot help (the server
    refused the recipient for good), so the message fails at once."""

    def __init__(self, summary: str, *, permanent: bool = False) -> None:
        super().__init__(summary)
        self.permanent = permanent


def open_transport(smtp_url: str | None, data_dir: Path) -> Transport:
    """SMTP when ``smtp_url`` is set, else ``.eml`` files under ``<data_dir>/outbox/``. Raises ValueError (naming
    SMTP_URL, never quoting it) for a URL that cannot be used."""
    if smtp_url:
        from hokusai_auth.mail.smtp import SmtpTransport, parse_smtp_url

        return SmtpTransport(parse_smtp_url(smtp_url))
    from hokusai_auth.mail.eml import EmlTransport

    return EmlTransport(data_dir / OUTBOX_DIR)
