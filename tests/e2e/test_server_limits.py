"""Slow and oversized requests against the real server protocol (uvicorn + web/server.py), service and gateway.

Each test speaks raw HTTP over a socket, the way a slowloris attacker does. The protocol's limits are shortened
here (a subclass) so the tests take a second, not a minute; the logic is the one `hokusai-auth serve` runs.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hokusai_auth.app import create_app
from hokusai_auth.gateway.app import GatewayApp
from hokusai_auth.gateway.config import GatewayConfig
from hokusai_auth.web.server import GuardedHttpToolsProtocol
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.gateway.upstream import EchoUpstream
from tests.servers import open_connection, serving

# Generous: the limits below are a fraction of a second; this only stops a broken test from hanging.
GIVE_UP_S = 15


class QuickLimits(GuardedHttpToolsProtocol):
    header_timeout_s = 0.6
    min_body_rate = 200.0
    body_grace_s = 0.6
    tick_s = 0.1


@dataclass
class Target:
    url: str
    write_path: str  # a route that reads its body once the credential is accepted
    credential: str


@pytest.fixture(params=["service", "gateway"])
async def server(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Target]:
    path = tmp_path / "db.sqlite"
    shutil.copy(sqlite_template, path)
    settings = make_settings(f"sqlite:///{path}")
    service = create_app(settings)
    async with serving(service, http=QuickLimits) as url:
        if request.param == "service":
            yield Target(url, "/api/v1/keys", ADMIN_TOKEN)
            return
        async with httpx.AsyncClient(base_url=url) as client:
            created = await client.post(
                "/api/v1/keys",
                json={"name": "k", "service_id": "platform"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
        async with serving(EchoUpstream()) as upstream:
            gateway = GatewayApp(GatewayConfig(mlflow_upstream=upstream), settings=settings)
            async with serving(gateway, http=QuickLimits) as gateway_url:
                yield Target(gateway_url, "/api/2.0/mlflow/runs/create", created.json()["api_key"])


async def _trickle(writer: asyncio.StreamWriter, data: bytes, reader: asyncio.StreamReader) -> bytes:
    """Send ``data`` a byte every 50 ms until the server ends the connection; what it answered."""
    answer = asyncio.create_task(reader.read())  # reading all along: the answer arrives before the close
    for byte in data:
        if answer.done():
            break
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            break
        await asyncio.sleep(0.05)
    return await asyncio.wait_for(answer, GIVE_UP_S)


async def _until_closed(action: Awaitable[bytes]) -> bytes:
    return await asyncio.wait_for(action, GIVE_UP_S)


async def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(server: Target) -> None:
    reader, writer = await open_connection(server.url)
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 400 + b"\r\n\r\n"
    answer = await _until_closed(_trickle(writer, request, reader))
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b'"code":"request_timeout"' in answer
    writer.close()


async def test_a_connection_that_never_speaks_is_closed(server: Target) -> None:
    reader, writer = await open_connection(server.url)
    answer = await _until_closed(reader.read())
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    writer.close()


async def test_a_body_sent_a_byte_at_a_time_is_cut_off_with_408(server: Target) -> None:
    reader, writer = await open_connection(server.url)
    head = (
        f"POST {server.write_path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.credential}\r\n"
        "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    ).encode()
    writer.write(head)
    await writer.drain()
    answer = await _until_closed(_trickle(writer, b"{" + b" " * 398 + b"}", reader))
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    writer.close()


async def test_huge_headers_are_refused_while_they_arrive(server: Target) -> None:
    reader, writer = await open_connection(server.url)
    answer_task = asyncio.create_task(reader.read())
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-API-Key: ")
    sent = 0
    try:
        while sent < 10 * 1024 * 1024 and not answer_task.done():
            writer.write(b"k" * 65536)
            await writer.drain()
            sent += 65536
    except ConnectionError:
        pass  # closed on us mid-stream: the point
    answer = await _until_closed(answer_task)
    assert sent < 10 * 1024 * 1024, "the server read the whole 10 MB header"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431"), answer[:80]
    writer.close()


async def test_ordinary_requests_on_a_kept_alive_connection_are_unaffected(server: Target) -> None:
    reader, writer = await open_connection(server.url)
    for _ in range(3):
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), GIVE_UP_S)
        assert status.startswith(b"HTTP/1.1 200"), status
        length = 0
        while (line := await reader.readline()) != b"\r\n":
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        await asyncio.sleep(0.8)  # idle longer than the header timeout between requests: keep-alive, not slow
    writer.close()


async def test_a_second_request_on_a_kept_alive_connection_gets_its_own_408(server: Target) -> None:
    reader, writer = await open_connection(server.url)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), GIVE_UP_S)
    assert status.startswith(b"HTTP/1.1 200")
    answer = await _trickle(writer, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 400, reader)
    assert b"HTTP/1.1 408" in answer, "the first answer's headers and body, then the second request's 408"
    writer.close()
