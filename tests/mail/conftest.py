"""The mail tests' fixtures: a real SMTP server (tests/smtp.py), a certificate for TLS, and helpers to queue mail
and read the outbox."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database, open_database
from hokusai_auth.mail.models import OutboxMessage
from hokusai_auth.mail.outbox import OutgoingMail, enqueue
from tests.smtp import SmtpServer


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
