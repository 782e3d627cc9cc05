"""Serving POST /api/v1/keys/validate without the web framework in the way.

Every request to every Hokusai service pays for one validation, so this endpoint must cost about what an empty
endpoint costs. FastAPI's routing, dependency solving and response machinery cost several times more than the
validation itself (see bench/validation.py), so this pure-ASGI layer answers the validate paths directly. It sits
inside the envelope middleware, so the answers still carry the request id, security headers, metrics and access
log line, and the envelope's request checks and body limit apply; everything else passes through untouched.
"""

from __future__ import annotations

from hokusai._vocabulary import ErrorCode
from hokusai_auth.validation.endpoint import answer
from hokusai_auth.web.asgi import ASGIApp, BodyTooLarge, ClientGone, Receive, Scope, Send, read_body, send_json

VALIDATE_PATHS = frozenset({"/api/v1/keys/validate", "/api/v1/auth/keys/validate"})


class ValidateFastPath:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in VALIDATE_PATHS:
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
        status, content, headers = await answer(scope["app"].state.runtime, scope, body)
        await send_json(send, status, content, headers)
