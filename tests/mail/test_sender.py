"""The sender against a real SMTP server: delivery, retry after the server was down, failure after the last
attempt and retry by an operator, permanent refusals, and two senders sharing one outbox."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hokusai_auth.clock import FrozenClock
from hokusai_auth.db.engine import Database, open_database
from hokusai_auth.mail import queue
from hokusai_auth.mail.message import link
from hokusai_auth.mail.sender import MailSender
from hokusai_auth.mail.smtp import SmtpTransport, parse_smtp_url
from tests.conftest import ServiceFactory, eventually
from tests.mail.conftest import mail, queue_mail, row
from tests.smtp import REFUSED, SmtpServer

MAIL_FROM = "Hokusai Test <no-reply@hokusai.example>"


def smtp_sender(database: Database, server: SmtpServer, clock: FrozenClock, **options: Any) -> MailSender:
    options = {"mail_from": MAIL_FROM, "jitter": lambda: 0.5, **options}  # jitter 0.5: waits are exact
    return MailSender(database, SmtpTransport(parse_smtp_url(server.url()), timeout=5), clock, **options)


async def test_delivers_multipart_mail_with_links(
    database: Database, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    url = link("https://auth.example.com", "/registration/verify", token="t0k3n", lang="en")
    assert url == "https://auth.example.com/registration/verify?token=t0k3n&lang=en"
    sender = smtp_sender(database, smtp_server, clock)
    (message_id,) = await queue_mail(database, clock, mail("alice@example.com", marker=url))

    report = await sender.flush()

    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    (received,) = smtp_server.received
    assert received.mail_from == "no-reply@hokusai.example"
    assert received.recipients == ["alice@example.com"]
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == MAIL_FROM
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Hello from the test"
    assert message["Message-ID"] == f"<{message_id}@hokusai.example>"
    assert message["Date"]
    parts = {part.get_content_type(): str(part.get_content()) for part in message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert f"the text part {url}" in parts["text/plain"]
    assert f"the HTML part {url}" in parts["text/html"]

    stored = await row(database, message_id)
    assert (stored.status, stored.attempts, stored.last_error, stored.locked_until) == ("sent", 1, None, None)
    assert stored.sent_at == clock.now()
    assert (stored.text_body, stored.html_body) == ("", "")  # a link's token does not outlive its delivery
    assert (await sender.flush()).claimed == 0  # sent once, never again


async def test_retries_with_backoff_until_the_server_is_back(
    database: Database, stopped_smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    server = stopped_smtp_server
    sender = smtp_sender(database, server, clock)
    (message_id,) = await queue_mail(database, clock, mail())

    first = await sender.send_now()
    assert (first.claimed, first.retrying) == (1, 1)
    stored = await row(database, message_id)
    assert (stored.status, stored.attempts, stored.locked_until) == ("pending", 1, None)
    assert (stored.next_attempt_at - clock.now()).total_seconds() == 5.0
    assert stored.last_error is not None
    assert stored.last_error.startswith("SMTPConnectError: ")

    clock.advance(4)
    assert (await sender.send_now()).claimed == 0  # backing off
    clock.advance(1)
    assert (await sender.send_now()).retrying == 1  # the second attempt fails too: now 10 s
    assert ((await row(database, message_id)).next_attempt_at - clock.now()).total_seconds() == 10.0

    server.start()
    clock.advance(10)
    assert (await sender.send_now()).sent == 1
    assert [item.message["Message-ID"] for item in server.received] == [f"<{message_id}@hokusai.example>"]
    stored = await row(database, message_id)
    assert (stored.status, stored.attempts) == ("sent", 3)


async def test_fails_after_the_last_attempt_and_retry_brings_it_back(
    database: Database, stopped_smtp_server: SmtpServer, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = stopped_smtp_server
    sender = smtp_sender(database, server, clock, max_attempts=3)
    first, second = await queue_mail(database, clock, mail("a@example.com"), mail("b@example.com"))

    for _ in range(3):
        await sender.send_now()
        clock.advance(3600)
    assert {(await row(database, item)).status for item in (first, second)} == {"failed"}
    assert (await row(database, first)).attempts == 3
    assert "mail failed for good after 3 attempts" in caplog.text
    assert (await sender.send_now()).claimed == 0
    assert (await sender.refresh_counts()).failed == 2
    assert sender.gauges()["mail_failed"] == 2.0

    server.start()
    assert await sender.retry([first]) == [first]
    assert (await sender.flush()).sent == 1
    assert [item.recipients for item in server.received] == [["a@example.com"]]
    assert await sender.retry([first]) == []  # sent: nothing to retry

    assert await sender.retry(all_failed=True) == [second]
    stored = await row(database, second)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == ("pending", 0, clock.now())
    assert (await sender.flush()).sent == 1
    assert sorted(item.recipients[0] for item in server.received) == ["a@example.com", "b@example.com"]
    await sender.refresh_counts()  # the running sender does this after every step that sent something
    assert sender.gauges() == {"mail_pending": 0.0, "mail_failed": 0.0, "mail_oldest_pending_seconds": 0.0}


async def test_a_recipient_refused_for_good_fails_at_once(
    database: Database, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    sender = smtp_sender(database, smtp_server, clock)
    refused, header = await queue_mail(
        database, clock, mail(REFUSED), replace(mail(), subject="line\nbreak")
    )  # a line break in the subject: no header can carry it

    report = await sender.flush()

    assert (report.failed, report.sent) == (2, 0)
    stored = await row(database, refused)
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert stored.last_error is not None
    assert "550" in stored.last_error
    assert stored.last_error.startswith("SMTPRecipientsRefused")
    assert (await row(database, header)).status == "failed"
    assert smtp_server.received == []


async def test_backoff_doubles_up_to_the_cap_with_jitter(tmp_path: Path, clock: FrozenClock) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'unused.db'}")  # never connected to
    sender = MailSender(database, _NeverUsed(), clock, jitter=lambda: 0.5)
    assert [sender.backoff(attempts) for attempts in range(1, 14)] == [
        5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600,
    ]  # fmt: skip
    low = MailSender(database, _NeverUsed(), clock, jitter=lambda: 0.0)
    high = MailSender(database, _NeverUsed(), clock, jitter=lambda: 0.999999)
    assert low.backoff(3) == pytest.approx(16.0)
    assert high.backoff(3) == pytest.approx(24.0, rel=1e-4)
    assert high.backoff(40) == 3600


class _NeverUsed:
    async def send(self, message: object) -> None:
        raise AssertionError("not sent in this test")

    def describe(self) -> str:
        return "nowhere"


async def test_two_senders_send_each_message_exactly_once(
    database_url: str, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    """Two senders, each with its own connection pool (as two instances), drain one outbox together."""
    smtp_server.handler.delay = 0.005  # DATA takes a moment: the two senders' batches overlap
    first, second = open_database(database_url), open_database(database_url)
    try:
        ids = await queue_mail(first, clock, *(mail(f"user{index}@example.com") for index in range(40)))
        senders = [smtp_sender(database, smtp_server, clock, batch=4) for database in (first, second)]

        reports = await asyncio.gather(*(sender.flush() for sender in senders), *(s.flush() for s in senders))

        assert sum(report.sent for report in reports) == 40
        assert all(report.sent > 0 for report in reports[:2])  # both took part
        received = [str(item.message["Message-ID"]) for item in smtp_server.received]
        assert sorted(received) == sorted(f"<{message_id}@hokusai.example>" for message_id in ids)
        assert {(await row(first, message_id)).attempts for message_id in ids} == {1}
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_claim_keeps_other_senders_off_until_it_expires(
    database: Database, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    """A sender that died holding a claim: its messages wait until the claim expires, then go out once."""
    (message_id,) = await queue_mail(database, clock, mail())
    async with database.writer.begin() as session:
        (claimed,) = await queue.claim(session, clock.now(), clock.now() + timedelta(seconds=120), 10)
    assert claimed.id == message_id
    sender = smtp_sender(database, smtp_server, clock)
    assert (await sender.send_now()).claimed == 0
    clock.advance(121)
    assert (await sender.send_now()).sent == 1
    assert len(smtp_server.received) == 1


async def test_the_service_sends_in_the_background_and_retries_after_an_outage(
    make_service: ServiceFactory, database_url: str, stopped_smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    """Wired into the runtime: SMTP_URL from the settings, the sender running every MAIL_SEND_INTERVAL, a mail
    enqueued while the server is down delivered once it is back, and the outbox's gauges."""
    server = stopped_smtp_server
    service = await make_service(
        database_url, clock=clock, smtp_url=server.url(), mail_from=MAIL_FROM, mail_send_interval=0.02
    )
    runtime = service.runtime
    assert runtime.components().get(MailSender) is runtime.mail_sender
    (message_id,) = await queue_mail(runtime.database, clock, mail("carol@example.com"))

    async def attempted() -> bool:
        return (await row(runtime.database, message_id)).attempts >= 1

    await eventually(attempted, within=5)
    await runtime.mail_sender.refresh_counts()
    assert runtime.gauges()["mail_pending"] == 1.0
    server.start()
    clock.advance(6)  # the first wait: 5 s ± 20 %

    async def delivered() -> bool:
        return (await row(runtime.database, message_id)).status == "sent"

    await eventually(delivered, within=5)
    assert [item.recipients for item in server.received] == [["carol@example.com"]]


async def test_a_bad_smtp_url_stops_start_up_naming_it(make_service: ServiceFactory, database_url: str) -> None:
    with pytest.raises(ValueError, match="SMTP_URL must start with") as raised:
        await make_service(database_url, smtp_url="https://user:hunter2@mail.example.com")
    assert "hunter2" not in str(raised.value)


async def test_concurrent_claims_on_postgresql_never_take_one_row_twice(pg_url: str, clock: FrozenClock) -> None:
    """Two claims in flight at once: the second skips the rows the first holds (FOR UPDATE SKIP LOCKED), and a
    row it read before the first committed is not taken again (the UPDATE's condition)."""
    from tests.conftest import truncate_pg

    await truncate_pg(pg_url)
    first, second = open_database(pg_url), open_database(pg_url)
    try:
        ids = await queue_mail(first, clock, *(mail(f"user{index}@example.com") for index in range(6)))
        until = clock.now() + timedelta(seconds=120)
        async with first.writer.begin() as session:
            held = await queue.claim(session, clock.now(), until, 4)

            async def claim_elsewhere() -> list[uuid.UUID]:
                async with second.writer.begin() as other:
                    return [item.id for item in await queue.claim(other, clock.now(), until, 6)]

            elsewhere = asyncio.create_task(claim_elsewhere())
            await asyncio.sleep(0.2)  # the other claim runs (or waits on our row locks) while ours is open
        taken = await elsewhere
        assert len(held) == 4
        assert not {item.id for item in held} & set(taken)
        assert {item.id for item in held} | set(taken) == set(ids)
    finally:
        await first.dispose()
        await second.dispose()
