"""Every operation of the API, fuzzed from its own OpenAPI schema on SQLite and on PostgreSQL.

What must hold for every generated request (valid, invalid, hostile): no 5xx except a 503 with Retry-After; a
response whose status the schema documents matches the documented schema and media type; every error body is
``{"detail": str, "code": str, ...}`` without internals; the response envelope (request id, security headers) is
there. Any error the service logs while answering counts too, even behind a 2xx.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

import httpx
import pytest

from tests.conftest import Service
from tests.fuzz.conftest import FuzzBudget
from tests.fuzz.harness import Exchange, Failure, Findings, LogCollector, describe_exception
from tests.fuzz.machine import PEERS, Driver, run
from tests.fuzz.schema import load


async def _clients(stack: AsyncExitStack, service: Service) -> dict[str, httpx.AsyncClient]:
    clients = {}
    for name, peer in PEERS.items():
        # raise_app_exceptions off: an unhandled error is then the 500 a real server answers (its cause is in the
        # log record the service writes), not an exception thrown into the fuzzer.
        transport = httpx.ASGITransport(app=service.app, client=peer, raise_app_exceptions=False)
        clients[name] = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://testserver")
        )
    return clients


async def test_fuzz_every_operation(backend: str, fuzz_service: Service, fuzz_budget: FuzzBudget) -> None:
    published = (await fuzz_service.client.get("/openapi.json")).json()
    fuzz = load(published)
    findings = Findings()
    logs = LogCollector()
    async with AsyncExitStack() as stack:
        clients = await _clients(stack, fuzz_service)
        with logs.attached():
            exchange = Exchange(asyncio.get_running_loop(), clients, logs, findings)
            driver = Driver(fuzz, exchange)
            started = time.perf_counter()
            # Hypothesis blocks while it generates; the app must keep running on this loop meanwhile.
            await asyncio.to_thread(
                run,
                driver,
                fuzz,
                fuzz_budget.requests,
                derandomize=fuzz_budget.derandomize,
                seed_value=fuzz_budget.seed,
            )
            # Buffered usage is written in the background: write the rest now, so a write the database refuses
            # shows (as a logged error, or raised here).
            try:
                await fuzz_service.runtime.usage.flush()
            except Exception as exc:
                findings.add(Failure("background_error", "usage flush", 0, describe_exception(exc)), "-")
            for record in logs.unclaimed():
                findings.add(Failure("background_error", "(background)", 0, LogCollector.summary(record)), "-")
            elapsed = time.perf_counter() - started

    sent = sum(sum(counter.values()) for counter in findings.statuses.values())
    seed_note = f", seed {fuzz_budget.seed}" if fuzz_budget.seed is not None else " (derandomized)"
    summary = f"{backend}: {sent} requests in {elapsed:.1f}s{seed_note}\n{findings.coverage()}"
    print(summary)
    for op_id, operation in driver.operations.items():
        if not findings.statuses.get(operation.label):
            findings.add(Failure("coverage", operation.label, 0, f"{op_id} was never requested"), "-")
    created = sum(findings.statuses[op.label][201] for op_id, op in driver.operations.items() if "create" in op_id)
    if not created:
        findings.add(Failure("coverage", "POST /api/v1/keys", 0, "no key was ever created: the walk was hollow"), "-")
    if findings.examples:
        pytest.fail(f"{len(findings.examples)} distinct failures\n{findings.report()}\n\n{summary}", pytrace=False)
