"""The HTTP server protocol the service and the gateway run on: uvicorn's httptools protocol with the limits it
lacks against slow and oversized requests.

uvicorn closes idle keep-alive connections, but a connection that trickles its headers or its body a byte at a
time stays open for ever (300 such connections once held the service, 200 the gateway). This protocol:
- allows ``header_timeout_s`` from a connection's first moment, or a request's first byte, to the end of its
  headers (408, then close);
- refuses headers larger than ``max_header_bytes`` while they arrive (431, then close), so a 10 MB header is never
  buffered whole;
- requires a body to arrive at ``min_body_rate`` bytes/s on average once ``body_grace_s`` have passed (408, then
  close). Time during which the application is not reading (uvicorn paused the socket because the body waits
  unread, e.g. while the gateway's upstream is slow) does not count against the client.
The numbers are the defaults of well-known servers (Kestrel: 30 s headers, 240 bytes/s after 5 s), tightened for
headers, which no honest client sends slowly.

It also offers the whole-response extension (web/whole_response.py): a complete answer in one write.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hokusai._vocabulary import ErrorCode
from hokusai_auth.limits import MAX_HEADER_BYTES
from hokusai_auth.web.asgi import WHOLE_RESPONSE
from hokusai_auth.web.whole_response import write_whole

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout_s: float = 10.0
    max_header_bytes: int = MAX_HEADER_BYTES
    min_body_rate: float = 240.0  # bytes per second
    body_grace_s: float = 5.0
    tick_s: float = 1.0
    # After refusing, the write side is shut and input discarded this long before closing: closing a socket with
    # unread input makes the kernel send a reset, which can destroy the answer before the client reads it.
    linger_s: float = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = "headers"  # headers → body → app (until the response is complete) → headers ...
        self._phase_started = 0.0
        self._header_bytes = 0
        self._body_bytes = 0
        self._body_active_s = 0.0
        self._last_tick = 0.0
        self._ticker: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------------------------------- lifecycle

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._enter("headers")  # a connection that never sends a byte is timed too
        self._ticker = self.loop.call_later(self.tick_s, self._tick)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "closed":
            return  # lingering after a refusal: discard
        super().data_received(data)
        if self._phase == "headers" and self.parser is not None:
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(431, f"Request headers too large: at most {self.max_header_bytes} bytes")

    # ------------------------------------------------------------------------------------------- parser events

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._enter("headers")

    def on_headers_complete(self) -> None:
        self._enter("body")
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # not for an upgrade, which keeps the old cycle
            extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
            extensions[WHOLE_RESPONSE] = partial(write_whole, cycle)

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._enter("app")
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._phase == "app":
            self._enter("idle")  # uvicorn's keep-alive timeout takes over until the next request begins

    # ------------------------------------------------------------------------------------------- limits

    def _enter(self, phase: str) -> None:
        self._phase = phase
        self._phase_started = self._last_tick = self.loop.time()
        self._header_bytes = 0
        self._body_bytes = 0
        self._body_active_s = 0.0

    def _tick(self) -> None:
        now = self.loop.time()
        if self._phase == "headers" and now - self._phase_started > self.header_timeout_s:
            self._refuse(408, "Request headers were not received in time")
            return
        if self._phase == "body":
            if not self.flow.read_paused:
                self._body_active_s += now - self._last_tick
            if self._body_active_s > self.body_grace_s and self._body_bytes < self.min_body_rate * self._body_active_s:
                self._refuse(408, "Request body arrives too slowly")
                return
        self._last_tick = now
        self._ticker = self.loop.call_later(self.tick_s, self._tick)

    def _refuse(self, status: int, detail: str) -> None:
        """Answer ``status`` if no response has started, then close the connection."""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        # ``cycle`` is the last request whose headers completed: on a kept-alive connection still reading the next
        # request's headers, that is the previous (answered) request, and the new one deserves its own answer.
        if cycle is None or cycle.response_complete or not cycle.response_started:
            code = ErrorCode.REQUEST_TIMEOUT if status == 408 else ErrorCode.HEADERS_TOO_LARGE
            body = orjson.dumps({"detail": detail, "code": code})
            head = (
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
                % (status, _REASONS[status], len(body))
            )
            self.transport.write(head + body)
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False
            cycle.disconnected = True  # the application's next receive() says the client is gone
            cycle.message_event.set()
        self._phase = "closed"
        if self._ticker is not None:
            self._ticker.cancel()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._ticker = self.loop.call_later(self.linger_s, self.transport.close)
        else:
            self.transport.close()
