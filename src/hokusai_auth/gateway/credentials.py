"""The client's API key, wherever it put it, and the request with every client credential removed.

Accepted: ``Authorization: Bearer <key>`` (what MLflow sends for MLFLOW_TRACKING_TOKEN), ``Authorization: ApiKey
<key>``, ``Authorization: Basic`` with the key as password (MLFLOW_TRACKING_USERNAME/PASSWORD, browsers),
``X-API-Key`` and ``?api_key=``. Nothing the client sent as a credential, and no X-Hokusai-* header it made up,
reaches the upstream.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from urllib.parse import unquote_plus

from hokusai.keys import looks_like_key
from hokusai_auth.validation.extract import first_key

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer", b"trailers",
    b"transfer-encoding", b"upgrade",
})  # fmt: skip
CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key", b"cookie-api-key"})
SPOOFABLE_PREFIX = b"x-hokusai-"


def _from_basic(value: str) -> str | None:
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    for candidate in (password, user):
        if looks_like_key(candidate):
            return candidate
    return None


def find_key(headers: Iterable[tuple[bytes, bytes]], query_string: bytes) -> str | None:
    authorization = x_api_key = None
    for name, value in headers:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-api-key":
            x_api_key = value.decode("latin-1")
    basic = _from_basic(authorization) if authorization else None
    key, _ = first_key((basic, x_api_key, query_key(query_string)), authorization)
    return key


def query_key(query_string: bytes) -> str | None:
    for part in query_string.split(b"&"):
        name, _, value = part.partition(b"=")
        if unquote_plus(name.decode("latin-1")) == "api_key":
            return unquote_plus(value.decode("latin-1"))
    return None


def strip_query_key(query_string: bytes) -> bytes:
    """The query without ``api_key``, every other parameter byte for byte as the client sent it."""
    if not query_string:
        return b""
    kept = [
        part
        for part in query_string.split(b"&")
        if unquote_plus(part.partition(b"=")[0].decode("latin-1")) != "api_key"
    ]
    return b"&".join(kept)


def upstream_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The client's headers minus credentials, hop-by-hop headers (and those Connection names), Host and any
    X-Hokusai-* header (which only the gateway may set)."""
    headers = list(headers)
    named_by_connection = {
        token.strip().lower().encode()
        for name, value in headers
        if name == b"connection"
        for token in value.decode("latin-1").split(",")
    }
    return [
        (name, value)
        for name, value in headers
        if name not in HOP_BY_HOP
        and name not in CREDENTIAL_HEADERS
        and name not in named_by_connection
        and name != b"host"
        and not name.startswith(SPOOFABLE_PREFIX)
    ]
