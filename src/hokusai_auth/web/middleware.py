"""The envelope every request comes in and every response goes out in, for the service and the gateway alike:
the request checks (web/request_checks.py), the body limit, the request id, security headers, metrics and one
JSON access-log line.

One pure-ASGI layer rather than several: it runs on every request, including the validation hot path, and each
extra middleware layer costs a coroutine and a wrapper around ``send``.
The access log records the path without its query string: ``?api_key=`` is one of the places a key may travel.
Responses the gateway relays from an upstream (``scope["hokusai.proxied"]``) keep the upstream's own headers:
a CSP of ``default-src 'none'`` would break MLflow's UI.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable

from hokusai._keys import TAG_ALTERNATION
from hokusai._vocabulary import ErrorCode
from hokusai_auth.limits import REQUEST_ID_MAX
from hokusai_auth.ops.metrics import Metrics
from hokusai_auth.web.access_log import AccessLog
from hokusai_auth.web.asgi import (
    WHOLE_RESPONSE,
    ASGIApp,
    BodyMeter,
    BodyTooLarge,
    Message,
    Receive,
    Scope,
    Send,
    WholeResponse,
    send_json,
)
from hokusai_auth.web.client_ip import IPNetwork, client_ip, forwarded_proto
from hokusai_auth.web.request_checks import Head, Refusal, read_head

_errors = logging.getLogger("hokusai_auth.errors")
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,%d}$" % REQUEST_ID_MAX)
_KEY_PREFIX = re.compile(rf"hk_(?:{TAG_ALTERNATION})_".encode())

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
STRICT_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The interactive API docs (web/api_docs.py) load Swagger UI / ReDoc from this service, never from another host.
# Scripts only from 'self' (the pages have no inline script). Styles keep 'unsafe-inline' for ReDoc alone: it
# injects <style> elements at run time (styled-components) and fails to render without it (measured in headless
# Chromium; Swagger UI renders with style-src 'self'). ReDoc's search runs in a worker made from a blob: URL.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    b"connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
# The dashboard's pages (dashboard/, and the public pages mailed links open): scripts and styles from this
# service only, no inline script or style (its charts are SVG styled by class), forms that post back to it only.
DASHBOARD_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DASHBOARD_PATHS = ("/dashboard", "/register", "/registration/verify", "/claim", "/invitations/accept")
_CSP_BY_KIND = {"api": STRICT_CSP, "docs": DOCS_CSP, "dashboard": DASHBOARD_CSP}
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
# What the envelope adds to an answer of ours, by (kind of page, over TLS?): built once, not per request.
_OWN_HEADERS = {
    (kind, tls): (*SECURITY_HEADERS, (b"content-security-policy", csp)) + ((HSTS,) if tls else ())
    for kind, csp in _CSP_BY_KIND.items()
    for tls in (False, True)
}


def _kind_of(path: str) -> str:
    if path.startswith(DOCS_PATHS):
        return "docs"
    return "dashboard" if path.startswith(DASHBOARD_PATHS) else "api"


# Request ids need to be unique, not secret: a random per-process prefix and a counter cost far less than uuid4.
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):010x}"


def _no_limit(_scope: Scope) -> int | None:
    return None


class EnvelopeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        trusted_proxies: tuple[IPNetwork, ...],
        access_log_enabled: bool = True,
        body_limit: Callable[[Scope], int | None] = _no_limit,
        logger_name: str = "hokusai_auth.access",
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.proxies = trusted_proxies
        self.log_enabled = access_log_enabled
        self.body_limit = body_limit  # bytes a request to this scope may send; None: no ceiling (proxied uploads)
        self.access_log = AccessLog(logger_name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        head = read_head(scope)
        request_id = _sane_request_id(head.request_id) or new_request_id()
        scope["hokusai.request_id"] = request_id
        path: str = scope["path"]
        own = _OWN_HEADERS[_kind_of(path), forwarded_proto(scope, self.proxies) == "https"]
        status_holder = [500, 0, 0]  # status sent; whether the response has started; whether it is complete
        # With the server's whole-response extension, a start is held until its body: a body that ends the answer
        # goes out with it in one write (web/whole_response.py); a streamed one sends the start first.
        whole: WholeResponse | None = scope.get("extensions", {}).get(WHOLE_RESPONSE)
        held: list[Message] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0], status_holder[1] = message["status"], 1
                added: tuple[tuple[bytes, bytes], ...] = ((b"x-request-id", request_id.encode()),)
                if not scope.get("hokusai.proxied"):
                    added = own + added
                # A copy: the app may send the same message again.
                message = {**message, "headers": [*message.get("headers", ()), *added]}
                if whole is not None:
                    held.append(message)
                    return
            elif message["type"] == "http.response.body":
                final = not message.get("more_body", False)
                status_holder[2] = int(final)
                if held:
                    start = held.pop()
                    if final and whole is not None:
                        await whole(start["status"], start["headers"], message.get("body", b""))
                        return
                    await send(start)
            await send(message)

        refusal, receive = self._admit(scope, head, receive)
        try:
            if refusal is not None:
                await send_json(send_wrapper, refusal.status, refusal.body())
            else:
                await self.app(scope, receive, send_wrapper)
        except BodyTooLarge as exc:  # raised by BodyMeter through a layer that does not handle it itself
            if status_holder[1]:
                raise
            await send_json(send_wrapper, 413, {"detail": exc.detail, "code": ErrorCode.PAYLOAD_TOO_LARGE})
        except Exception:
            # Answered here rather than by the framework's outermost error layer, so that a 500 too carries the
            # request id (the way to find its log line) and the security headers. The framework answers (and
            # logs) its own errors, then raises them again for the server's sake: a complete answer ends it here.
            if status_holder[2]:
                return
            if status_holder[1]:
                raise
            _errors.exception("unhandled error", extra={"request_id": request_id, "path": path})
            body = {"detail": "Internal server error", "code": ErrorCode.INTERNAL_ERROR, "request_id": request_id}
            await send_json(send_wrapper, 500, body)
        finally:
            self._record(scope, request_id, status_holder[0], time.perf_counter() - started)

    def _admit(self, scope: Scope, head: Head, receive: Receive) -> tuple[Refusal | None, Receive]:
        """The request checks and the body limit: a refusal to answer at once, and the receive to read with."""
        limit = self.body_limit(scope)
        if head.refusal is None and limit is not None:
            if head.content_length is not None:  # the server delivers exactly this many bytes: nothing to count
                if head.content_length > limit:
                    return Refusal(413, ErrorCode.PAYLOAD_TOO_LARGE, BodyTooLarge(limit).detail), receive
            elif head.chunked:
                receive = BodyMeter(receive, limit)  # a chunked body may be as long as it likes: count it
            # Neither: an HTTP/1.1 request without Content-Length or Transfer-Encoding has no body.
        return head.refusal, receive

    def _record(self, scope: Scope, request_id: str, status: int, elapsed: float) -> None:
        """Metrics and the access-log line of one request (both plain appends: see ops/metrics.py, access_log.py)."""
        template = scope.get("hokusai.route") or getattr(scope.get("route"), "path", None) or "<unmatched>"
        self.metrics.observe(scope["method"], template, status, elapsed)
        if self.log_enabled and self.access_log.enabled:
            if self.proxies:
                believed = client_ip(scope, self.proxies)
                address = str(believed) if believed else None
            else:  # the peer as the server gave it: no parsing and formatting an address per request
                peer = scope.get("client")
                address = peer[0] if peer else None
            self.access_log.record(
                time.time(),
                request_id,
                scope["method"],
                scope["path"],  # never the query string
                template,
                status,
                elapsed,
                address,
            )


def _sane_request_id(value: bytes | None) -> str | None:
    """The caller's request id when it is sane: it is echoed, logged and stored with audit events, so it must
    fit its column and must not be a key (a key pasted in the wrong header would otherwise be stored)."""
    if value is None or not _REQUEST_ID.match(value) or _KEY_PREFIX.search(value):
        return None
    return value.decode("ascii")
