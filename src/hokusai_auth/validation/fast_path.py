"""Serving POST /api/v1/keys/validate without the web framework in the way.

Every request to every Hokusai service pays for one validation, so this endpoint must cost about what an empty
endpoint costs. FastAPI's routing, dependency solving and response machinery cost several times more than the
validation itself (see bench/validation.py), so this pure-ASGI layer answers the validate paths directly. It sits
inside the envelope middleware, so the answers still carry the request id, security headers, metrics and access
log line; everything else passes through to the app untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hokusai_auth.validation.endpoint import Answer, answer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

VALIDATE_PATHS = frozenset({"/api/v1/keys/validate", "/api/v1/auth/keys/validate"})
_JSON = (b"content-type", b"application/json")
MAX_BODY = 64 * 1024  # a validate body is a few hundred bytes; anything this large is not one
_TOO_LARGE: Answer = (413, b'{"detail":"Request body too large","code":"payload_too_large"}', [])


class ValidateFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in VALIDATE_PATHS:
            await self.app(scope, receive, send)
            return
        scope["hokusai.route"] = scope["path"]  # no router ran: name the route for metrics and logs
        body = await _read_body(receive)
        if body is None:
            status, content, headers = _TOO_LARGE
        else:
            status, content, headers = await answer(scope["app"].state.runtime, scope, body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [_JSON, (b"content-length", str(len(content)).encode())]
                + [(name.encode(), value.encode()) for name, value in headers],
            }
        )
        await send({"type": "http.response.body", "body": content})


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
