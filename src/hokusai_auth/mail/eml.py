"""The embedded default without ``SMTP_URL``: each message becomes an ``.eml`` file under
``$HOKUSAI_DATA_DIR/outbox/`` (directory 0700, files 0600: they hold verification and claim links), and its path
is logged. Any mail program opens them; ``cat`` shows the text part.

A file is written under a temporary name and renamed, so a reader never sees half a message; its name is the
same on every attempt (mail/message.py ``file_name``), so a message written twice is one file.
"""

from __future__ import annotations

import asyncio
import logging
import os
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from hokusai_auth.mail.message import file_name

logger = logging.getLogger("hokusai_auth.mail")


class EmlTransport:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def describe(self) -> str:
        return f".eml files in {self.directory}"

    async def send(self, message: EmailMessage) -> None:
        path = await asyncio.to_thread(self._write, message.as_bytes(policy=SMTP), file_name(message))
        logger.info("mail written to %s", path)

    def _write(self, content: bytes, name: str) -> Path:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / name
        temporary = self.directory / f".{name}.{os.getpid()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(descriptor, 0o600)  # a leftover temporary file keeps its mode through O_TRUNC
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return path
