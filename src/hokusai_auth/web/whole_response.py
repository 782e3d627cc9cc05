"""Writing a complete response in one go: status line, headers and body in a single write.

An ASGI answer is two messages, and uvicorn turns them into two writes (two system calls) after walking every
header through two regular expressions in Python. For a validation, whose answer is a few hundred bytes with a
dozen headers, that was a large share of the whole request's cost. When the server offers this extension
(``scope["extensions"][WHOLE_RESPONSE]``, put there by web/server.py) the envelope hands it the start and the
final body together; anything else (streams, servers without it, test transports) uses the two messages.

The checks uvicorn makes are kept: no control characters in header values nor separators in names (one search
over all of them), a body that matches its Content-Length, no body for HEAD, 1xx, 204 and 304, keep-alive as the
request asked, and the connection's flow control.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

_BAD_NAME = re.compile(rb'[\x00-\x1F\x7F()<>@,;:\[\]={} \t\\"]')
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0A-\x1F\x7F]")
_NO_BODY = frozenset({204, 304})


def _head(cycle: Any, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> bytes:
    """Status line and headers (lower-cased names; Content-Length and Connection as uvicorn would send them)."""
    all_headers = [*cycle.default_headers, *headers]
    if _BAD_NAME.search(b"!".join(name for name, _ in all_headers)):
        raise RuntimeError("Invalid HTTP header name.")
    if _BAD_VALUE.search(b"\t".join(value for _, value in all_headers)):
        raise RuntimeError("Invalid HTTP header value.")
    content = [STATUS_LINE[status]]
    declared = None
    closing = False
    for raw_name, value in all_headers:
        name = raw_name.lower()
        if name == b"content-length":
            declared = int(value)
        elif name == b"connection" and b"close" in value.lower():
            cycle.keep_alive = False
            closing = True
        content += (name, b": ", value, b"\r\n")
    if declared is None and not _bodiless(cycle, status):
        content.append(b"content-length: %d\r\n" % len(body))
    elif declared is not None and declared != len(body) and cycle.scope["method"] != "HEAD":
        raise RuntimeError("Response content does not match its Content-Length")
    if not cycle.keep_alive and not closing:
        content.append(b"connection: close\r\n")
    content.append(b"\r\n")
    return b"".join(content)


def _bodiless(cycle: Any, status: int) -> bool:
    return bool(cycle.scope["method"] == "HEAD" or status < 200 or status in _NO_BODY)


async def write_whole(cycle: Any, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> None:
    """Answer the request of ``cycle`` (uvicorn's RequestResponseCycle) completely, in one write."""
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected:
        return
    if cycle.response_started:
        raise RuntimeError("a response was already started for this request")
    head = _head(cycle, status, headers, body)
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    cycle.transport.write(head if _bodiless(cycle, status) else head + body)
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()
