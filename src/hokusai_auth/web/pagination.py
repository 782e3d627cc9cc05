"""Paginated listings answer a plain JSON list (what existing clients expect) and say where the next page is
in headers: ``X-Next-Cursor`` and an RFC 8288 ``Link: <...>; rel="next"``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


def set_next_page(request: Request, response: Response, next_cursor: str | None) -> None:
    if next_cursor is None:
        return
    response.headers["X-Next-Cursor"] = next_cursor
    url = request.url.include_query_params(cursor=next_cursor)
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
