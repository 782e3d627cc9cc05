"""How many usage records per second the service ingests, and what a flush costs.

    python bench/usage_ingest.py [--records 200000] [--http-requests 5000] [--concurrency 32] [--database-url URL]

(a) in-process: ``UsageService.record`` (what the gateway calls per proxied request) into the buffer, then one
    flush of everything into the database; with and without idempotency keys.
(b) over HTTP: ``POST /api/v1/usage/{key_id}`` against ``hokusai-auth serve`` (one uvicorn worker) on this
    machine, from one asyncio client process; the server is then stopped gracefully and the stored count checked.

SQLite in a temporary directory unless --database-url names another database (its usage tables are emptied
first: use a scratch database). Not part of the test run; figures vary with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from hokusai_auth.clock import SystemClock
from hokusai_auth.db import migrate
from hokusai_auth.runtime import open_runtime
from hokusai_auth.settings import Settings

ADMIN_TOKEN = "bench-admin-token-" + "a" * 32
SERVICE_TOKEN = "bench-service-token-" + "b" * 32
SECRET_KEY = "bench-secret-key-" + "c" * 40
ENDPOINTS = ("/predict", "/predict/batch", "/models", "/models/{id}", "/experiments")
STATUSES = (200, 200, 200, 200, 201, 400, 404, 500)


def settings_for(database_url: str) -> Settings:
    return Settings(
        admin_tokens=ADMIN_TOKEN,
        secret_key=SECRET_KEY,
        service_tokens=SERVICE_TOKEN,
        database_url=database_url,
        bcrypt_rounds=4,
        access_log=False,
        usage_flush_interval=60,  # the benchmark flushes itself, so the timings are its own
    )


async def empty_usage_tables(database_url: str) -> None:
    async with open_runtime(settings_for(database_url)) as runtime, runtime.database.writer.begin() as session:
        for table in ("usage_rollups", "usage_idempotency_keys", "usage_flushes"):
            await session.execute(text(f"DELETE FROM {table}"))  # noqa: S608  fixed table names


async def in_process(database_url: str, records: int, keys: int, idempotent: bool) -> dict[str, float]:
    key_ids = [uuid.uuid4() for _ in range(keys)]
    async with open_runtime(settings_for(database_url), clock=SystemClock()) as runtime:
        usage = runtime.usage
        started = time.perf_counter()
        for index in range(records):
            usage.record(
                key_ids[index % keys],
                service_id="prediction" if index % 3 else "platform",
                endpoint=ENDPOINTS[index % len(ENDPOINTS)],
                status_code=STATUSES[index % len(STATUSES)],
                response_time_ms=index % 700,
                predictions_count=index % 4,
                compute_ms=index % 50,
                idempotency_key=f"req-{index}" if idempotent else None,
            )
        recorded = time.perf_counter() - started
        rows = len(
            {
                key
                for batch in usage.buffer.take()
                for key in (*batch.rollups, *(s.rollup for s in batch.samples.values()))
            }
        )
        started = time.perf_counter()
        written = await usage.flush()
        flushed = time.perf_counter() - started
        assert written == records, f"flush wrote {written} of {records}"
    return {"record_s": recorded, "flush_s": flushed, "rows": rows}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def over_http(database_url: str, data_dir: Path, requests: int, concurrency: int) -> dict[str, float]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKUSAI_")}
    env.update(
        HOKUSAI_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        ADMIN_TOKEN=ADMIN_TOKEN,
        SECRET_KEY=SECRET_KEY,
        SERVICE_TOKENS=SERVICE_TOKEN,
        BCRYPT_ROUNDS="4",
        ACCESS_LOG="false",
        LOG_LEVEL="WARNING",
    )
    command = [sys.executable, "-m", "hokusai_auth", "serve", "--port", str(port), "--no-migrate"]
    server = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for _ in range(300):  # up to 30 s for the server to answer
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the server did not start")
            created = await client.post(
                "/api/v1/keys",
                json={"name": "bench", "service_id": "prediction"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            key_id = created.json()["key_id"]
            headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}

            async def post(index: int) -> None:
                body: dict[str, Any] = {
                    "service_id": "prediction",
                    "endpoint": ENDPOINTS[index % len(ENDPOINTS)],
                    "status_code": STATUSES[index % len(STATUSES)],
                    "response_time_ms": index % 700,
                    "predictions_count": 1,
                    "idempotency_key": f"http-{index}",
                }
                response = await client.post(f"/api/v1/usage/{key_id}", json=body, headers=headers)
                assert response.status_code == 200, response.text

            async def health(_index: int) -> None:
                assert (await client.get("/health")).status_code == 200

            # /health (no I/O, no body) with the same client: the floor of this HTTP stack on this machine.
            health_s = await timed(health, requests, concurrency)
            elapsed = await timed(post, requests, concurrency)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # graceful: the service writes its buffer on the way out
        await asyncio.wait_for(server.wait(), timeout=60)
    async with open_runtime(settings_for(database_url)) as runtime:
        stored = await runtime.usage.predictions_in_month(uuid.UUID(key_id), runtime.clock.now())
    return {"elapsed_s": elapsed, "health_s": health_s, "stored": stored}


async def timed(call: Callable[[int], Awaitable[None]], requests: int, concurrency: int) -> float:
    """Seconds for ``requests`` calls, ``concurrency`` at a time."""
    indexes = iter(range(requests))

    async def worker() -> None:
        for index in indexes:
            await call(index)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000, help="in-process records per run")
    parser.add_argument("--keys", type=int, default=1_000, help="distinct API keys the in-process records use")
    parser.add_argument("--http-requests", type=int, default=5_000, help="POSTs in the HTTP run")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP requests")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hokusai-bench-") as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        await migrate.upgrade(database_url)
        await empty_usage_tables(database_url)
        backend = database_url.split(":", 1)[0]
        print(f"database: {backend}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")

        for idempotent in (False, True):
            result = await in_process(database_url, args.records, args.keys, idempotent)
            total = result["record_s"] + result["flush_s"]
            label = "with idempotency keys" if idempotent else "no idempotency keys"
            print(f"\n(a) in-process, {args.records:,} records over {args.keys:,} keys, {label}")
            print(f"    record() into the buffer : {args.records / result['record_s']:>12,.0f} records/s")
            print(
                f"    one flush                : {result['flush_s'] * 1000:>12,.1f} ms for {result['rows']:,.0f} "
                f"rollup rows ({result['flush_s'] * 1e6 / args.records:.2f} µs per record)"
            )
            print(f"    record + flush           : {args.records / total:>12,.0f} records/s")

        result = await over_http(database_url, Path(tmp), args.http_requests, args.concurrency)
        print(f"\n(b) over HTTP, {args.http_requests:,} POST /api/v1/usage/{{key_id}}, concurrency {args.concurrency}")
        print(f"    ingested                 : {args.http_requests / result['elapsed_s']:>12,.0f} records/s")
        print(
            f"    GET /health, same client : {args.http_requests / result['health_s']:>12,.0f} requests/s (the floor)"
        )
        print(f"    stored after shutdown    : {result['stored']:>12,.0f} of {args.http_requests:,} predictions")


if __name__ == "__main__":
    asyncio.run(main())
