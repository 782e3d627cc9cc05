"""The CPU cost of verifying an access token offline: python bench/tokens_offline.py [--tokens 3000] [--rounds 3]

hokusai.tokens.TokenVerifier after its first JWKS fetch (served over real HTTP by a local server), per token:

- ``verify, new token``: a token it has not seen: parse, header checks, Ed25519, claims, the answer object;
- ``verify, seen token``: the same token again (a client's next request): remembered, claims checked again;
- ``_jws.verify + check_claims``: the shared core without the SDK's memory or answer object;
- ``... with a no-op key``: the same with a key whose verify does nothing: the cost of everything but Ed25519;

next to the baseline measured in the same run on the same bytes: a bare Ed25519 verification of the token's
signing input (cryptography/OpenSSL), the floor any verifier pays for a token it has not seen. Each variant is
timed call by call, interleaved token by token, so a noisy neighbour on a shared VM hits every variant alike.
The target was ≤ 100 µs per verify + check. Nothing here is pass/fail.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.backends.openssl.backend import backend as openssl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hokusai import _jws
from hokusai.tokens import TokenVerifier

ISSUER = "https://auth.hokusai.example"


@contextmanager
def jwks_server(jwks: dict[str, Any]) -> Iterator[tuple[str, list[int]]]:
    """A JWKS on a local socket; yields its URL and a one-item list counting the requests it answered."""
    body = json.dumps(jwks).encode()
    served = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{_jws.JWKS_PATH}", served
    finally:
        httpd.shutdown()
        httpd.server_close()


def tokens(count: int, key: Ed25519PrivateKey, kid: str) -> list[str]:
    """Tokens shaped like the service's (same claims, a wallet address, UUIDs), each different."""
    now = int(time.time())

    def claims() -> dict[str, Any]:
        return {
            "iss": ISSUER, "sub": str(uuid.uuid4()), "aud": _jws.AUDIENCE, "iat": now, "nbf": now, "exp": now + 900,
            "jti": _jws.b64encode(os.urandom(16)), "sid": str(uuid.uuid4()),
            "wallet_address": "0x52908400098527886E0F7030069857D2E4169EE7",
        }  # fmt: skip

    return [_jws.sign(claims(), kid, key) for _ in range(count)]


class NoOpKey:
    """Stands for the public key and checks nothing: what remains is the cost of our own code."""

    def verify(self, signature: bytes, data: bytes) -> None:
        return None


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - started) / 1000


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"mean {statistics.fmean(samples):7.1f} µs   p50 {p50:7.1f} µs   p99 {p99:7.1f} µs"


def check(token: str, keys: dict[str, Ed25519PublicKey]) -> None:
    _jws.check_claims(_jws.verify(token, keys), issuer=ISSUER, now=time.time())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=3000, help="tokens per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    key = Ed25519PrivateKey.generate()
    public_key = key.public_key()
    kid = _jws.thumbprint(public_key)
    keys = {kid: public_key}
    no_op_keys = cast(dict[str, Ed25519PublicKey], {kid: NoOpKey()})
    load = os.getloadavg()
    print(f"Python {platform.python_version()}, {openssl.openssl_version_text()}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip

    with jwks_server({"keys": [_jws.to_jwk(kid, public_key)]}) as (url, served):
        verifier = TokenVerifier(ISSUER, jwks_url=url)
        verifier.verify(tokens(1, key, kid)[0])  # the first fetch, not measured
        seen = tokens(1, key, kid)[0]
        verifier.verify(seen)
        names = ("Ed25519 verify alone (baseline)", "verify, new token", "verify, seen token",
                 "_jws.verify + check_claims", "_jws.verify + check_claims, no-op key")  # fmt: skip
        results: dict[str, list[float]] = {name: [] for name in names}
        for round_number in range(args.rounds):
            batch = tokens(args.tokens, key, kid)
            inputs = [(token.rpartition(".")[0].encode(), _jws.b64decode(token.rpartition(".")[2])) for token in batch]
            gc.collect()
            for token, (signing_input, signature) in zip(batch, inputs, strict=True):
                results[names[0]].append(timed(lambda: public_key.verify(signature, signing_input)))  # noqa: B023
                results[names[1]].append(timed(lambda: verifier.verify(token)))  # noqa: B023
                results[names[2]].append(timed(lambda: verifier.verify(seen)))
                results[names[3]].append(timed(lambda: check(token, keys)))  # noqa: B023
                results[names[4]].append(timed(lambda: check(token, no_op_keys)))  # noqa: B023
            print(f"round {round_number + 1}: {args.tokens} tokens")
        verifier.close()
        print(f"JWKS requests: {served[0]} (the first verification's fetch only)")

    print()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {describe(results[name])}")

    def p50(name: str) -> float:
        return sorted(results[name])[len(results[name]) // 2]

    over_mean = statistics.fmean(results[names[1]]) - statistics.fmean(results[names[0]])
    print(f"\nnew token over the baseline: {over_mean:+.1f} µs mean, {p50(names[1]) - p50(names[0]):+.1f} µs p50 "
          "(parse, checks, claims, the answer object, the memory)")  # fmt: skip
    print(f"seen token: {statistics.fmean(results[names[2]]):.1f} µs mean, {p50(names[2]):.1f} µs p50: no signature "
          "check (remembered by its text)")  # fmt: skip
    print(f"everything but Ed25519: {statistics.fmean(results[names[4]]):.1f} µs mean, {p50(names[4]):.1f} µs p50")


if __name__ == "__main__":
    main()
