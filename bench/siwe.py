"""The CPU cost of a wallet sign-in's checks: python bench/siwe.py [--messages 2000] [--rounds 3]

Per sign-in: parse (the strict EIP-4361 reader), recover_signer (EIP-191 recovery with the form and low-s checks),
and both as the service runs them (parse + verify_signer); each timed call by call, interleaved message by message
so that a noisy neighbour on a shared VM hits every variant alike. Printed next to two baselines measured in the
same run: a bare SHA-256 of the message, and eth-account's recovery alone (no parse, no checks of ours), and next to
the pure-Python curve eth-keys falls back to without coincurve (on fewer messages: it is slow). The target is
parse + recover ≤ 5 ms per sign-in. Nothing here is pass/fail.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.backends.native.main import NativeECCBackend
from eth_keys.main import lazy_key_api

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hokusai_auth.siwe.message import SiweMessage, parse, render
from hokusai_auth.siwe.signature import recover_signer, verify_signer

Sample = tuple[str, str, bytes]  # text, signature as sent (0x hex), signature bytes


def signed_messages(count: int, signers: int = 20) -> list[Sample]:
    """Messages like the service's challenges, each signed by one of ``signers`` real keys."""
    accounts = [Account.create() for _ in range(signers)]
    issued = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    samples = []
    for index in range(count):
        account = accounts[index % signers]
        text = render(
            SiweMessage(
                scheme="https",
                domain="auth.hokusai.example",
                address=account.address,
                statement="Sign in to Hokusai with this wallet. This request will not trigger a transaction.",
                uri="https://auth.hokusai.example/auth/siwe",
                chain_id=1,
                nonce=f"{index:08d}Ab3dEf5hIj7lMn9pQr",
                issued_at=issued + timedelta(seconds=index),
                expiration_time=issued + timedelta(seconds=index + 300),
            )
        )
        signature = bytes(account.sign_message(encode_defunct(text=text)).signature)
        samples.append((text, "0x" + signature.hex(), signature))
    return samples


def sign_in(text: str, signature: str) -> str:
    """What the service checks of a sign-in, less the database: the message, then its signer."""
    return verify_signer(text, signature, parse(text).address)


@dataclass
class Timings:
    """Per call, in µs: wall-clock time, and the CPU time of this thread (which a busy neighbour does not inflate:
    on a shared VM the wall-clock p99 is mostly the scheduler)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def time(self, call: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
        call()
        self.cpu.append((time.thread_time_ns() - cpu) / 1000)
        self.wall.append((time.perf_counter_ns() - wall) / 1000)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def measure(samples: list[Sample], rounds: int) -> dict[str, Timings]:
    timings = {name: Timings() for name in ("sha256", "eth-account", "parse", "recover", "sign-in")}
    for _ in range(rounds):
        for text, signature, raw in samples:
            timings["sha256"].time(partial(hashlib.sha256, text.encode()))
            timings["eth-account"].time(partial(Account.recover_message, encode_defunct(text=text), signature=raw))
            timings["parse"].time(partial(parse, text))
            timings["recover"].time(partial(recover_signer, text, signature))
            timings["sign-in"].time(partial(sign_in, text, signature))
    return timings


def measure_native(samples: list[Sample]) -> Timings:
    """eth-account's recovery as it runs without coincurve. Account.set_key_backend does not reach recovery (the
    Signature it builds resolves its own backend), but eth-keys reads ECC_BACKEND_CLASS at every call."""
    timings = Timings()
    os.environ["ECC_BACKEND_CLASS"] = f"{NativeECCBackend.__module__}.{NativeECCBackend.__name__}"
    try:
        assert isinstance(lazy_key_api.backend, NativeECCBackend)
        for text, _, raw in samples:
            timings.time(partial(Account.recover_message, encode_defunct(text=text), signature=raw))
    finally:
        del os.environ["ECC_BACKEND_CLASS"]
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--native", type=int, default=50, help="messages recovered with the pure-Python curve")
    args = parser.parse_args()

    samples = signed_messages(args.messages)
    assert all(sign_in(text, signature) == parse(text).address for text, signature, _ in samples)
    measure(samples[:100], 1)  # warm-up: imports, caches, the CPU's clock
    timings = measure(samples, args.rounds)
    native = measure_native(samples[: args.native])
    sha = statistics.fmean(timings["sha256"].wall)
    alone = statistics.fmean(timings["eth-account"].wall)

    backend = type(lazy_key_api.backend).__name__
    size = statistics.fmean(len(text.encode()) for text, _, _ in samples)
    print(f"SIWE sign-in checks: {args.messages:,} messages ({size:.0f} bytes on average) × {args.rounds} rounds, "
          f"Python {platform.python_version()}, eth-keys backend: {backend}")  # fmt: skip
    print(f"  {'µs per call':<46} {'mean':>8} {'p50':>8} {'p99':>8} {'CPU mean':>9} {'CPU p99':>8} "
          f"{'× sha256':>9} {'× eth-account':>14}")  # fmt: skip
    rows = [
        ("baseline: SHA-256 of the message", timings["sha256"]),
        ("baseline: eth-account recovery alone", timings["eth-account"]),
        ("parse (EIP-4361, strict)", timings["parse"]),
        ("recover_signer (EIP-191, checked signature)", timings["recover"]),
        ("sign-in: parse + verify_signer", timings["sign-in"]),
        (f"eth-account on the pure-Python curve ({len(native.wall)})", native),
    ]
    for name, values in rows:
        mean = statistics.fmean(values.wall)
        print(f"  {name:<46} {mean:8.1f} {statistics.median(values.wall):8.1f} {_p99(values.wall):8.1f} "
              f"{statistics.fmean(values.cpu):9.1f} {_p99(values.cpu):8.1f} "
              f"{mean / sha:9.0f} {mean / alone:14.2f}")  # fmt: skip
    checks = timings["sign-in"]
    print(f"  a sign-in's checks: {statistics.fmean(checks.wall) / 1000:.2f} ms mean, "
          f"{_p99(checks.wall) / 1000:.2f} ms p99 wall-clock, {_p99(checks.cpu) / 1000:.2f} ms p99 CPU "
          f"(target ≤ 5 ms); coincurve makes recovery "
          f"{statistics.fmean(native.cpu) / statistics.fmean(timings['eth-account'].cpu):.0f}× faster "
          "than the pure-Python curve (CPU time)")  # fmt: skip


if __name__ == "__main__":
    main()
