"""The envelope's one-write answers (the server's whole-response extension) against a real server: the bytes a
client reads are what two ASGI messages would have given, for every kind of answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from hokusai_auth.ops.metrics import Metrics
from hokusai_auth.web.asgi import WHOLE_RESPONSE, Receive, Scope, Send, send_json
from hokusai_auth.web.middleware import EnvelopeMiddleware
from tests.servers import open_connection, serving

SEEN_EXTENSION: list[bool] = []


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    SEEN_EXTENSION.append(WHOLE_RESPONSE in scope.get("extensions", {}))
    path = scope["path"]
    if path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/close":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"connection", b"close")]})
        await send({"type": "http.response.body", "body": b"bye"})
    else:
        await send_json(send, 200, {"path": path})


@pytest.fixture
async def url() -> AsyncIterator[str]:
    SEEN_EXTENSION.clear()
    enveloped = EnvelopeMiddleware(app, metrics=Metrics(), trusted_proxies=(), access_log_enabled=False)
    async with serving(enveloped, lifespan="off") as base:
        yield base


async def test_answers_read_the_same_whatever_their_shape(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        json_answer = await client.get("/json")
        assert json_answer.json() == {"path": "/json"}
        assert json_answer.headers["content-length"] == str(len(json_answer.content))
        assert json_answer.headers["x-content-type-options"] == "nosniff", "the envelope's headers are there"
        assert len(json_answer.headers.get_list("x-request-id")) == 1
        head = await client.head("/json")
        assert (head.status_code, head.content) == (200, b"")
        empty = await client.get("/empty")
        assert (empty.status_code, empty.content) == (204, b"")
        stream = await client.get("/stream")
        assert stream.text == "one two three"
        closing = await client.get("/close")
        assert (closing.text, closing.headers["connection"]) == ("bye", "close")
    assert all(SEEN_EXTENSION), "the server offered the extension to every request"


async def test_a_kept_alive_connection_takes_one_answer_after_another(url: str) -> None:
    reader, writer = await open_connection(url)
    for number in range(3):
        writer.write(f"GET /n{number} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        assert status == b"HTTP/1.1 200 OK\r\n"
        headers: dict[bytes, bytes] = {}
        while (line := await reader.readline()) != b"\r\n":
            name, _, value = line.rstrip(b"\r\n").partition(b": ")
            assert name not in headers, f"header {name!r} sent twice"
            headers[name] = value
        body = await reader.readexactly(int(headers[b"content-length"]))
        assert body == f'{{"path":"/n{number}"}}'.encode()
    writer.close()
