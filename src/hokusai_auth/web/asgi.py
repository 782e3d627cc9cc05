"""The ASGI toolkit every pure-ASGI layer here uses: the types, header and query access, bounded body reading and
JSON answers. One spelling of each, so the service, the gateway and the embedded middleware read a request the
same way (the 2025-07 incident came from two components reading the same request differently).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any
from urllib.parse import unquote_plus

import orjson
from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RawHeaders = list[tuple[bytes, bytes]]

JSON_CONTENT_TYPE = (b"content-type", b"application/json")
# An extension of the server's (web/server.py, web/whole_response.py): ``scope["extensions"][WHOLE_RESPONSE]``,
# when present, answers a request with status, headers and body in one write.
WHOLE_RESPONSE = "hokusai.whole_response"
WholeResponse = Callable[[int, Sequence[tuple[bytes, bytes]], bytes], Awaitable[None]]


def header_values(scope: Scope, name: bytes) -> list[bytes]:
    """Every value of header ``name`` (lower-case bytes), in the order received."""
    return [value for key, value in scope.get("headers", ()) if key == name]


def header(scope: Scope, name: bytes) -> str | None:
    """The one value of header ``name`` as text, or None. Callers reach this after the envelope refused requests
    that repeat a credential header, so "the one value" is well defined where it matters."""
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def query_component(raw: bytes) -> str:
    """One name or value of a query string, percent- and plus-decoded (UTF-8; undecodable bytes replaced)."""
    return unquote_plus(raw.decode("latin-1"), encoding="utf-8", errors="replace") if raw else ""


def query_values(query_string: bytes, name: str) -> list[str]:
    """Every value of query parameter ``name``, matched without regard to case (``?API_KEY=`` is ``?api_key=``:
    treating them differently let an upper-case key reach an upstream)."""
    wanted = name.lower()
    found = []
    for part in query_string.split(b"&"):
        raw_name, _, raw_value = part.partition(b"=")
        if query_component(raw_name).lower() == wanted:
            found.append(query_component(raw_value))
    return found


def json_response(status: int, body: Any, headers: Iterable[tuple[bytes, bytes]] = ()) -> tuple[Message, Message]:
    """The two ASGI messages of a JSON answer (``body`` is bytes already encoded, or anything orjson encodes)."""
    payload = body if isinstance(body, bytes) else orjson.dumps(body)
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [JSON_CONTENT_TYPE, (b"content-length", str(len(payload)).encode()), *headers],
    }
    return start, {"type": "http.response.body", "body": payload}


async def send_json(send: Send, status: int, body: Any, headers: Iterable[tuple[bytes, bytes]] = ()) -> int:
    """Answer with JSON; returns ``status`` so callers can record what they sent."""
    start, content = json_response(status, body, headers)
    await send(start)
    await send(content)
    return status


class ClientGone(Exception):
    """The client disconnected before its body arrived."""


class BodyTooLarge(HTTPException):
    """The body is larger than the limit that applies to this request. An HTTPException so that the web
    framework, which reads bodies inside its own error handling, passes it on as the 413 it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body too large: at most {limit} bytes are accepted here")
        self.limit = limit


def declared_length(scope: Scope) -> int | None:
    """The Content-Length the client declared (None when absent or not a number; the server already refused
    conflicting or malformed values)."""
    value = header(scope, b"content-length")
    if value is None or not value.isdigit():
        return None
    return int(value)


class BodyMeter:
    """Counts the body as the app reads it and refuses it past ``limit`` bytes.

    Wraps ``receive``: a chunked upload that grows beyond the limit is stopped at the limit, not after it was
    read whole. ``limit=None`` counts without a ceiling (the gateway's uploads)."""

    __slots__ = ("_receive", "limit", "received")

    def __init__(self, receive: Receive, limit: int | None) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.limit is not None and self.received > self.limit:
                raise BodyTooLarge(self.limit)
        return message


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes (BodyTooLarge beyond; ClientGone if the client left)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
