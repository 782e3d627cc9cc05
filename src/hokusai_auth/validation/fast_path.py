"""Serving the validate endpoints (keys, access tokens) without the web framework in the way.

Every request to every Hokusai service pays for one validation, so these endpoints must cost about what an empty
endpoint costs. FastAPI's routing, dependency solving and response machinery cost several times more than the
validation itself (see bench/validation.py), so this pure-ASGI layer answers their POSTs directly. It sits inside
the envelope middleware, so the answers still carry the request id, security headers, metrics and access log line,
and the envelope's request checks and body limit apply; everything else passes through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from hokusai._vocabulary import ErrorCode
from hokusai_auth.web.asgi import ASGIApp, BodyTooLarge, ClientGone, Receive, Scope, Send, read_body, send_json

VALIDATE_PATHS = frozenset({"/api/v1/keys/validate", "/api/v1/auth/keys/validate"})
# The work of one endpoint on the request's scope and whole body: (status, JSON body, extra headers).
Handler = Callable[[Scope, bytes], Awaitable[tuple[int, bytes, list[tuple[bytes, bytes]]]]]


class FastPath:
    def __init__(self, app: ASGIApp, handlers: Mapping[str, Handler], *, max_body_bytes: int) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.handlers.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        scope["hokusai.route"] = scope["path"]  # no router ran: name the route for metrics and logs
        try:
            body = await read_body(receive, self.max_body_bytes)
        except BodyTooLarge as exc:
            await send_json(send, 413, {"detail": exc.detail, "code": ErrorCode.PAYLOAD_TOO_LARGE})
            return
        except ClientGone:
            return
        status, content, headers = await handler(scope, body)
        await send_json(send, status, content, headers)
