"""Helpers shared by the benchmarks: scratch databases, server processes, wrk."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "bench-admin-token-" + secrets.token_hex(16)
SECRET_KEY = "bench-secret-key-" + secrets.token_hex(24)
PG_URL = os.environ.get("HOKUSAI_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HOKUSAI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_env(**extra: str) -> dict[str, str]:
    names = ("ADMIN_TOKEN", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BCRYPT_ROUNDS", "CACHE_TTL")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKUSAI_") and k not in names}
    env.update(ADMIN_TOKEN=ADMIN_TOKEN, SECRET_KEY=SECRET_KEY, LOG_LEVEL="WARNING", **extra)
    return env


@contextmanager
def server(args: list[str], env: dict[str, str], port: int, *, cwd: Path = ROOT) -> Iterator[str]:
    """A server process (python -m ...) on ``port``; yields its base URL once GET /health answers."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"server {args[:2]} did not start:\n{tail}") from None
                time.sleep(0.2)
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def create_keys(url: str, count: int, **fields: Any) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    body = {"name": "bench", "service_id": "platform", "rate_limit_per_hour": 100_000, **fields}
    keys = []
    for _ in range(count):
        response = httpx.post(f"{url}/api/v1/keys", json=body, headers=headers, timeout=30)
        response.raise_for_status()
        keys.append(response.json())
    return keys


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, script: Path, *, seconds: int, connections: int, threads: int = 1) -> WrkResult:
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is needed for the HTTP benchmark: apt-get install wrk")
    out = subprocess.run(
        [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        requests=requests,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


async def scratch_postgres() -> str | None:
    """A new database on the benchmark's PostgreSQL server (dropped by drop_postgres), or None if unreachable."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"hokusai_bench_{secrets.token_hex(4)}"
    base = make_url(PG_URL)
    try:
        connection = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(False), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return base.set(database=name).render_as_string(hide_password=False)


async def drop_postgres(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    connection = await asyncpg.connect(make_url(PG_URL).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def redis_reachable() -> bool:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


async def drop_redis_prefix(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def run(coro: Any) -> Any:
    return asyncio.run(coro)
