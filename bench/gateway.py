"""Gateway benchmark: python bench/gateway.py   (needs wrk and the [mlflow] extra)

Requests per second and latency of one MLflow request mix (search experiments, get a run, search runs), served:
directly by MLflow (no authentication: the baseline), through the Hokusai gateway (validating in-process, and
over HTTP against the auth service), and by MLflow's own basic-auth app as shipped. All MLflow servers run with
one worker; targets are measured in alternating rounds so drift hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ADMIN_TOKEN, create_keys, free_port, median, server, service_env, wrk
from hokusai_auth.db import migrate

_MIX = """
local requests = {}
request = function()
  if #requests == 0 then
    local headers = {["Content-Type"] = "application/json"%s}
    requests[1] = wrk.format("POST", "/api/2.0/mlflow/experiments/search", headers, '{"max_results": 10}')
    requests[2] = wrk.format("GET", "/api/2.0/mlflow/runs/get?run_id=%s", headers, nil)
    requests[3] = wrk.format("POST", "/api/2.0/mlflow/runs/search", headers,
                             '{"experiment_ids": ["%s"], "max_results": 10}')
  end
  counter = (counter or 0) + 1
  return requests[(counter %% 3) + 1]
end
"""


def mix_script(directory: Path, name: str, authorization: str | None, run_id: str, experiment_id: str) -> Path:
    header = f', ["Authorization"] = "{authorization}"' if authorization else ""
    path = directory / f"{name}.lua"
    path.write_text(_MIX % (header, run_id, experiment_id))
    return path


def seed(mlflow_url: str) -> tuple[str, str]:
    """An experiment and a run to read, created directly in MLflow."""
    with httpx.Client(base_url=mlflow_url, timeout=30) as client:
        experiment = client.post("/api/2.0/mlflow/experiments/create", json={"name": f"bench-{secrets.token_hex(3)}"})
        experiment_id = experiment.json()["experiment_id"]
        run = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id})
        run_id = run.json()["run"]["info"]["run_id"]
        for step in range(10):
            metric = {"run_id": run_id, "key": "loss", "value": 1 / (step + 1), "timestamp": 0, "step": step}
            client.post("/api/2.0/mlflow/runs/log-metric", json=metric)
    return run_id, experiment_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        database = f"sqlite:///{work / 'auth.db'}"
        asyncio.run(migrate.upgrade(database))
        service_token = "bench-service-token-" + secrets.token_hex(12)
        env = service_env(DATABASE_URL=database, BCRYPT_ROUNDS="4", SERVICE_TOKENS=service_token, ACCESS_LOG="false")
        mlflow_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        admin_password = "bench-" + secrets.token_hex(8)
        basic_env = {**mlflow_env, "MLFLOW_AUTH_ADMIN_PASSWORD": admin_password,
                     "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)}  # fmt: skip
        ports = {name: free_port() for name in ("mlflow", "basic", "auth", "gateway", "remote")}

        def mlflow_args(port: int, *extra: str) -> list[str]:
            return ["mlflow", "server", "--backend-store-uri", f"sqlite:///{work / f'mlflow-{port}.db'}",
                    "--artifacts-destination", str(work / f"artifacts-{port}"), "--host", "127.0.0.1",
                    "--port", str(port), "--workers", "1", *extra]  # fmt: skip

        mlflow_url = f"http://127.0.0.1:{ports['mlflow']}"
        gateway_env = {**env, "HOKUSAI_GATEWAY_SERVICE_TOKEN": service_token}
        with (
            server(mlflow_args(ports["mlflow"]), mlflow_env, ports["mlflow"]) as direct,
            # the basic-auth app keeps its user database in its working directory
            server(mlflow_args(ports["basic"], "--app-name", "basic-auth"), basic_env, ports["basic"],
                   cwd=work) as basic,
            server(["hokusai_auth", "serve", "--port", str(ports["auth"]), "--no-migrate"], env,
                   ports["auth"]) as auth,
            server(["hokusai_auth", "gateway", "--port", str(ports["gateway"]), "--mlflow-upstream", mlflow_url],
                   env, ports["gateway"]) as local_gateway,
            server(["hokusai_auth", "gateway", "--port", str(ports["remote"]), "--mlflow-upstream", mlflow_url,
                    "--auth-service-url", auth], gateway_env, ports["remote"]) as remote_gateway,
        ):  # fmt: skip
            run_id, experiment_id = seed(direct)
            basic_run, basic_experiment = seed_basic(basic, admin_password)
            key = create_keys(auth, 1, rate_limit_per_hour=100_000, burst=100_000)[0]["api_key"]
            plan: list[tuple[str, str, Path]] = [
                ("MLflow directly (no auth)", direct, mix_script(work, "direct", None, run_id, experiment_id)),
                ("gateway, in-process auth", local_gateway,
                 mix_script(work, "gw", f"Bearer {key}", run_id, experiment_id)),
                ("gateway, auth over HTTP", remote_gateway,
                 mix_script(work, "remote", f"Bearer {key}", run_id, experiment_id)),
                ("MLflow basic-auth app", basic,
                 mix_script(work, "basic", _basic("admin", admin_password), basic_run, basic_experiment)),
            ]  # fmt: skip
            for _, url, script in plan:
                check = wrk(url, script, seconds=1, connections=2)
                if check.non_2xx:
                    raise SystemExit(f"{url}: the request mix is refused ({check.non_2xx} non-2xx)")
            results: dict[str, list[Any]] = {name: [] for name, _, _ in plan}
            for _ in range(args.rounds):
                for name, url, script in plan:
                    results[name].append(wrk(url, script, seconds=args.seconds, connections=args.connections))

    print(
        "Hokusai gateway benchmark: MLflow request mix (search experiments, get run, search runs), one MLflow worker,"
    )
    print(f"wrk -t1 -c{args.connections}, {args.rounds} alternating rounds of {args.seconds} s (medians)")
    base_rps = median([r.rps for r in results["MLflow directly (no auth)"]])
    base_p50 = median([r.p50_ms for r in results["MLflow directly (no auth)"]])
    for name, runs in results.items():
        rps, p50, p99 = (median([getattr(r, field) for r in runs]) for field in ("rps", "p50_ms", "p99_ms"))
        bad = sum(r.non_2xx + r.errors for r in runs)
        relative = (
            ""
            if name.startswith("MLflow directly")
            else f"  {rps / base_rps:.2f}× direct, +{p50 - base_p50:.2f} ms p50"
        )
        print(f"  {name:<27} {rps:8,.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  non-2xx {bad}{relative}")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def seed_basic(url: str, password: str) -> tuple[str, str]:
    with httpx.Client(base_url=url, timeout=30, headers={"Authorization": _basic("admin", password)}) as client:
        experiment = client.post("/api/2.0/mlflow/experiments/create", json={"name": f"bench-{secrets.token_hex(3)}"})
        experiment_id = experiment.json()["experiment_id"]
        run = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id})
        return run.json()["run"]["info"]["run_id"], experiment_id


if __name__ == "__main__":
    _ = ADMIN_TOKEN
    main()
