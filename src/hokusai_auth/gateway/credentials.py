"""What of the client's request may reach the upstream.

Nothing the client sent as a credential (``Authorization``, ``X-API-Key``, ``?api_key=`` in any case, and any
header or query value shaped like a Hokusai key, whatever its name), no hop-by-hop header (nor those named by
``Connection``), no ``X-Hokusai-*`` header (only the gateway sets those) and no forwarding header: the upstream
must see only the gateway's own ``X-Forwarded-*`` and ``X-Request-ID``, or a client could choose the address and
request id the upstream logs and trusts. Nor any header that asks for another URL or method than the one the
gateway checked the key's scopes against (``X-HTTP-Method-Override``, ``X-Original-URL``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable

from hokusai._keys import KEY_PREFIX_PATTERN

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer", b"trailers",
    b"transfer-encoding", b"upgrade",
})  # fmt: skip
CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key"})
FORWARDING_HEADERS = frozenset({
    b"forwarded", b"x-real-ip", b"x-request-id", b"x-client-ip", b"true-client-ip", b"x-original-forwarded-for",
    # Headers some frameworks let override the URL or the method: the scope check judged this method and path.
    b"x-original-url", b"x-rewrite-url", b"x-http-method-override", b"x-http-method", b"x-method-override",
})  # fmt: skip
FORWARDING_PREFIX = b"x-forwarded-"
SPOOFABLE_PREFIX = b"x-hokusai-"


def upstream_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The client's headers that may be passed on (Host excluded: the gateway sets the upstream's)."""
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
        and name not in FORWARDING_HEADERS
        and name not in named_by_connection
        and name != b"host"
        and not name.startswith((SPOOFABLE_PREFIX, FORWARDING_PREFIX))
        and not KEY_PREFIX_PATTERN.search(value.decode("latin-1"))
    ]
