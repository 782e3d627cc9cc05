"""What every request must satisfy before any part of the service or the gateway looks at it.

These are checks on the request's shape, made once, at the edge, for every route that exists now or later:
- headers together at most ``MAX_HEADER_BYTES`` (431): the server also caps them while reading (web/server.py);
- no NUL character in the path, the query string or a header value (400): PostgreSQL cannot store NUL in text,
  and a NUL that got in once stopped every usage write; no HTTP client needs one;
- no credential given twice (400): see web/credentials.py (whose rule this applies, the headers in the same pass).
Body text (JSON strings) is checked by the request models (schemas.RequestModel).
"""

from __future__ import annotations

from dataclasses import dataclass

from hokusai._vocabulary import ErrorCode
from hokusai_auth.limits import MAX_HEADER_BYTES
from hokusai_auth.web.asgi import Scope
from hokusai_auth.web.credentials import CREDENTIAL_HEADERS, duplicated_query_key


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: str
    detail: str

    def body(self) -> dict[str, str]:
        return {"detail": self.detail, "code": self.code}


@dataclass(slots=True)
class Head:
    """What the envelope needs from a request's head, read in one pass over its headers: every request comes
    through here, so the headers are walked once, not once per question."""

    refusal: Refusal | None = None
    request_id: bytes | None = None  # the caller's X-Request-ID, unchecked
    content_length: int | None = None
    chunked: bool = False


def _nul_in(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


def read_head(scope: Scope) -> Head:
    """The head's facts and the first rule it breaks (``refusal``), if any."""
    head = Head()
    size = 0
    credentials: set[bytes] = set()
    # The whole head is read even after a rule is broken: the refusal still echoes the caller's X-Request-ID,
    # wherever it came in the headers. The first rule broken is the one answered.
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value) + 4  # ": " and CRLF, as on the wire
        if b"\x00" in value:
            head.refusal = head.refusal or Refusal(
                400, ErrorCode.INVALID_REQUEST, f"The {name.decode('latin-1')} header contains a NUL character"
            )
            continue
        if name in CREDENTIAL_HEADERS:
            if name in credentials:
                head.refusal = head.refusal or _duplicate(CREDENTIAL_HEADERS[name])
            credentials.add(name)
        elif name == b"x-request-id":
            head.request_id = value
        elif name == b"content-length":
            head.content_length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            head.chunked = b"chunked" in value.lower()
    head.refusal = head.refusal or _refusal(scope, size)
    return head


def _refusal(scope: Scope, header_bytes: int) -> Refusal | None:
    if header_bytes > MAX_HEADER_BYTES:
        return Refusal(431, ErrorCode.HEADERS_TOO_LARGE, f"Request headers too large: at most {MAX_HEADER_BYTES} bytes")
    if "\x00" in scope.get("path", "") or _nul_in(scope.get("raw_path") or b""):
        return Refusal(400, ErrorCode.INVALID_REQUEST, "The request path contains a NUL character")
    query = scope.get("query_string", b"")
    if query:
        if _nul_in(query):
            return Refusal(400, ErrorCode.INVALID_REQUEST, "The query string contains a NUL character")
        duplicated = duplicated_query_key(query)
        if duplicated is not None:
            return _duplicate(duplicated)
    return None


def _duplicate(place: str) -> Refusal:
    return Refusal(
        400, ErrorCode.DUPLICATE_CREDENTIAL, f"{place} given more than once: send each credential exactly once"
    )
