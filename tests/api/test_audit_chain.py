"""The audit log is a hash chain: real mutations chain up in commit order, on SQLite and PostgreSQL, across
instances; a row deleted, edited or inserted in the database is found where it happened (HTTP and CLI); the export
is JSON Lines a SIEM can re-check."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Mapping
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from hokusai_auth.audit import chain, recorder
from hokusai_auth.audit.actors import ActorType, classify
from hokusai_auth.audit.models import AuditChainHead, AuditEvent
from hokusai_auth.cli import cli
from hokusai_auth.clock import FrozenClock
from hokusai_auth.db.engine import Database
from hokusai_auth.web.context import RequestContext
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, Service, ServiceFactory, truncate_pg


async def fresh_chain(database: Database, *, head: bool = True) -> None:
    """An empty chain. PostgreSQL tests share one database, emptied between tests by tests/conftest.py, which may
    leave the head row behind; put it back at genesis, or (``head=False``) delete it: the next append then puts it
    back itself (audit/recorder.py)."""
    async with database.writer.begin() as session:
        await session.execute(delete(AuditChainHead))
        if head:
            session.add(AuditChainHead(id=1, seq=0, hash=chain.GENESIS, event_id=None))


@pytest.fixture
async def svc(service: Service) -> Service:
    await fresh_chain(service.runtime.database)
    return service


async def mutate(svc: Service) -> list[str]:
    """Keys created, updated, rotated and revoked through the API: the key ids touched."""
    assert svc.clock is not None
    first = await svc.create_key(name="first")
    second = await svc.create_key(name="second")
    svc.clock.advance(1)
    response = await svc.client.patch(f"/api/v1/keys/{first['key_id']}", json={"name": "renamed"}, headers=svc.admin)
    assert response.status_code == 200, response.text
    rotated = await svc.client.post(f"/api/v1/keys/{first['key_id']}/rotate", headers=svc.admin)
    assert rotated.status_code == 201, rotated.text
    svc.clock.advance(1)
    revoked = await svc.client.delete(f"/api/v1/keys/{second['key_id']}", headers=svc.admin)
    assert revoked.status_code in (200, 204), revoked.text
    await svc.create_key(name="third")
    return [first["key_id"], second["key_id"]]


async def verify(svc: Service) -> dict[str, Any]:
    response = await svc.client.get("/api/v1/audit-logs/verify", headers=svc.admin)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def rows(database: Database) -> list[AuditEvent]:
    async with database.reader() as session:
        return list((await session.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars())


async def execute(database: Database, statement: Any) -> None:
    async with database.writer.begin() as session:
        await session.execute(statement)


# ---------------------------------------------------------------------------------------------- a sound chain


async def test_real_mutations_chain_up_in_order_and_verify(svc: Service) -> None:
    assert await verify(svc) == {
        "ok": True,
        "events_checked": 0,
        "first_bad_event_id": None,
        "reason": None,
        "first_bad_seq": None,
        "head_seq": 0,
        "head_hash": chain.GENESIS,
    }, "an empty chain is sound"
    await mutate(svc)
    events = await rows(svc.runtime.database)
    assert [event.action for event in events] == [
        "api_key.create",
        "api_key.create",
        "api_key.update",
        "api_key.rotate",
        "api_key.revoke",
        "api_key.create",
    ]
    assert [event.seq for event in events] == list(range(1, 7))
    previous = chain.GENESIS
    for event in events:
        assert event.prev_hash == previous
        assert event.hash == chain.event_hash(previous, event), "the same bytes read back as were hashed"
        previous = event.hash
    assert await verify(svc) == {
        "ok": True,
        "events_checked": 6,
        "first_bad_event_id": None,
        "reason": None,
        "first_bad_seq": None,
        "head_seq": 6,
        "head_hash": events[-1].hash,
    }
    listed = (await svc.client.get("/api/v1/audit-logs", headers=svc.admin)).json()
    assert {(event["actor_type"], event["actor_id"]) for event in listed} == {
        ("admin", events[0].actor.removeprefix("admin:"))
    }


async def test_verification_needs_the_admin_token(svc: Service) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = await svc.client.get("/api/v1/audit-logs/verify", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"


async def test_stored_and_fresh_events_hash_the_same_bytes(svc: Service) -> None:
    """JSONB keeps numbers, not their spelling (1e16 comes back as an integer); text in any script; times with
    microseconds and another zone; each backend must give back exactly what was hashed."""
    assert svc.clock is not None
    database = svc.runtime.database
    details: dict[Any, Any] = {
        "whole": 1.0,
        "big": 1e16,
        "negative_zero": -0.0,
        "small": 1.5e-07,
        "huge_int": 2**70,
        "text": 'Grüße, 東京 😀 "quoted" \\ back',
        "nested": {"b": [1, 2.5, None, True], "a": {}},
        7: "a key that is not text",
    }
    moment = svc.clock.now().replace(microsecond=123456).astimezone(timezone(timedelta(hours=5)))
    ctx = RequestContext("service:billing", "2001:db8::1", "agent/1.0 ü", "req-1")
    async with database.writer.begin() as session:
        recorder.record(session, ctx, action="test.details", at=moment, target_type="thing", target_id="t-1",
                        organization_id=uuid.uuid4(), details=details)  # fmt: skip
        recorder.record(session, ctx.with_actor("anonymous"), action="test.plain", at=moment)
    assert (await verify(svc))["ok"]
    stored = (await rows(database))[0]
    assert chain.document(stored)["occurred_at"].endswith(".123456Z")
    assert stored.details is not None
    assert stored.details["big"] == 10**16
    assert stored.actor_type == "service"
    assert stored.actor_id == "billing"


async def test_events_of_a_rolled_back_change_are_not_chained(svc: Service) -> None:
    database = svc.runtime.database
    assert svc.clock is not None
    ctx = RequestContext("admin:0123abcd", None, None, None)
    now = svc.clock.now()

    async def rolled_back() -> None:
        async with database.writer.begin() as session:
            recorder.record(session, ctx, action="test.rolled_back", at=now)
            raise RuntimeError

    async def savepoint_rolled_back(session: AsyncSession) -> None:
        async with session.begin_nested():
            recorder.record(session, ctx, action="test.savepoint_rolled_back", at=now)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await rolled_back()
    async with database.writer.begin() as session:
        recorder.record(session, ctx, action="test.kept", at=now)
        with pytest.raises(RuntimeError):
            await savepoint_rolled_back(session)
        async with session.begin_nested():
            recorder.record(session, ctx, action="test.savepoint_kept", at=now)
        recorder.record(session, ctx, action="test.last", at=now)
    # the same session may go on to another transaction
    async with database.writer() as session:
        async with session.begin():
            recorder.record(session, ctx, action="test.again", at=now)
        async with session.begin():
            recorder.record(session, ctx, action="test.and_again", at=now)
    events = await rows(database)
    assert [(event.seq, event.action) for event in events] == [
        (1, "test.kept"),
        (2, "test.savepoint_kept"),
        (3, "test.last"),
        (4, "test.again"),
        (5, "test.and_again"),
    ]
    assert (await verify(svc))["ok"]


def test_actor_types() -> None:
    assert classify("admin:1a2b3c4d") == (ActorType.ADMIN, "1a2b3c4d")
    assert classify("service:gateway") == (ActorType.SERVICE, "gateway")
    user = str(uuid.uuid4())
    assert classify(f"user:{user}") == (ActorType.USER, user)
    assert classify("anonymous") == (ActorType.USER, None)
    assert classify("unknown") == (ActorType.SYSTEM, None)
    assert classify("hokusai-auth") == (ActorType.SYSTEM, None)
    assert classify("robot:x") == (ActorType.SYSTEM, None)


# ---------------------------------------------------------------------------------------------- tampering


def _forged_after(last: AuditEvent) -> AuditEvent:
    """An event a careful forger appends: the next seq, linked and hashed correctly, but the head left alone."""
    forged = AuditEvent(
        id=uuid.uuid4(),
        occurred_at=last.occurred_at,
        actor=last.actor,
        actor_type=last.actor_type,
        actor_id=last.actor_id,
        action="api_key.create",
        outcome="success",
        seq=last.seq + 1,
        prev_hash=last.hash,
    )
    forged.hash = chain.event_hash(last.hash, forged)
    return forged


async def _tamper(database: Database, how: str, events: list[AuditEvent]) -> tuple[uuid.UUID, str, int]:
    """Change the stored chain ``how``; the event, reason and seq verification must report."""
    third, fourth, last = events[2], events[3], events[-1]
    by_id = AuditEvent.id
    match how:
        case "edit":
            await execute(database, update(AuditEvent).where(by_id == third.id).values(actor="admin:innocent"))
            return third.id, "hash_mismatch", 3
        case "edit_details":
            await execute(database, update(AuditEvent).where(by_id == third.id).values(details={"changed": {}}))
            return third.id, "hash_mismatch", 3
        case "delete_middle":
            await execute(database, delete(AuditEvent).where(by_id == third.id))
            return fourth.id, "seq_gap", 4
        case "delete_last":
            await execute(database, delete(AuditEvent).where(by_id == last.id))
            return last.id, "tail_missing", last.seq
        case "delete_all":
            await execute(database, delete(AuditEvent))
            return last.id, "tail_missing", last.seq
        case "insert":
            forged = _forged_after(last)
            async with database.writer.begin() as session:
                session.add(forged)
            return forged.id, "beyond_head", forged.seq
        case "rehash":
            await execute(database, update(AuditEvent).where(by_id == third.id).values(hash="ab" * 32))
            return third.id, "hash_mismatch", 3
        case "relink":  # an edit whose hash was recomputed: the next event no longer links to it
            edited = await _reloaded(database, third.id)
            edited.outcome = "failure"
            new_hash = chain.event_hash(edited.prev_hash, edited)
            await execute(
                database, update(AuditEvent).where(by_id == third.id).values(outcome="failure", hash=new_hash)
            )
            return fourth.id, "prev_hash_mismatch", 4
    raise AssertionError(how)


async def _reloaded(database: Database, event_id: uuid.UUID) -> AuditEvent:
    async with database.reader() as session:
        found = await session.get(AuditEvent, event_id)
    assert found is not None
    return found


@pytest.mark.parametrize(
    "how", ["edit", "edit_details", "delete_middle", "delete_last", "delete_all", "insert", "rehash", "relink"]
)
async def test_tampering_is_reported_where_it_happened(svc: Service, how: str) -> None:
    await mutate(svc)
    database = svc.runtime.database
    events = await rows(database)
    assert (await verify(svc))["ok"]
    bad_id, reason, seq = await _tamper(database, how, events)
    answer = await verify(svc)
    assert answer["ok"] is False
    assert answer["first_bad_event_id"] == str(bad_id)
    assert answer["reason"] == reason
    assert answer["first_bad_seq"] == seq


async def test_a_row_that_does_not_read_as_an_event_is_reported(
    make_service: ServiceFactory, sqlite_template: Path, tmp_path: Path
) -> None:
    """SQLite keeps any text in any column; the check names the row instead of failing."""
    path = tmp_path / "unreadable.db"
    await asyncio.to_thread(shutil.copy, sqlite_template, path)
    svc = await make_service(f"sqlite:///{path}", clock=FrozenClock())
    await mutate(svc)
    events = await rows(svc.runtime.database)
    await execute(svc.runtime.database, text("UPDATE audit_events SET occurred_at = 'garbage' WHERE seq = 4"))
    answer = await verify(svc)
    assert (answer["ok"], answer["reason"], answer["first_bad_seq"]) == (False, "unreadable", 4)
    assert answer["first_bad_event_id"] == str(events[3].id)
    assert answer["events_checked"] == 4


async def test_a_missing_head_with_events_is_reported(svc: Service) -> None:
    await mutate(svc)
    await fresh_chain(svc.runtime.database, head=False)
    answer = await verify(svc)
    assert (answer["ok"], answer["reason"], answer["first_bad_event_id"]) == (False, "head_missing", None)
    await svc.create_key()  # the next append puts the head back from the last event: writes go on
    assert (await verify(svc))["ok"]


# ---------------------------------------------------------------------------------------------- concurrency


async def test_instances_appending_at_once_make_one_chain(make_service: ServiceFactory, pg_url: str) -> None:
    await truncate_pg(pg_url)
    first = await make_service(pg_url)
    second = await make_service(pg_url)
    await fresh_chain(first.runtime.database, head=False)  # both instances race to put it back, too

    async def create(svc: Service, index: int) -> None:
        await svc.create_key(name=f"key {index}")

    await asyncio.gather(*(create(svc, index) for index in range(15) for svc in (first, second)))
    answer = await verify(first)
    assert answer["ok"], answer
    assert answer["events_checked"] == 30
    assert [event.seq for event in await rows(first.runtime.database)] == list(range(1, 31))


# ---------------------------------------------------------------------------------------------- CLI


def _run_cli(database_url: str, tmp_path: Path, *args: str) -> Any:
    env = {
        "DATABASE_URL": database_url,
        "HOKUSAI_DATA_DIR": str(tmp_path),
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "LOG_FORMAT": "text",
    }
    return CliRunner().invoke(cli, ["audit", *args], env=env)


async def cli_run(database_url: str, tmp_path: Path, *args: str) -> Any:
    """The command runs its own event loop (asyncio.run), so it runs in a thread of its own."""
    return await asyncio.to_thread(_run_cli, database_url, tmp_path, *args)


async def test_cli_verify_exit_codes(svc: Service, database_url: str, tmp_path: Path) -> None:
    await mutate(svc)
    good = await cli_run(database_url, tmp_path, "verify")
    assert good.exit_code == 0, good.output
    events = await rows(svc.runtime.database)
    assert good.stdout.strip() == f"audit chain ok: 6 events checked; head seq 6 hash {events[-1].hash}"
    await execute(svc.runtime.database, delete(AuditEvent).where(AuditEvent.id == events[1].id))
    bad = await cli_run(database_url, tmp_path, "verify")
    assert bad.exit_code == 1, bad.output
    assert len(bad.stdout.strip().splitlines()) == 1
    assert bad.stdout.startswith(f"audit chain BROKEN at event {events[2].id} (seq 3): its seq is not the next")
    as_json = await cli_run(database_url, tmp_path, "verify", "--format", "json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["first_bad_event_id"] == str(events[2].id)


def _rechecked(lines: list[Mapping[str, Any]]) -> None:
    """What a SIEM can do with an unfiltered export: recompute every hash from the line itself."""
    previous = chain.GENESIS
    for line in lines:
        document = {name: value for name, value in line.items() if name not in ("prev_hash", "hash")}
        assert set(document) == set(chain.FIELDS)
        assert line["prev_hash"] == previous
        assert chain.link(previous, document) == line["hash"]
        previous = line["hash"]


async def test_cli_export_writes_json_lines_in_chain_order(svc: Service, database_url: str, tmp_path: Path) -> None:
    assert svc.clock is not None
    start = svc.clock.now()
    await mutate(svc)
    organization = uuid.uuid4()
    async with svc.runtime.database.writer.begin() as session:
        recorder.record(session, RequestContext("admin:1", None, None, None), action="test.org",
                        at=start + timedelta(seconds=5), organization_id=organization)  # fmt: skip

    result = await cli_run(database_url, tmp_path, "export")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["seq"] for line in lines] == list(range(1, 8))
    _rechecked(lines)
    assert "exported 7 events" in result.stderr

    target = tmp_path / "audit.jsonl"
    to_file = await cli_run(database_url, tmp_path, "export", "--output", str(target))
    assert to_file.exit_code == 0, to_file.output
    written = await asyncio.to_thread(target.read_text)
    assert written.splitlines() == result.stdout.splitlines()
    assert await asyncio.to_thread(lambda: list(tmp_path.glob(".audit.jsonl*"))) == [], "no partial file left"

    since = (start + timedelta(seconds=2)).isoformat()
    later = await cli_run(database_url, tmp_path, "export", "--since", since)
    assert [json.loads(line)["action"] for line in later.stdout.splitlines()] == [
        "api_key.revoke",
        "api_key.create",
        "test.org",
    ]
    until = (start + timedelta(seconds=1)).isoformat()
    earlier = await cli_run(database_url, tmp_path, "export", "--until", until)
    assert len(earlier.stdout.splitlines()) == 2
    of_org = await cli_run(database_url, tmp_path, "export", "--organization-id", str(organization))
    assert [json.loads(line)["organization_id"] for line in of_org.stdout.splitlines()] == [str(organization)]
    naive = await cli_run(database_url, tmp_path, "export", "--since", "2026-01-01T00:00:00")
    assert naive.exit_code == 2
    assert "needs a time zone" in naive.stderr
