"""A real SMTP server for the mail tests (aiosmtpd on a free port, in its own thread), and helpers to queue mail
and read the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database, open_database
from hokusai_auth.mail.models import OutboxMessage
from hokusai_auth.mail.outbox import OutgoingMail, enqueue
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


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(auth_require_tls=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stopped_smtp_server() -> Iterator[SmtpServer]:
    """A server that is not running yet: its port is known, nothing listens on it."""
    server = SmtpServer(auth_require_tls=False)
    yield server
    server.stop()


@dataclass(frozen=True)
class Certificate:
    cert_pem: bytes
    key_pem: bytes
    directory: Path

    def server_context(self) -> ssl.SSLContext:
        cert, key = self.directory / "cert.pem", self.directory / "key.pem"
        cert.write_bytes(self.cert_pem)
        key.write_bytes(self.key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.cert_pem.decode())


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Certificate(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        tmp_path_factory.mktemp("tls"),
    )


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = open_database(database_url)
    yield opened
    await opened.dispose()


def mail(recipient: str = "alice@example.com", *, marker: str = "", kind: str = "test.mail") -> OutgoingMail:
    return OutgoingMail(
        recipient=recipient,
        subject="Hello from the test",
        text_body=f"Hello,\n\nthe text part {marker}\n",
        html_body=f"<p>Hello,</p><p>the HTML part {marker}</p>",
        kind=kind,
    )


async def queue_mail(database: Database, clock: Clock, *mails: OutgoingMail) -> list[uuid.UUID]:
    async with database.writer.begin() as session:
        return [enqueue(session, item, clock.now()) for item in mails]


async def row(database: Database, message_id: uuid.UUID) -> OutboxMessage:
    async with database.reader() as session:
        found = await session.get(OutboxMessage, message_id)
    assert found is not None
    return found
