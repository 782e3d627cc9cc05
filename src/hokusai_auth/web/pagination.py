"""Paginated listings answer a plain JSON list (what existing clients expect) and say where the next page is
in headers: ``X-Next-Cursor`` and an RFC 8288 ``Link: <...>; rel="next"``."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from hokusai_auth import times
from hokusai_auth.errors import invalid_field


def set_next_page(request: Request, response: Response, next_cursor: str | None) -> None:
    if next_cursor is None:
        return
    response.headers["X-Next-Cursor"] = next_cursor
    url = request.url.include_query_params(cursor=next_cursor)
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    """Where a newest-first listing on (created_at, id) goes on: opaque to clients."""
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, row_id = raw.split("|", 1)
        # A naive or far-off time is no cursor of ours: it would fail (500) when bound to the query.
        return times.parse(created), uuid.UUID(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_field("cursor", "not a cursor returned by this endpoint", "query") from None
