"""What every request must satisfy before any part of the service or the gateway looks at it.

These are checks on the request's shape, made once, at the edge, for every route that exists now or later:
- headers together at most ``MAX_HEADER_BYTES`` (431): the server also caps them while reading (web/server.py);
- no NUL character in the path, the query string or a header value (400): PostgreSQL cannot store NUL in text,
  and a NUL that got in once stopped every usage write; no HTTP client needs one;
- no credential given twice (400): see web/credentials.py.
Body text (JSON strings) is checked by the request models (schemas.RequestModel).
"""

from __future__ import annotations

from dataclasses import dataclass

from hokusai._vocabulary import ErrorCode
from hokusai_auth.limits import MAX_HEADER_BYTES
from hokusai_auth.web.asgi import Scope
from hokusai_auth.web.credentials import duplicated_place


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: str
    detail: str

    def body(self) -> dict[str, str]:
        return {"detail": self.detail, "code": self.code}


def _nul_in(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


def check_request(scope: Scope) -> Refusal | None:
    """The first rule ``scope`` breaks, or None."""
    size = 0
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value) + 4  # ": " and CRLF, as on the wire
        if b"\x00" in value:
            return Refusal(
                400, ErrorCode.INVALID_REQUEST, f"The {name.decode('latin-1')} header contains a NUL character"
            )
    if size > MAX_HEADER_BYTES:
        return Refusal(431, ErrorCode.HEADERS_TOO_LARGE, f"Request headers too large: at most {MAX_HEADER_BYTES} bytes")
    if "\x00" in scope.get("path", "") or _nul_in(scope.get("raw_path") or b""):
        return Refusal(400, ErrorCode.INVALID_REQUEST, "The request path contains a NUL character")
    if _nul_in(scope.get("query_string", b"")):
        return Refusal(400, ErrorCode.INVALID_REQUEST, "The query string contains a NUL character")
    duplicated = duplicated_place(scope)
    if duplicated is not None:
        return Refusal(
            400, ErrorCode.DUPLICATE_CREDENTIAL, f"{duplicated} given more than once: send each credential exactly once"
        )
    return None
