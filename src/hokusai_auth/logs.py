"""Logging on stderr: one JSON object per line, or, when stderr is a terminal, one readable line (LOG_FORMAT
overrides: ``json``, ``text``, ``auto``). Secrets never reach a log call in this code base; as a second line of
defence both formatters mask anything shaped like a Hokusai key and drop query strings from URLs (see redact.py).

The access log writes its lines itself, in batches (web/access_log.py); it asks ``text_lines()`` which shape to
write, so a process has one format."""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

from hokusai_auth.redact import redact

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}
LogFormat = Literal["auto", "json", "text"]
_text = False  # the choice configure() made, for the access log's own writer


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    fields = record.__dict__.items()
    return {name: value for name, value in fields if name not in _STANDARD and not name.startswith("_")}


def clock(at: float) -> str:
    """Local wall-clock time with milliseconds, as a readable line shows it."""
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at % 1 * 1000):03d}"


def short_name(logger: str) -> str:
    """``hokusai_auth.gateway.access`` → ``gateway.access``; a library's logger by its package (``uvicorn.error``,
    which logs uvicorn's ordinary start and stop lines, → ``uvicorn``)."""
    if logger.startswith("hokusai_auth."):
        return logger.removeprefix("hokusai_auth.")
    return logger.split(".", 1)[0]


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for name, value in _extras(record).items():
            entry[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """``07:18:42.063 INFO  uvicorn: Uvicorn running on ... key=value``: for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = "".join(
            f" {name}={redact(value) if isinstance(value, str) else value}" for name, value in _extras(record).items()
        )
        line = f"{clock(record.created)} {record.levelname:<5} {short_name(record.name)}: "
        # One record, one line: a message that spans lines (a migration's description, say) is joined, so every
        # line a reader (or grep) sees starts with the time and the level. Tracebacks alone keep their lines.
        line += " ".join(redact(record.getMessage()).split("\n")) + fields
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


def wants_text(choice: LogFormat, stream: TextIO) -> bool:
    if choice == "auto":
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty())
    return choice == "text"


def text_lines() -> bool:
    """Whether this process writes readable lines rather than JSON (as the last configure() decided)."""
    return _text


def configure(level: str = "INFO", log_format: LogFormat = "auto") -> None:
    global _text  # noqa: PLW0603 - one choice per process, read by the access log's batch writer
    _text = wants_text(log_format, sys.stderr)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter() if _text else JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's access log prints the full request line, query string (and so ?api_key=) included: never on.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request it sends with its full URL at INFO: the gateway's upstream URLs carry the
    # client's query string. Our own lines say what matters; theirs only from WARNING.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
