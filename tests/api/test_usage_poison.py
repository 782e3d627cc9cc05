"""One usage record the database refuses must never block the others, and an outage must never lose any.

Poisoned records enter through the in-process ``UsageService.record(...)`` (the gateway's path), which checks
ranges but not every value a database refuses: a NUL character (PostgreSQL's text cannot hold it), a lone UTF-16
surrogate (no UTF-8 encoding: both drivers refuse to send it), an integer beyond 64 bits. Real databases refuse
them; nothing is mocked. The outage is real too: PostgreSQL behind a TCP relay that is closed, SQLite in a
directory that is moved away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from hokusai_auth.clock import FrozenClock
from hokusai_auth.db.engine import Database, open_database
from hokusai_auth.usage import repository
from hokusai_auth.usage.flush import is_data_error
from hokusai_auth.usage.service import UsageService
from tests.api.usage_helpers import AS_SERVICE, MID_JANUARY, execute, new_key, record_ok, start, stats
from tests.conftest import Service, ServiceFactory, free_port

JANUARY = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
GOOD: dict[str, Any] = {"service_id": "prediction", "endpoint": "/predict", "status_code": 200, "response_time_ms": 5}
SECRET = "s3cr3t-content"  # put in every poisoned value: it must never reach a log line

# name -> (fields of the poisoned record, backends that refuse it)
POISONS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "nul_endpoint": ({"endpoint": f"/{SECRET}\x00x"}, ("postgresql",)),
    "nul_idempotency_key": ({"idempotency_key": f"{SECRET}\x00"}, ("postgresql",)),
    "lone_surrogate_endpoint": ({"endpoint": f"/{SECRET}\ud800"}, ("sqlite", "postgresql")),
    "lone_surrogate_idempotency_key": ({"idempotency_key": f"{SECRET}\udfff"}, ("sqlite", "postgresql")),
}
# Only the combinations where the database really refuses the value: SQLite stores NUL, so it is no poison there.
POISON_CASES = [(backend, name) for name, (_, refused_by) in sorted(POISONS.items()) for backend in refused_by]


async def totals(database: Database, key_id: uuid.UUID) -> tuple[int, int]:
    """(requests, predictions) stored for the key in January 2026."""
    async with database.reader() as session:
        found = await repository.totals(session, key_id, *JANUARY)
    return found.requests, found.predictions


def poison_for(name: str) -> dict[str, Any]:
    return {**GOOD, **POISONS[name][0]}


@pytest.mark.parametrize(("backend", "poison"), POISON_CASES)  # overrides the backend fixture's own parameters
async def test_a_refused_record_is_set_aside_and_the_rest_lands(
    make_service: ServiceFactory,
    database_url: str,
    backend: str,
    poison: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    svc = await start(make_service, database_url)
    usage = svc.runtime.usage
    bad_key, other_key = await new_key(svc), await new_key(svc)
    bad = poison_for(poison)
    # Good records of the same key and of another, with and without idempotency keys, around the poisoned one.
    await record_ok(svc, bad_key, predictions_count=1)
    await record_ok(svc, bad_key, predictions_count=2, idempotency_key="good-1")
    assert usage.record(uuid.UUID(bad_key), **bad) is True
    await record_ok(svc, other_key, predictions_count=4, endpoint="/other")
    await record_ok(svc, other_key, predictions_count=8, idempotency_key="good-2")

    with caplog.at_level(logging.WARNING, logger="hokusai_auth.usage"):
        assert await usage.flush() == 4
    assert usage.flusher.set_aside == 1
    assert usage.flusher.failures == 0
    assert usage.buffer.records == 0, "nothing left to block later flushes"
    assert (await stats(svc, bad_key))["total_predictions"] == 3
    assert (await stats(svc, other_key))["total_predictions"] == 12

    warnings = [record.getMessage() for record in caplog.records if record.name == "hokusai_auth.usage"]
    assert len(warnings) == 1
    assert f"set aside 1 usage records of key {bad_key}" in warnings[0]
    assert SECRET not in caplog.text, "the refused record's content is never logged"

    # Later records flow as before; the poisoned one is gone for good.
    await record_ok(svc, bad_key, predictions_count=16)
    assert await usage.flush() == 1
    assert (await stats(svc, bad_key))["total_predictions"] == 19
    assert usage.flusher.set_aside == 1
    metrics = (await svc.client.get("/metrics", headers=svc.admin)).text
    assert "hokusai_usage_records_set_aside 1.0" in metrics


async def test_many_poisoned_records_among_many_good_ones(svc_poison: Service, backend: str) -> None:
    """Bisection finds every refused part among many; every good record lands exactly once."""
    usage = svc_poison.runtime.usage
    keys = [uuid.UUID(await new_key(svc_poison)) for _ in range(3)]
    poison = {**GOOD, "endpoint": f"/{SECRET}\ud800"}
    refused = 0
    for index in range(300):
        key = keys[index % 3]
        if index % 37 == 0:
            assert usage.record(key, **{**poison, "endpoint": f"{poison['endpoint']}{index}"})
            refused += 1
        idempotency = {"idempotency_key": f"i{index}"} if index % 2 else {}
        assert usage.record(key, **{**GOOD, "endpoint": f"/e{index % 7}", "predictions_count": 1, **idempotency})
    assert await usage.flush() == 300
    assert usage.flusher.set_aside == refused == 9
    for key in keys:
        assert (await stats(svc_poison, str(key)))["total_predictions"] == 100


async def test_a_split_write_is_still_counted_exactly_once(svc_poison: Service) -> None:
    """The batch ids commit with the records that landed: writing the same batches again (an unknown commit
    outcome) counts nothing twice and sets nothing aside twice."""
    usage = svc_poison.runtime.usage
    key_id = await new_key(svc_poison)
    await record_ok(svc_poison, key_id, predictions_count=5)
    await record_ok(svc_poison, key_id, predictions_count=7, idempotency_key="once")
    usage.record(uuid.UUID(key_id), **{**GOOD, "endpoint": f"/{SECRET}\ud800", "predictions_count": 100})
    batches = usage.buffer.take()
    assert len(await usage.flusher._write(batches)) == 1
    assert await usage.flusher._write(batches) == [], "already claimed: nothing written or refused again"
    body = await stats(svc_poison, key_id)
    assert (body["total_requests"], body["total_predictions"]) == (2, 12)


@pytest.fixture
async def svc_poison(make_service: ServiceFactory, database_url: str) -> Service:
    return await start(make_service, database_url)


# ------------------------------------------------------------------------------------------------ outages


class Relay:
    """A TCP relay to PostgreSQL on a port of its own: closing it is the database becoming unreachable (refused
    connections, and the pooled ones cut)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))

    @property
    def is_up(self) -> bool:
        return self._server is not None

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None


@dataclass
class Outage:
    """Makes the database unreachable and reachable again, for real."""

    url: str
    relay: Relay | None = None
    directory: Path | None = None

    async def down(self, database: Database) -> None:
        if self.relay is not None:
            await self.relay.down()
        if self.directory is not None:
            self.directory.rename(self.directory.with_name("moved-away"))
            await database.dispose()  # pooled SQLite connections keep the moved file open: close them

    async def up(self) -> None:
        if self.relay is not None:
            await self.relay.up()
        if self.directory is not None:
            self.directory.with_name("moved-away").rename(self.directory)


@pytest.fixture
async def outage(backend: str, database_url: str, tmp_path: Path) -> AsyncIterator[Outage]:
    """The test's database, reachable, and the means to cut it off (restored and closed afterwards)."""
    if backend == "postgresql":
        url = make_url(database_url)
        relay = Relay(url.host or "127.0.0.1", url.port or 5432)
        await relay.up()
        yield Outage(url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False), relay=relay)
        if relay.is_up:
            await relay.down()
        return
    directory = tmp_path / "data"
    directory.mkdir()
    path = directory / "hokusai.db"
    shutil.copy(make_url(database_url).database or "", path)
    yield Outage(f"sqlite:///{path}", directory=directory)


async def test_an_unreachable_database_sets_nothing_aside(outage: Outage) -> None:
    database = open_database(outage.url)
    usage = UsageService(database=database, clock=FrozenClock(MID_JANUARY), flush_interval=60, negative_ttl=1)
    key = uuid.uuid4()
    try:
        usage.record(key, **GOOD, predictions_count=1)
        assert await usage.flush() == 1  # a pooled connection now exists

        await outage.down(database)
        usage.record(key, **{**GOOD, "endpoint": f"/{SECRET}\ud800"}, predictions_count=100)
        usage.record(key, **GOOD, predictions_count=2, idempotency_key="kept")
        for attempt in (1, 2):
            assert await usage.flush() == 0
            assert usage.flusher.failures == attempt
            assert usage.flusher.set_aside == 0, "an outage is not a refused value: nothing is dropped"
            assert usage.buffer.records == 2
            assert usage.gauges()["usage_records_set_aside"] == 0.0

        await outage.up()
        assert await usage.flush() == 1
        assert usage.flusher.set_aside == 1, "reachable again, the poisoned record is found and set aside"
        assert usage.buffer.records == 0
        assert await totals(database, key) == (2, 3)
    finally:
        await database.dispose()


async def test_errors_are_told_apart_by_class_and_sqlstate(outage: Outage, backend: str) -> None:
    """What ``is_data_error`` sees from the real drivers: a refused value is data; refused connections, a missing
    directory or table are not."""
    database = open_database(outage.url)
    errors: dict[str, BaseException] = {}
    try:
        for name, sql_value in (("surrogate", "/p\ud800"), ("nul", "/p\x00")):
            try:
                async with database.writer.begin() as session:
                    await repository.claim_idempotency_keys(session, [(uuid.uuid4(), sql_value)], MID_JANUARY)
            except Exception as exc:
                errors[name] = exc
        await outage.down(database)
        try:
            async with database.writer.begin() as session:
                await repository.claim_batches(session, [uuid.uuid4()], MID_JANUARY)
        except Exception as exc:
            errors["unreachable"] = exc
    finally:
        await outage.up()
        await database.dispose()
    assert is_data_error(errors["surrogate"])
    assert ("nul" in errors) == (backend == "postgresql")
    if backend == "postgresql":
        assert is_data_error(errors["nul"])
    assert not is_data_error(errors["unreachable"])


async def test_a_missing_table_keeps_everything_and_sets_nothing_aside(svc_poison: Service, database_url: str) -> None:
    """A schema problem fails every record alike: it is not the records' fault, so none is dropped."""
    usage = svc_poison.runtime.usage
    key_id = await new_key(svc_poison)
    usage.record(uuid.UUID(key_id), **{**GOOD, "endpoint": f"/{SECRET}\ud800"})
    await record_ok(svc_poison, key_id, predictions_count=3)
    await execute(database_url, "ALTER TABLE usage_rollups RENAME TO usage_rollups_away")
    try:
        assert await usage.flush() == 0
        assert (usage.flusher.set_aside, usage.buffer.records) == (0, 2)
    finally:
        await execute(database_url, "ALTER TABLE usage_rollups_away RENAME TO usage_rollups")
    assert await usage.flush() == 1
    assert usage.flusher.set_aside == 1
    response = await svc_poison.client.get(f"/api/v1/usage/{key_id}/stats", headers=AS_SERVICE)
    assert response.json()["total_predictions"] == 3
