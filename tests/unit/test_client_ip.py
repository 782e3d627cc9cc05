import ipaddress

from hokusai_auth.web.client_ip import client_ip, forwarded_proto

PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)


def scope(peer: str, forwarded: str | None = None, proto: str | None = None) -> dict[str, object]:
    headers = []
    if forwarded is not None:
        headers.append((b"x-forwarded-for", forwarded.encode()))
    if proto is not None:
        headers.append((b"x-forwarded-proto", proto.encode()))
    return {"client": (peer, 1234), "headers": headers, "scheme": "http"}


def test_forwarded_for_is_ignored_from_untrusted_peers() -> None:
    assert str(client_ip(scope("198.51.100.7", "1.2.3.4"), PROXIES)) == "198.51.100.7"
    assert str(client_ip(scope("10.0.0.2", "1.2.3.4"), ())) == "10.0.0.2"


def test_forwarded_for_from_a_trusted_proxy_names_the_client() -> None:
    assert str(client_ip(scope("10.0.0.2", "1.2.3.4"), PROXIES)) == "1.2.3.4"


def test_a_client_cannot_spoof_through_a_trusted_proxy() -> None:
    # The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the real address.
    assert str(client_ip(scope("10.0.0.2", "6.6.6.6, 1.2.3.4"), PROXIES)) == "1.2.3.4"


def test_chains_of_trusted_proxies_are_skipped() -> None:
    assert str(client_ip(scope("10.0.0.2", "1.2.3.4, 10.0.0.9"), PROXIES)) == "1.2.3.4"


def test_malformed_forwarded_for_falls_back_to_the_peer() -> None:
    assert str(client_ip(scope("10.0.0.2", "not-an-ip"), PROXIES)) == "10.0.0.2"


def test_forwarded_proto_only_from_trusted_proxies() -> None:
    assert forwarded_proto(scope("10.0.0.2", proto="https"), PROXIES) == "https"
    assert forwarded_proto(scope("198.51.100.7", proto="https"), PROXIES) == "http"
