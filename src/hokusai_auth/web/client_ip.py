"""Who is calling: the peer address, or the X-Forwarded-For client when (and only when) the peer is a trusted
proxy. Walking the header from the right and skipping trusted hops means a client cannot spoof its address by
sending its own X-Forwarded-For through a trusted proxy."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(value: str | None) -> IPAddress | None:
    if not value:
        return None
    return _parse(value.strip())


@functools.lru_cache(maxsize=4096)
def _parse(value: str) -> IPAddress | None:
    # Cached: the same peers (load balancers, sidecars) call again and again, and parsing costs microseconds.
    # A zone id (fe80::1%eth0) names an interface of the machine that wrote it: meaningless here, unbounded in
    # length, and never part of an allowlist match. The address is kept without it.
    try:
        return ipaddress.ip_address(value.partition("%")[0])
    except ValueError:
        return None


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in proxies if network.version == address.version)


def peer_ip(scope: dict[str, Any] | Any) -> IPAddress | None:
    client = scope.get("client")
    return parse_ip(client[0]) if client else None


def client_ip(scope: dict[str, Any] | Any, proxies: Sequence[IPNetwork]) -> IPAddress | None:
    peer = peer_ip(scope)
    if peer is None or not proxies or not _trusted(peer, proxies):
        return peer
    forwarded: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded.extend(part.strip() for part in value.decode("latin-1").split(","))
    for hop in reversed(forwarded):
        address = parse_ip(hop)
        if address is None:
            return peer  # a malformed hop: believe nothing before it
        if not _trusted(address, proxies):
            return address
    return peer


def forwarded_proto(scope: dict[str, Any] | Any, proxies: Sequence[IPNetwork]) -> str:
    """The scheme the client used: the connection's, or X-Forwarded-Proto from a trusted proxy."""
    scheme = str(scope.get("scheme", "http"))
    if not proxies:
        return scheme
    peer = peer_ip(scope)
    if peer is not None and _trusted(peer, proxies):
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-proto":
                proto: str = value.decode("latin-1").split(",")[0].strip().lower()
                return proto
    return scheme
