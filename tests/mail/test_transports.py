"""SMTP_URL forms, TLS (STARTTLS and implicit) with a certificate made here, authentication with URL-encoded
credentials, secrets kept out of logs and ``last_error``, and the embedded default's ``.eml`` files."""

from __future__ import annotations

import base64
import logging
import stat
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from hokusai_auth.clock import FrozenClock
from hokusai_auth.db.engine import Database
from hokusai_auth.mail.eml import EmlTransport
from hokusai_auth.mail.sender import MailSender
from hokusai_auth.mail.smtp import SmtpConfig, SmtpTransport, parse_smtp_url
from hokusai_auth.mail.transport import open_transport
from hokusai_auth.settings import Settings
from tests.conftest import ServiceFactory, eventually
from tests.mail.conftest import Certificate, mail, queue_mail, row
from tests.smtp import Credentials, SmtpServer

PASSWORD = "s3cr3t/P@ss:word"  # '/', '@' and ':' must be URL-encoded in SMTP_URL
ENCODED = "s3cr3t%2FP%40ss%3Aword"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://localhost", SmtpConfig("localhost", 25, "none")),
        ("smtp://127.0.0.1:2525", SmtpConfig("127.0.0.1", 2525, "none")),
        ("smtp+starttls://apikey:SG.abc@smtp.sendgrid.net",
         SmtpConfig("smtp.sendgrid.net", 587, "starttls", "apikey", "SG.abc")),
        (f"smtps://me%40example.com:{ENCODED}@smtp.gmail.com",
         SmtpConfig("smtp.gmail.com", 465, "implicit", "me@example.com", PASSWORD)),
        ("SMTP+STARTTLS://u:p@[::1]:10587/", SmtpConfig("::1", 10587, "starttls", "u", "p")),
    ],
)  # fmt: skip
def test_smtp_url_forms(url: str, expected: SmtpConfig) -> None:
    config = parse_smtp_url(url)
    assert config == expected
    assert config.password == expected.password
    assert PASSWORD not in config.describe()
    assert ENCODED not in config.describe()
    assert parse_smtp_url(config.describe()) == SmtpConfig(config.host, config.port, config.tls, config.username)


def test_describe_shows_all_but_the_password() -> None:
    config = parse_smtp_url(f"smtps://me%40example.com:{ENCODED}@smtp.gmail.com")
    assert config.describe() == "smtps://me%40example.com@smtp.gmail.com:465"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://user:hunter2@mail.example.com", "must start with smtp://, smtp+starttls:// or smtps:// (got https://)"),
        ("mail.example.com:587", "must start with"),
        ("smtp://user:hunter2@", "has no host"),
        ("smtp://user:hunter2@mail.example.com:port", "not a valid URL"),
        ("smtp://:hunter2@mail.example.com", "a password but no user name"),
    ],
)  # fmt: skip
def test_a_bad_smtp_url_is_named_and_never_quoted(url: str, message: str) -> None:
    with pytest.raises(ValueError, match="SMTP_URL") as raised:
        parse_smtp_url(url)
    assert message in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_smtp_url_is_a_secret_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKUSAI_SMTP_URL", f"smtps://me:{ENCODED}@smtp.example.com")
    monkeypatch.setenv("MAIL_FROM", "Example <no-reply@example.com>")
    settings = Settings()
    assert settings.smtp_url is not None
    assert settings.smtp_url.get_secret_value() == f"smtps://me:{ENCODED}@smtp.example.com"
    assert ENCODED not in repr(settings)
    assert settings.mail_from == "Example <no-reply@example.com>"
    monkeypatch.setenv("MAIL_FROM", "nobody")
    with pytest.raises(ValueError, match="MAIL_FROM must hold an address"):
        Settings()


def _sender(database: Database, transport: Any, clock: FrozenClock) -> MailSender:
    return MailSender(database, transport, clock, mail_from="Hokusai <no-reply@hokusai.example>", jitter=lambda: 0.5)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_tls_and_authentication(
    mode: str, database: Database, clock: FrozenClock, certificate: Certificate
) -> None:
    credentials = Credentials("me@example.com", PASSWORD)
    tls: dict[str, Any] = (
        {"tls_context": certificate.server_context(), "require_starttls": True}
        if mode == "starttls"
        else {"ssl_context": certificate.server_context(), "auth_require_tls": False}
    )  # aiosmtpd offers AUTH only after STARTTLS unless told otherwise; implicit TLS is TLS from the first byte
    server = SmtpServer(authenticator=credentials, auth_required=True, **tls)
    server.start()
    try:
        scheme = "smtp+starttls" if mode == "starttls" else "smtps"
        config = parse_smtp_url(server.url(scheme, f"me%40example.com:{ENCODED}"))
        transport = SmtpTransport(config, timeout=5, tls_context=certificate.client_context())
        (message_id,) = await queue_mail(database, clock, mail())
        assert (await _sender(database, transport, clock).flush()).sent == 1
    finally:
        server.stop()
    assert credentials.offered == [("me@example.com", PASSWORD)]
    assert len(server.received) == 1
    assert (await row(database, message_id)).status == "sent"


async def test_an_untrusted_certificate_is_refused(
    database: Database, clock: FrozenClock, certificate: Certificate
) -> None:
    server = SmtpServer(ssl_context=certificate.server_context())
    server.start()
    try:
        transport = SmtpTransport(parse_smtp_url(server.url("smtps", f"me:{ENCODED}")), timeout=5)  # system CAs
        (message_id,) = await queue_mail(database, clock, mail())
        assert (await _sender(database, transport, clock).send_now()).retrying == 1
    finally:
        server.stop()
    assert server.received == []
    last_error = (await row(database, message_id)).last_error
    assert last_error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in last_error


async def test_starttls_is_required_not_opportunistic(
    database: Database, clock: FrozenClock, smtp_server: SmtpServer
) -> None:
    """smtp+starttls:// to a server that offers no STARTTLS: an error, never the password in clear."""
    transport = SmtpTransport(parse_smtp_url(smtp_server.url("smtp+starttls", f"me:{ENCODED}")), timeout=5)
    (message_id,) = await queue_mail(database, clock, mail())
    assert (await _sender(database, transport, clock).send_now()).retrying == 1
    assert smtp_server.received == []
    assert (await row(database, message_id)).last_error == (
        "SMTPException: SMTP STARTTLS extension not supported by server."
    )


def _secret_forms() -> list[str]:
    return [
        PASSWORD,
        ENCODED,
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(f"\0me\0{PASSWORD}".encode()).decode(),
    ]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_no_password_in_logs_or_last_error(
    database: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hokusai_auth")
    credentials = Credentials("me", "the right one")
    server = SmtpServer(authenticator=credentials, auth_required=True, auth_require_tls=False)
    server.start()
    try:
        transport = open_transport(server.url("smtp", f"me:{ENCODED}"), Path("/nonexistent"))
        started = _sender(database, transport, clock)
        started.start()  # logs where mail goes
        await started.stop()
        (message_id,) = await queue_mail(database, clock, mail(marker="body-marker-4711"))
        assert (await _sender(database, transport, clock).send_now()).retrying == 1
    finally:
        server.stop()
    assert set(credentials.offered) == {("me", PASSWORD)}  # offered (once per mechanism aiosmtplib tries), refused
    last_error = (await row(database, message_id)).last_error
    assert last_error is not None
    assert last_error.startswith("SMTPAuthenticationError: 535")
    ours = "\n".join(  # this process's log lines (the test server's own, mail.log, see what it receives)
        record.getMessage() + repr(record.__dict__)
        for record in caplog.records
        if record.name.startswith(("hokusai_auth", "aiosmtplib"))
    )
    assert f"mail goes to smtp://me@127.0.0.1:{server.port}" in ours
    assert "mail not sent (attempt 1 of 12): SMTPAuthenticationError: 535" in ours
    for text in (last_error, ours):
        for secret in _secret_forms():
            assert secret not in text
        assert "body-marker-4711" not in text


def test_server_answers_that_echo_the_password_are_cut() -> None:
    transport = SmtpTransport(parse_smtp_url(f"smtp+starttls://me:{ENCODED}@mail.example.com"))
    for secret in _secret_forms():
        summary = transport._summary(RuntimeError(), f"535 bad credentials {secret} for me")
        assert secret not in summary
        assert summary == "RuntimeError: 535 bad credentials *** for me"


async def test_eml_files_are_private_and_their_paths_logged(
    database: Database, clock: FrozenClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hokusai_auth.mail")
    directory = tmp_path / "data" / "outbox"
    sender = _sender(database, EmlTransport(directory), clock)
    first, second = await queue_mail(database, clock, mail("a@example.com", marker="body-marker-4711"), mail())

    assert (await sender.flush()).sent == 2

    files = sorted(directory.glob("*.eml"))
    assert len(files) == 2
    assert {path.name.split("-", 1)[1] for path in files} == {f"{first}.eml", f"{second}.eml"}
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o600}
    assert list(directory.glob(".*")) == []  # no temporary file left behind
    (written,) = [path for path in files if str(first) in path.name]
    message = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"] == "a@example.com"
    parts = [str(part.get_content()) for part in message.iter_parts()]
    assert "the text part body-marker-4711" in parts[0]
    assert "the HTML part body-marker-4711" in parts[1]
    assert f"mail written to {written}" in caplog.text
    assert "body-marker-4711" not in caplog.text


async def test_the_embedded_default_writes_eml_files(
    make_service: ServiceFactory, database_url: str, tmp_path: Path
) -> None:
    service = await make_service(database_url, data_dir=tmp_path, mail_send_interval=0.02)
    runtime = service.runtime
    assert isinstance(runtime.mail_sender.transport, EmlTransport)
    (message_id,) = await queue_mail(runtime.database, runtime.clock, mail())

    async def written() -> bool:
        return len(list((tmp_path / "outbox").glob("*.eml"))) == 1

    await eventually(written, within=5)
    (path,) = (tmp_path / "outbox").glob("*.eml")
    assert str(message_id) in path.name
    assert "From: Hokusai <no-reply@localhost>" in path.read_text()
