"""Serving ASGI apps on real sockets inside a test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from hokusai_auth.web.server import GuardedHttpToolsProtocol
from tests.conftest import free_port


@asynccontextmanager
async def serving(
    app: Any, *, lifespan: str = "on", http: type[GuardedHttpToolsProtocol] = GuardedHttpToolsProtocol
) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on a free port until the block ends, on the protocol `hokusai-auth serve` uses;
    yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan=lifespan, log_config=None, access_log=False, http=http,
        proxy_headers=False,  # as `hokusai-auth serve`: the app resolves client addresses against TRUSTED_PROXIES
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("server stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def open_connection(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw TCP connection to the server at ``base_url``."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    return await asyncio.open_connection(parts.hostname, parts.port)


async def raw_request(base_url: str, request_line_target: bytes, headers: dict[str, str] | None = None) -> int:
    """Send one GET with ``request_line_target`` exactly as given (no client-side path normalization, which
    httpx applies to dot segments); the status answered."""
    reader, writer = await open_connection(base_url)
    host = urlsplit(base_url).netloc.encode()
    lines = [b"GET " + request_line_target + b" HTTP/1.1", b"Host: " + host, b"Connection: close"]
    lines += [f"{name}: {value}".encode() for name, value in (headers or {}).items()]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    return int(status_line.split()[1])
