"""``hokusai-auth outbox``: lists pending and failed mail without bodies, and makes failed mail pending again."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner, Result

from hokusai_auth.cli import cli
from hokusai_auth.clock import FrozenClock
from hokusai_auth.db.engine import open_database
from hokusai_auth.mail.models import OutboxMessage
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, run_blocking
from tests.mail.conftest import mail, queue_mail, row


class Outbox:
    def __init__(self, tmp_path: Path, sqlite_template: Path) -> None:
        path = tmp_path / "hokusai.db"
        shutil.copy(sqlite_template, path)
        self.url = f"sqlite:///{path}"
        self.env = {
            "DATABASE_URL": self.url,
            "HOKUSAI_DATA_DIR": str(tmp_path),
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "LOG_FORMAT": "text",
        }
        self.runner = CliRunner()

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, ["outbox", *args], env=self.env)

    def queue(self, *, failed: bool = False, recipient: str = "alice@example.com") -> uuid.UUID:
        async def go() -> uuid.UUID:
            database = open_database(self.url)
            try:
                (message_id,) = await queue_mail(database, FrozenClock(), mail(recipient, marker="body-marker-4711"))
                if failed:
                    async with database.writer.begin() as session:
                        await session.execute(
                            update(OutboxMessage)
                            .where(OutboxMessage.id == message_id)
                            .values(status="failed", attempts=12, last_error="SMTPConnectError: refused")
                        )
                return message_id
            finally:
                await database.dispose()

        return run_blocking(go())

    def stored(self, message_id: uuid.UUID) -> OutboxMessage:
        async def go() -> OutboxMessage:
            database = open_database(self.url)
            try:
                return await row(database, message_id)
            finally:
                await database.dispose()

        return run_blocking(go())


@pytest.fixture
def outbox(tmp_path: Path, sqlite_template: Path) -> Outbox:
    return Outbox(tmp_path, sqlite_template)


def test_lists_pending_and_failed_without_bodies(outbox: Outbox) -> None:
    empty = outbox.run()
    assert empty.exit_code == 0, empty.output
    assert "no pending or failed mail" in empty.stdout
    pending = outbox.queue(recipient="p@example.com")
    failed = outbox.queue(failed=True, recipient="f@example.com")

    listed = outbox.run("--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = {item["id"]: item for item in json.loads(listed.stdout)}
    assert set(rows) == {str(pending), str(failed)}
    assert rows[str(failed)] == {
        "id": str(failed),
        "created_at": rows[str(failed)]["created_at"],
        "kind": "test.mail",
        "recipient": "f@example.com",
        "status": "failed",
        "attempts": 12,
        "next_attempt_at": None,
        "last_error": "SMTPConnectError: refused",
    }
    assert rows[str(pending)]["status"] == "pending"
    assert rows[str(pending)]["next_attempt_at"].endswith("Z")

    only_failed = outbox.run("--failed", "--format", "json")
    assert [item["id"] for item in json.loads(only_failed.stdout)] == [str(failed)]

    table = outbox.run()
    assert table.exit_code == 0, table.output
    for text in (str(pending), str(failed), "f@example.com", "SMTPConnectError: refused", "next attempt"):
        assert text in table.stdout
    for result in (listed, only_failed, table):
        assert "body-marker-4711" not in result.output


def test_retries_one_or_every_failed_message(outbox: Outbox) -> None:
    first, second, third = (outbox.queue(failed=True, recipient=f"{n}@example.com") for n in ("a", "b", "c"))

    one = outbox.run("--retry", str(first))
    assert one.exit_code == 0, one.output
    assert f"1 message(s) pending again\n  {first}" in one.stdout
    stored = outbox.stored(first)
    assert (stored.status, stored.attempts, stored.last_error) == ("pending", 0, "SMTPConnectError: refused")
    assert outbox.stored(second).status == "failed"

    every = outbox.run("--retry-failed", "--format", "json")
    assert every.exit_code == 0, every.output
    assert json.loads(every.stdout) == {"retried": sorted([str(second), str(third)]), "not_retried": []}
    assert {outbox.stored(item).status for item in (first, second, third)} == {"pending"}


def test_retry_refuses_unknown_and_malformed_ids(outbox: Outbox) -> None:
    unknown = str(uuid.uuid4())
    result = outbox.run("--retry", unknown)
    assert result.exit_code == 1
    assert f"not pending or failed: {unknown}" in result.stderr
    malformed = outbox.run("--retry", "not-an-id")
    assert malformed.exit_code == 2
    assert "--retry takes a message id" in malformed.stderr
