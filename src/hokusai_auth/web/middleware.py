"""The envelope every response goes out in: request id, security headers, one JSON access-log line, metrics.

One pure-ASGI layer rather than several: it runs on every request, including the validation hot path, and each
extra middleware layer costs a coroutine and a wrapper around ``send``.
The access log records the path without its query string: ``?api_key=`` is one of the places a key may travel.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hokusai_auth.ops.metrics import Metrics
from hokusai_auth.web.client_ip import IPNetwork, client_ip, forwarded_proto

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("hokusai_auth.access")
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
STRICT_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The interactive API docs load Swagger UI / ReDoc assets; they get a policy that allows exactly that.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    b"font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    b"connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")

# Request ids need to be unique, not secret: a random per-process prefix and a counter cost far less than uuid4.
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):010x}"


class EnvelopeMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, trusted_proxies: tuple[IPNetwork, ...], access_log_enabled: bool = True
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.proxies = trusted_proxies
        self.log_enabled = access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or new_request_id()
        scope["hokusai.request_id"] = request_id
        path: str = scope["path"]
        tls = forwarded_proto(scope, self.proxies) == "https"
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else STRICT_CSP
        status_holder = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = list(message.get("headers", ()))
                headers.extend(SECURITY_HEADERS)
                headers.append((b"content-security-policy", csp))
                headers.append((b"x-request-id", request_id.encode()))
                if tls:
                    headers.append(HSTS)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            template = scope.get("hokusai.route") or getattr(scope.get("route"), "path", None) or "<unmatched>"
            status = status_holder[0]
            self.metrics.observe(scope["method"], template, status, elapsed)
            if self.log_enabled and access_log.isEnabledFor(logging.INFO):
                address = client_ip(scope, self.proxies)
                access_log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": path,  # never the query string
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "client_ip": str(address) if address else None,
                    },
                )


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return value.decode("ascii") if _REQUEST_ID.match(value) else None
    return None
