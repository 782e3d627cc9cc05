"""The one in-process harness: ASGI apps served by uvicorn on real sockets, as `hokusai-auth serve` serves them.

``serving`` runs the server in the test's own event loop (async tests); ``serving_in_thread`` runs the same server
in a thread of its own, for blocking callers (the sync SDK client, the CLI). Both yield the base URL. Real
processes (the installed commands, MLflow) are started by ``tests/e2e/helpers.py`` instead.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

import uvicorn

from hokusai_auth.web.server import GuardedHttpToolsProtocol
from tests.conftest import free_port

Lifespan = Literal["auto", "on", "off"]
START_TIMEOUT_S = 30.0


def _server(
    app: Any, lifespan: Lifespan, http: type[GuardedHttpToolsProtocol], port: int | None = None
) -> tuple[uvicorn.Server, str]:
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan=lifespan, log_config=None, access_log=False, http=http,
        proxy_headers=False,  # as `hokusai-auth serve`: the app resolves client addresses against TRUSTED_PROXIES
    )  # fmt: skip
    return uvicorn.Server(config), f"http://127.0.0.1:{port}"


@asynccontextmanager
async def serving(
    app: Any,
    *,
    lifespan: Lifespan = "on",
    http: type[GuardedHttpToolsProtocol] = GuardedHttpToolsProtocol,
    port: int | None = None,
) -> AsyncIterator[str]:
    """Serve ``app`` in this event loop until the block ends, on the protocol `hokusai-auth serve` uses; yields
    its base URL. ``port``: one chosen beforehand (an app whose PUBLIC_URL names it); a free one otherwise."""
    server, url = _server(app, lifespan, http, port)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("server stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        await task


@contextmanager
def serving_in_thread(
    app: Any, *, lifespan: Lifespan = "on", http: type[GuardedHttpToolsProtocol] = GuardedHttpToolsProtocol
) -> Iterator[str]:
    """``serving`` for blocking callers: the same server, with its own event loop in a background thread."""
    server, url = _server(app, lifespan, http)
    thread = threading.Thread(target=server.run, name=f"uvicorn {url}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the test server on {url} did not start")
        time.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)


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
