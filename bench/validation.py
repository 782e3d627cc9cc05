"""Validation benchmarks: python bench/validation.py [--only warm,ratelimit,http,cold,propagation]

(a) warm in-process validation, µs per call;
(b) HTTP throughput and p50/p99 of POST /api/v1/keys/validate (key in the Authorization header) next to a bare
    FastAPI JSON endpoint served the same way (uvicorn, one worker), measured alternately with wrk;
(c) cold validation at BCRYPT_ROUNDS=12, and the bcrypt count of cold, unknown and malformed keys;
(d) how long a revoke / rotate / update made on one instance takes to be refused by another instance sharing
    PostgreSQL and Redis (and, for comparison, without Redis; and with a private redis-server hung by SIGSTOP
    just before each change, while the other instance still trusts pub/sub);
plus the cost the rate-limit check adds to a warm validation, in-process and through Redis.
Every figure is printed next to a baseline measured in the same run. Nothing here is pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bcrypt
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    ADMIN_TOKEN,
    REDIS_URL,
    SECRET_KEY,
    create_keys,
    drop_postgres,
    drop_redis_prefix,
    free_port,
    median,
    redis_reachable,
    scratch_postgres,
    server,
    service_env,
    wrk,
)
from hokusai_auth.cluster.heartbeat import RELAX_AFTER_S
from hokusai_auth.cluster.link import RedisLink
from hokusai_auth.db import migrate
from hokusai_auth.keys import tokens
from hokusai_auth.keys.schemas import CreateKeyRequest
from hokusai_auth.ratelimit.gcra import Decision
from hokusai_auth.ratelimit.memory import MemoryLimiter
from hokusai_auth.ratelimit.redis import RedisLimiter
from hokusai_auth.runtime import Runtime, open_runtime
from hokusai_auth.settings import Settings
from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.validation.validator import Validator
from hokusai_auth.web.context import RequestContext

CTX = RequestContext(actor="bench", client_ip=None, user_agent=None, request_id=None)


def settings(database_url: str, **extra: Any) -> Settings:
    return Settings(
        admin_tokens=ADMIN_TOKEN, secret_key=SECRET_KEY, database_url=database_url, access_log=False, **extra
    )


async def scratch_sqlite(directory: str) -> str:
    url = f"sqlite:///{directory}/bench.db"
    await migrate.upgrade(url)
    return url


async def new_key(runtime: Runtime, **fields: Any) -> str:
    body = {"name": "bench", "service_id": "platform", "rate_limit_per_hour": 100_000, **fields}
    return (await runtime.keys.create(CreateKeyRequest(**body), CTX)).api_key


async def _noop() -> None:
    return None


def _per_call_us(started: float, calls: int) -> float:
    return (time.perf_counter() - started) / calls * 1e6


# ------------------------------------------------------------------------------------------------ (a) warm


async def bench_warm(calls: int = 15_000, rounds: int = 6) -> None:
    """Rounds alternate the baselines and the validation, and the medians are printed: on a shared VM one long
    timing mostly measures the neighbours."""
    with tempfile.TemporaryDirectory() as directory:
        url = await scratch_sqlite(directory)
        async with open_runtime(settings(url, bcrypt_rounds=4, cache_ttl=3600)) as runtime:
            key = await new_key(runtime, burst=100_000)  # the most a key may have: 90,000 calls stay under it
            request = CheckRequest(service_id="platform", required_scope="read")
            validator = runtime.validator
            assert (await validator.validate(key, request)).valid  # cold: loads and caches
            digester = validator.digester
            empty, hmac_cost, warm = [], [], []
            for _ in range(rounds):
                started = time.perf_counter()
                for _ in range(calls):
                    await _noop()
                empty.append(_per_call_us(started, calls))
                started = time.perf_counter()
                for _ in range(calls):
                    digester.digest(key)
                hmac_cost.append(_per_call_us(started, calls))
                started = time.perf_counter()
                for _ in range(calls):
                    verdict = await validator.validate(key, request)
                warm.append(_per_call_us(started, calls))
                assert verdict.valid
    print(f"(a) warm in-process validation: {median(warm):.1f} µs/call, median of {rounds} rounds of {calls:,} "
          f"(fastest {min(warm):.1f}, slowest {max(warm):.1f}; target ≤ 20 µs)")  # fmt: skip
    print(f"    baselines in this run: empty coroutine {median(empty):.2f} µs, HMAC-SHA256 lookup digest "
          f"{median(hmac_cost):.2f} µs;")  # fmt: skip
    print(f"    validation = {median(warm) / median(hmac_cost):.1f}× one HMAC of the key")


# ------------------------------------------------------------------------------------- rate-limit overhead


class _NoLimit:
    async def hit(self, bucket: str, limit_per_hour: int, burst: int, cost: int) -> Decision:
        return Decision(True, limit_per_hour, burst, 0, None)


async def bench_ratelimit(calls: int = 20_000) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = await scratch_sqlite(directory)
        async with open_runtime(settings(url, bcrypt_rounds=4, cache_ttl=3600)) as runtime:
            key = await new_key(runtime, burst=100_000)
            request = CheckRequest()
            assert (await runtime.validator.validate(key, request)).valid

            def validator_with(limiter: Any) -> Validator:
                return Validator(
                    store=runtime.key_store, digester=runtime.digester, cache=runtime.cache, hasher=runtime.hasher,
                    limiter=limiter, last_used=runtime.last_used, clock=runtime.clock,
                )  # fmt: skip

            variants: list[tuple[str, Any]] = [("no limit", _NoLimit()), ("in-process GCRA", MemoryLimiter())]
            link = None
            if await redis_reachable():
                link = RedisLink(REDIS_URL, prefix=f"hkbench{secrets.token_hex(3)}")
                variants.append(("Redis GCRA (Lua)", RedisLimiter(link, MemoryLimiter())))
            timings: dict[str, list[float]] = {name: [] for name, _ in variants}
            for _ in range(5):  # alternating rounds, medians: one long timing on a shared VM is mostly noise
                for name, limiter in variants:
                    validator = validator_with(limiter)
                    per_round = calls // 5 if name != "Redis GCRA (Lua)" else calls // 20
                    started = time.perf_counter()
                    for _ in range(per_round):
                        await validator.validate(key, request)
                    timings[name].append(_per_call_us(started, per_round))
            results = {name: median(values) for name, values in timings.items()}
            if link is not None:
                await link.close()
                await drop_redis_prefix(link.prefix)
    base = results["no limit"]
    print("    rate-limit check added to a warm validation (issue 4):")
    for name, value in results.items():
        print(f"      {name:<17} {value:7.1f} µs/call  ({value / base:.2f}× validation without a limit)")
    if "Redis GCRA (Lua)" not in results:
        print("      Redis GCRA: skipped (no Redis at", REDIS_URL + ")")


# ------------------------------------------------------------------------------------------------ (b) HTTP

_WRK_VALIDATE = """
keys = {%s}
counter = 0
request = function()
  counter = counter + 1
  local key = keys[(counter %% #keys) + 1]
  return wrk.format("POST", "/api/v1/keys/validate", {["Authorization"] = "Bearer " .. key}, nil)
end
"""
_WRK_BARE = """
request = function()
  return wrk.format("POST", "/bare", {["Authorization"] = "Bearer hk_live_notused"}, nil)
end
"""
# The gateway's refusal path: a well-formed key that does not exist (401 after one lookup, then a negative cache).
_WRK_GATEWAY_REFUSAL = """
request = function()
  return wrk.format("GET", "/api/2.0/mlflow/runs/get", {["Authorization"] = "Bearer %s"}, nil)
end
"""
FLOOR = "floor: framework-free ASGI"


def bench_http(rounds: int = 3, seconds: int = 5, connections: int = 32) -> None:
    with tempfile.TemporaryDirectory() as directory:
        db = f"sqlite:///{directory}/http.db"
        asyncio.run(migrate.upgrade(db))
        scripts = Path(directory)
        (scripts / "bare.lua").write_text(_WRK_BARE)
        (scripts / "refusal.lua").write_text(_WRK_GATEWAY_REFUSAL % tokens.generate("production"))
        env = service_env(DATABASE_URL=db, BCRYPT_ROUNDS="4")
        quiet_env = {**env, "ACCESS_LOG": "false"}
        prefix = f"hkbench{secrets.token_hex(3)}"
        redis_env = {**env, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix}
        with_redis = asyncio.run(redis_reachable())
        ports = [free_port() for _ in range(6)]
        uvicorn = ["uvicorn", "--no-access-log", "--log-level", "warning", "--http", "httptools", "--loop", "uvloop"]
        with (
            server([*uvicorn, "bench.floor_app:app", "--port", str(ports[4])], env, ports[4]) as floor_url,
            server([*uvicorn, "bench.bare_app:app", "--port", str(ports[0])], env, ports[0]) as bare_url,
            server(["hokusai_auth", "serve", "--port", str(ports[1]), "--no-migrate"], env, ports[1]) as svc_url,
            server(["hokusai_auth", "serve", "--port", str(ports[2]), "--no-migrate"], quiet_env, ports[2]) as quiet,
            server(["hokusai_auth", "serve", "--port", str(ports[3]), "--no-migrate"],
                   redis_env if with_redis else env, ports[3]) as redis_url,
            server(["hokusai_auth", "gateway", "--mlflow-upstream", floor_url, "--port", str(ports[5])],
                   env, ports[5]) as gateway_url,
        ):  # fmt: skip
            keys = [created["api_key"] for created in create_keys(svc_url, 20)]
            (scripts / "validate.lua").write_text(_WRK_VALIDATE % ", ".join(f'"{key}"' for key in keys))
            plan = [
                (FLOOR, floor_url, scripts / "bare.lua"),
                ("bare FastAPI endpoint", bare_url, scripts / "bare.lua"),
                ("validate (as shipped)", svc_url, scripts / "validate.lua"),
                ("validate (ACCESS_LOG=false)", quiet, scripts / "validate.lua"),
                ("gateway refusal (401)", gateway_url, scripts / "refusal.lua"),
            ]
            if with_redis:  # same machine: wrk, the service and redis-server share the two cores
                plan.append(("validate + REDIS_URL limits", redis_url, scripts / "validate.lua"))
            targets: dict[str, list[Any]] = {name: [] for name, _, _ in plan}
            for _, url, script in plan:  # warm-up: caches, connections, CPU frequency
                wrk(url, script, seconds=2, connections=connections)
            for _ in range(rounds):
                for name, url, script in plan:
                    targets[name].append(wrk(url, script, seconds=seconds, connections=connections))
        if with_redis:
            asyncio.run(drop_redis_prefix(prefix))
    _report_http(targets, rounds, seconds, connections)


def _report_http(targets: dict[str, list[Any]], rounds: int, seconds: int, connections: int) -> None:
    print(
        f"(b) HTTP, uvicorn (uvloop + httptools) 1 worker each, wrk -t1 -c{connections}, {rounds} alternating rounds"
        f" of {seconds} s (medians); ratios against the floor, then against the bare FastAPI endpoint:"
    )
    floor_rps = median([r.rps for r in targets[FLOOR]])
    floor_p99 = median([r.p99_ms for r in targets[FLOOR]])
    bare_rps = median([r.rps for r in targets["bare FastAPI endpoint"]])
    for name, results in targets.items():
        rps = median([r.rps for r in results])
        p50 = median([r.p50_ms for r in results])
        p99 = median([r.p99_ms for r in results])
        bad = sum(r.non_2xx + r.errors for r in results)
        total = sum(r.requests for r in results)
        ratio = ""
        if name != FLOOR:
            ratio = f"  floor: throughput {rps / floor_rps:.2f}×, p99 {p99 / floor_p99:.2f}×;"
            ratio += f"  bare FastAPI {rps / bare_rps:.2f}×"
        answers = f"{'401s' if 'refusal' in name else 'non-2xx'} {bad:,} of {total:,}"
        print(f"    {name:<30} {rps:9,.0f} req/s  p50 {p50:5.2f} ms  p99 {p99:6.2f} ms  {answers}{ratio}")
    print(
        "    targets: validate (as shipped) and the gateway's refusal ≥ 0.5× the floor's throughput, p99 ≤ 2× its p99;"
        " zero non-2xx for validate"
    )


# ------------------------------------------------------------------------------------------------ (c) cold


async def bench_cold(keys: int = 3) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = await scratch_sqlite(directory)
        async with open_runtime(settings(url, bcrypt_rounds=12)) as runtime:
            created = [await new_key(runtime) for _ in range(keys)]
            stored_hash = bcrypt.hashpw(b"x" * 46, bcrypt.gensalt(12))
            started = time.perf_counter()
            for _ in range(keys):
                bcrypt.checkpw(b"x" * 46, stored_hash)
            raw = (time.perf_counter() - started) / keys * 1000
            validator, hasher = runtime.validator, runtime.hasher
            before = hasher.verifications
            timings = []
            for key in created:
                started = time.perf_counter()
                assert (await validator.validate(key, CheckRequest())).valid
                timings.append((time.perf_counter() - started) * 1000)
            cold_bcrypts = (hasher.verifications - before) / keys
            before = hasher.verifications
            unknown = [tokens.generate("production") for _ in range(200)]
            started = time.perf_counter()
            for key in unknown:
                await validator.validate(key, CheckRequest())
            unknown_us = _per_call_us(started, len(unknown))
            malformed = ["hk_live_" + "A" * 38] * 1000
            started = time.perf_counter()
            for key in malformed:
                await validator.validate(key, CheckRequest())
            malformed_us = _per_call_us(started, len(malformed))
            extra_bcrypts = hasher.verifications - before
    cold = median(timings)
    print(f"(c) cold validation at BCRYPT_ROUNDS=12: {cold:.0f} ms (median of {keys} keys); one bcrypt.checkpw alone: "
          f"{raw:.0f} ms → {cold / raw:.2f}×")  # fmt: skip
    print(f"    bcrypt per cold key: {cold_bcrypts:.2f}; for 200 unknown + 1000 malformed keys: {extra_bcrypts} "
          f"(unknown: {unknown_us:.0f} µs, one indexed query; malformed: {malformed_us:.1f} µs, no I/O)")  # fmt: skip


# ----------------------------------------------------------------------------------------- (d) propagation


def _propagation(a: str, b: str, trials: int, hang: subprocess.Popen[bytes] | None = None) -> dict[str, list[float]]:
    """With ``hang`` (a redis-server process), Redis is stopped with SIGSTOP just before each change, once the
    instances have trusted pub/sub long enough to poll the database slowly, and timing starts before the change
    is sent (the revoking request itself waits up to REDIS_TIMEOUT on the hung server)."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    results: dict[str, list[float]] = {"revoke": [], "rotate": [], "update": []}
    with httpx.Client(base_url=a, timeout=30) as first, httpx.Client(base_url=b, timeout=30) as second:
        for change, timings in results.items():
            for _ in range(trials):
                body = {"name": "p", "service_id": "platform", "scopes": ["predict"]}
                created = first.post("/api/v1/keys", json=body, headers=admin).json()
                key, key_id = created["api_key"], created["key_id"]
                check = {"required_scope": "predict"}
                assert second.post("/api/v1/keys/validate", headers={"X-API-Key": key}, json=check).status_code == 200
                if hang is not None:
                    time.sleep(RELAX_AFTER_S + 1.5)  # heartbeat proven for long enough: the feed is relaxed
                    hang.send_signal(signal.SIGSTOP)
                sent_at = time.perf_counter()
                if change == "revoke":
                    first.delete(f"/api/v1/keys/{key_id}", headers=admin)
                elif change == "rotate":
                    first.post(f"/api/v1/keys/{key_id}/rotate", headers=admin)
                else:
                    first.patch(f"/api/v1/keys/{key_id}", json={"scopes": ["read"]}, headers=admin)
                changed_at = sent_at if hang is not None else time.perf_counter()
                while second.post("/api/v1/keys/validate", headers={"X-API-Key": key}, json=check).status_code == 200:
                    if time.perf_counter() - changed_at > 30:
                        raise RuntimeError("change never arrived")
                timings.append((time.perf_counter() - changed_at) * 1000)
                if hang is not None:
                    hang.send_signal(signal.SIGCONT)
    return results


@contextmanager
def _private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]] | None]:
    """A redis-server of our own to hang (the shared one is never stopped); None when none is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _accepts(port):
            if time.monotonic() > deadline:
                raise RuntimeError("private redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.send_signal(signal.SIGCONT)
        process.kill()
        process.wait(timeout=10)


def _serve(port: int) -> list[str]:
    return ["hokusai_auth", "serve", "--port", str(port), "--no-migrate"]


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def bench_propagation(trials: int = 10) -> None:
    database = asyncio.run(scratch_postgres())
    if database is None or not asyncio.run(redis_reachable()):
        print("(d) propagation: skipped (needs PostgreSQL and Redis; set HOKUSAI_BENCH_DATABASE_URL/REDIS_URL)")
        return
    prefix = f"hkbench{secrets.token_hex(3)}"
    try:
        asyncio.run(migrate.upgrade(database))
        env = service_env(DATABASE_URL=database, REDIS_URL=REDIS_URL, REDIS_PREFIX=prefix, BCRYPT_ROUNDS="4")
        no_redis = service_env(DATABASE_URL=database, BCRYPT_ROUNDS="4")
        ports = [free_port() for _ in range(6)]
        runs: dict[str, dict[str, list[float]]] = {}
        with _private_redis() as private:
            plan: list[tuple[str, dict[str, str], list[int], subprocess.Popen[bytes] | None]] = [
                ("PostgreSQL + Redis", env, ports[:2], None),
                ("PostgreSQL only", no_redis, ports[2:4], None),
            ]
            if private is not None:
                hung_env = service_env(DATABASE_URL=database, REDIS_URL=private[0], BCRYPT_ROUNDS="4")
                plan.append(("Redis hung (SIGSTOP)", hung_env, ports[4:], private[1]))
            for label, environment, pair, hang in plan:
                with (
                    server(_serve(pair[0]), environment, pair[0]) as a,
                    server(_serve(pair[1]), environment, pair[1]) as b,
                ):
                    time.sleep(1)  # let the subscriptions settle
                    # Each hung trial waits for the feed to relax first: fewer of them keep the run short.
                    runs[label] = _propagation(a, b, trials if hang is None else max(3, trials // 2), hang)
    finally:
        asyncio.run(drop_postgres(database))
        asyncio.run(drop_redis_prefix(prefix))
    print("(d) change on instance A until instance B refuses the key, two processes:")
    for label, results in runs.items():
        parts = [f"{change} median {median(v):.1f} ms, max {max(v):.1f} ms" for change, v in results.items()]
        worst = max(max(v) for v in results.values())
        count = len(next(iter(results.values())))
        print(f"    {label:<20} " + "; ".join(parts) + f"  (worst {worst / 1000:.3f} s of the 1 s target, "
              f"{count} trials each)")  # fmt: skip
    if "Redis hung (SIGSTOP)" not in runs:
        print("    Redis hung: skipped (no redis-server binary to start a private server)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="warm,ratelimit,http,cold,propagation")
    chosen = parser.parse_args().only.split(",")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    import os

    print(f"Hokusai Auth validation benchmarks: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if "warm" in chosen:
        asyncio.run(bench_warm())
    if "ratelimit" in chosen:
        asyncio.run(bench_ratelimit())
    if "http" in chosen:
        bench_http()
    if "cold" in chosen:
        asyncio.run(bench_cold())
    if "propagation" in chosen:
        bench_propagation()


if __name__ == "__main__":
    main()
