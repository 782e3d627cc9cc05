"""A real SMTP server for tests: aiosmtpd on a free port, in its own thread, that can be stopped and started
again on the same port (a mail server that goes away and comes back), and keeps what it received."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import free_port

REFUSED = "nobody@refused.example"  # the test server answers 550 for this recipient


@dataclass(frozen=True)
class Received:
    mail_from: str
    recipients: list[str]
    message: EmailMessage


class Handler:
    def __init__(self, delay: float = 0.0) -> None:
        self.received: list[Received] = []
        self.delay = delay  # seconds DATA takes: makes concurrent senders overlap

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class Credentials:
    """An authenticator that accepts one user name and password and remembers what it was offered."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.offered: list[tuple[str, str]] = []

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        self.offered.append((login, password))
        # handled=False: aiosmtpd answers 535 itself (True would mean this callback had answered already).
        return AuthResult(success=(login, password) == (self.username, self.password), handled=False)


class SmtpServer:
    """Stopped and started at will on the same port, as a mail server that goes away and comes back."""

    def __init__(self, **smtp_parameters: Any) -> None:
        self.port = free_port()
        self.handler = Handler()
        self._parameters = smtp_parameters
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def wait_for(self, to: str, within: float = 20.0) -> EmailMessage:
        """The first message received for ``to``, waiting for it (blocking: call through asyncio.to_thread)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for mail in self.received:
                if to in mail.recipients:
                    return mail.message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} arrived within {within} s")

    def start(self) -> None:
        controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=5, **self._parameters)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self, scheme: str = "smtp", userinfo: str = "") -> str:
        return f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"
