"""Access-token validation against API-key validation: python bench/tokens.py [--only http,inprocess,profile]

(a) HTTP: throughput and p50/p99 of warm POST /api/v1/tokens/validate (an access token as Authorization: Bearer)
    next to warm POST /api/v1/keys/validate (a key the same way), on one server process (``hokusai-auth serve``:
    uvicorn, one worker), measured in alternating rounds with wrk. The target: tokens within 10 % of keys'
    throughput.
(b) in-process, µs per warm call: ``runtime.token_checker.check(token)`` next to ``runtime.validator.validate``, and
    what a token check is made of: the Ed25519 verification every check would pay without the verified-token
    cache (``_jws.verify``), a hit of that cache (``_jws.VerifiedTokens``), the claims check, the session lookup.
(c) profile: cProfile of warm token checks next to warm key validations, the functions that take the most time.
Every figure is printed next to a baseline measured in the same run. Nothing here is pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import inspect
import io
import itertools
import platform
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, create_keys, free_port, median, server, service_env, wrk
from bench.validation import _WRK_VALIDATE, CTX, _noop, _per_call_us, new_key, scratch_sqlite, settings
from hokusai import _jws
from hokusai_auth.db import migrate
from hokusai_auth.runtime import Runtime, open_runtime
from hokusai_auth.sessions.verification import TokenRefusal
from hokusai_auth.signing.access_tokens import AccessTokens
from hokusai_auth.validation.state import CheckRequest

KEYS_PATH = "/api/v1/keys/validate"
TOKENS_PATH = "/api/v1/tokens/validate"
_WRK_TOKENS = _WRK_VALIDATE.replace(KEYS_PATH, TOKENS_PATH)  # the same script, the same header, another path
KEYS, TOKENS = "keys/validate", "tokens/validate"
REMEMBERED = inspect.signature(AccessTokens).parameters["remembered"].default  # the verified-token cache's size
MANY_TOKENS = REMEMBERED + 1000


def _signature(account: Any, message: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()


def sign_in_over_http(url: str, count: int) -> list[str]:
    """Access tokens of ``count`` new wallets, each signed in through the challenge and verify endpoints."""
    tokens = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(count):
            account = Account.create()
            issued = client.post("/auth/siwe/challenge", json={"wallet_address": account.address})
            issued.raise_for_status()
            message = issued.json()["message"]
            answer = client.post(
                "/auth/siwe/verify", json={"message": message, "signature": _signature(account, message)}
            )
            answer.raise_for_status()
            tokens.append(answer.json()["access_token"])
    return tokens


async def sign_in_in_process(runtime: Runtime) -> str:
    account = Account.create()
    challenge = await runtime.sign_in.challenge(account.address, None, CTX.client_ip)
    pair, _ = await runtime.sign_in.verify(challenge.message, _signature(account, challenge.message), CTX)
    return pair.access_token


# ------------------------------------------------------------------------------------------------ (a) HTTP


def bench_http(rounds: int, seconds: int, connections: int, credentials: int = 20) -> None:
    with tempfile.TemporaryDirectory() as directory:
        database = f"sqlite:///{directory}/tokens.db"
        asyncio.run(migrate.upgrade(database))
        scripts = Path(directory)
        port = free_port()
        env = service_env(DATABASE_URL=database, BCRYPT_ROUNDS="4")
        with server(["hokusai_auth", "serve", "--port", str(port), "--no-migrate"], env, port) as url:
            keys = [created["api_key"] for created in create_keys(url, credentials, burst=100_000)]
            tokens = sign_in_over_http(url, credentials)
            (scripts / "keys.lua").write_text(_WRK_VALIDATE % ", ".join(f'"{key}"' for key in keys))
            (scripts / "tokens.lua").write_text(_WRK_TOKENS % ", ".join(f'"{token}"' for token in tokens))
            plan = [(KEYS, scripts / "keys.lua"), (TOKENS, scripts / "tokens.lua")]
            results: dict[str, list[Any]] = {name: [] for name, _ in plan}
            for _, script in plan:  # warm-up: caches (keys, sessions, verified tokens), connections, CPU frequency
                wrk(url, script, seconds=2, connections=connections)
            for index in range(rounds):
                for name, script in plan if index % 2 == 0 else plan[::-1]:  # neither always goes first
                    results[name].append(wrk(url, script, seconds=seconds, connections=connections))
    print(
        f"(a) HTTP, one `hokusai-auth serve` process (uvicorn, 1 worker, SQLite), wrk -t1 -c{connections}, "
        f"{rounds} alternating rounds of {seconds} s (medians), {credentials} keys / {credentials} tokens:"
    )
    keys_rps = median([r.rps for r in results[KEYS]])
    keys_p50 = median([r.p50_ms for r in results[KEYS]])
    keys_p99 = median([r.p99_ms for r in results[KEYS]])
    for name, runs in results.items():
        rps, p50, p99 = (
            median([r.rps for r in runs]),
            median([r.p50_ms for r in runs]),
            median([r.p99_ms for r in runs]),
        )
        bad = sum(r.non_2xx + r.errors for r in runs)
        total = sum(r.requests for r in runs)
        versus = ""
        if name == TOKENS:
            versus = (
                f"  vs keys: throughput {rps / keys_rps:.2f}×, p50 {p50 / keys_p50:.2f}×, p99 {p99 / keys_p99:.2f}×"
            )
        spread = f"(rounds {min(r.rps for r in runs):,.0f}–{max(r.rps for r in runs):,.0f})"
        print(
            f"    {name:<16} {rps:8,.0f} req/s {spread}  p50 {p50:5.2f} ms  p99 {p99:6.2f} ms"
            f"  non-2xx {bad:,} of {total:,}{versus}"
        )
    print("    target: tokens/validate ≥ 0.90× keys/validate's throughput")


# ------------------------------------------------------------------------------------------------ (b) in-process


Call = Callable[[], Awaitable[object]]


async def _timed(call: Call, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return _per_call_us(started, calls)


def _sync(function: Callable[[], object]) -> Call:
    async def call() -> object:
        return function()

    return call


async def bench_in_process(calls: int = 10_000, rounds: int = 6) -> None:
    """Rounds alternate every variant and the medians are printed: one long timing on a shared VM mostly measures
    the neighbours."""
    with tempfile.TemporaryDirectory() as directory:
        url = await scratch_sqlite(directory)
        async with open_runtime(settings(url, bcrypt_rounds=4, cache_ttl=3600)) as runtime:
            key = await new_key(runtime, burst=100_000)
            token = await sign_in_in_process(runtime)
            request = CheckRequest()
            checker, validator = runtime.token_checker, runtime.validator
            assert (await validator.validate(key, request)).valid  # cold: loads and caches
            holder = await checker.check(token)  # cold: verifies, reads the session
            assert not isinstance(holder, TokenRefusal), holder
            keys = runtime.signing_keys.verification_keys()
            verified = _jws.VerifiedTokens()
            verified.verify(token, keys)
            claims = _jws.verify(token, keys)
            issuer = runtime.settings.public_url
            now = runtime.clock.now().timestamp()
            session_id = uuid.UUID(claims["sid"])
            states = runtime.session_states
            reads = states.reads

            # Tokens of the same session that differ only in jti: more distinct tokens than the verified-token
            # cache holds (AccessTokens' ``remembered``), presented in turn, as many live clients would.
            kid, private_key = runtime.signing_keys.current
            many = [_jws.sign({**claims, "jti": uuid.uuid4().hex}, kid, private_key) for _ in range(MANY_TOKENS)]
            turn = itertools.cycle(many)

            async def token_check() -> object:
                return await checker.check(token)

            async def many_token_check() -> object:
                return await checker.check(next(turn))

            async def key_check() -> object:
                return await validator.validate(key, request)

            async def session_lookup() -> object:
                return await states.status(session_id)

            variants: dict[str, Call] = {
                "empty coroutine": _noop,
                "key: validator.validate": key_check,
                "token: token_checker.check": token_check,
                "  Ed25519 verify (_jws.verify)": _sync(lambda: _jws.verify(token, keys)),
                "  verified-token cache hit": _sync(lambda: verified.verify(token, keys)),
                "  check_claims": _sync(lambda: _jws.check_claims(claims, issuer=issuer, now=now)),
                "  session state (warm)": session_lookup,
                f"token check, {MANY_TOKENS:,} tokens in turn": many_token_check,
            }
            timings: dict[str, list[float]] = {name: [] for name in variants}
            for index in range(rounds):
                order = list(variants.items())
                for name, call in order if index % 2 == 0 else order[::-1]:
                    per_round = calls // 10 if "Ed25519" in name or "in turn" in name else calls
                    timings[name].append(await _timed(call, per_round))
            assert states.reads == reads, "the warm token checks read no session from the database"
    result = {name: median(values) for name, values in timings.items()}
    key_us, token_us = result["key: validator.validate"], result["token: token_checker.check"]
    print(
        f"(b) in-process, warm, µs per call (median of {rounds} alternating rounds of {calls:,}; "
        f"Ed25519 and {MANY_TOKENS:,} tokens {calls // 10:,}):"
    )
    for name, value in result.items():
        versus = f"  ({value / key_us:.2f}× a key validation)" if name != "key: validator.validate" else ""
        print(f"    {name:<32} {value:8.2f} µs{versus}")
    uncached = token_us - result["  verified-token cache hit"] + result["  Ed25519 verify (_jws.verify)"]
    print(
        f"    a token check without the verified-token cache would cost ≈ {uncached:.1f} µs "
        f"({uncached / key_us:.1f}× a key validation): the cache saves one Ed25519 verification per request;"
    )
    print(
        f"    it keeps {REMEMBERED:,} tokens, least recently used leaving first: tokens used again stay, but "
        f"{MANY_TOKENS:,} live tokens presented strictly in turn miss every time"
    )


# ------------------------------------------------------------------------------------------------ (c) profile


async def bench_profile(calls: int = 20_000, top: int = 12) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = await scratch_sqlite(directory)
        async with open_runtime(settings(url, bcrypt_rounds=4, cache_ttl=3600)) as runtime:
            key = await new_key(runtime, burst=100_000)
            token = await sign_in_in_process(runtime)
            request = CheckRequest()
            await runtime.validator.validate(key, request)
            await runtime.token_checker.check(token)
            for label, call in (
                ("token_checker.check", lambda: runtime.token_checker.check(token)),
                ("validator.validate", lambda: runtime.validator.validate(key, request)),
            ):
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(calls):
                    await call()
                profile.disable()
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(top)
                lines = [line for line in out.getvalue().splitlines() if line.strip()]
                start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
                print(f"(c) cProfile, {calls:,} warm {label} calls, by own time (tottime), top {top}:")
                for line in lines[start : start + top + 1]:
                    print("    " + line.replace(f"{ROOT}/", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="http,inprocess,profile")
    parser.add_argument("--rounds", type=int, default=4, help="HTTP rounds per endpoint")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per HTTP round")
    parser.add_argument("--connections", type=int, default=32)
    arguments = parser.parse_args()
    chosen = arguments.only.split(",")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    import os

    print(
        f"Hokusai Auth token validation benchmarks: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    if "http" in chosen:
        bench_http(arguments.rounds, arguments.seconds, arguments.connections)
    if "inprocess" in chosen:
        asyncio.run(bench_in_process())
    if "profile" in chosen:
        asyncio.run(bench_profile())


if __name__ == "__main__":
    main()
