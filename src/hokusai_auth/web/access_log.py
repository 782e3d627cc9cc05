"""One line per request, kept off the request path: JSON, or a readable line when the process logs text
(logs.text_lines(): stderr is a terminal, or LOG_FORMAT=text).

The logging module costs tens of microseconds a line (a LogRecord, a formatter walking every field through the
redaction regexes, a lock, a write and a flush), more than the validation it would describe. Here a request only
appends a tuple; the lines are formatted and written together, in one write, a fraction of a second later (or at
once when many are waiting, and at shutdown). The lines have the same shape as every other log line
(logs.JSONFormatter): ``ts, level, logger, msg`` and the request's fields.

Only the path can carry text a client chose freely (the query string is never recorded): it goes through the
same key masking as every log line. The other fields are bounded by construction (the request id is checked by
the envelope, the route is a template, the address is parsed).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from hokusai_auth import logs
from hokusai_auth.redact import mask_keys

FLUSH_AFTER_S = 0.25
FLUSH_AT = 2_000  # lines waiting: write at once, so memory stays bounded under any load
Entry = tuple[float, str, str, str, str, int, float, str | None]


def _stderr(data: bytes) -> None:
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()


class AccessLog:
    def __init__(self, logger_name: str, *, sink: Callable[[bytes], None] = _stderr) -> None:
        self.logger_name = logger_name
        self.sink = sink
        self._logger = logging.getLogger(logger_name)
        self._pending: list[Entry] = []
        self._scheduled = False

    @property
    def enabled(self) -> bool:
        """Whether lines are wanted (the logger's level, as configured)."""
        return self._logger.isEnabledFor(logging.INFO)

    def record(
        self,
        at: float,
        request_id: str,
        method: str,
        path: str,
        route: str,
        status: int,
        duration_s: float,
        client_ip: str | None,
    ) -> None:
        self._pending.append((at, request_id, method, path, route, status, duration_s, client_ip))
        if len(self._pending) >= FLUSH_AT:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self.flush)

    def flush(self) -> int:
        """Write every waiting line; how many."""
        self._scheduled = False
        pending, self._pending = self._pending, []
        if not pending:
            return 0
        line = self._text_line if logs.text_lines() else self._line  # chosen once a batch
        lines = [line(entry) for entry in pending]
        try:
            self.sink(b"".join(lines))
        except OSError:  # a closed or full stderr must not break serving
            return 0
        return len(lines)

    def _line(self, entry: Entry) -> bytes:
        at, request_id, method, path, route, status, duration_s, client_ip = entry
        record = {
            "ts": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": "info",
            "logger": self.logger_name,
            "msg": "request",
            "request_id": request_id,
            "method": method,
            "path": mask_keys(path),
            "route": route,
            "status": status,
            "duration_ms": round(duration_s * 1000, 3),
            "client_ip": client_ip,
        }
        return orjson.dumps(record) + b"\n"

    def _text_line(self, entry: Entry) -> bytes:
        at, request_id, method, path, _route, status, duration_s, client_ip = entry
        name = logs.short_name(self.logger_name)
        return (
            f"{logs.clock(at)} INFO  {name}: {method} {mask_keys(path)} {status} {duration_s * 1000:.1f} ms"
            f" client_ip={client_ip} request_id={request_id}\n"
        ).encode()
