"""What the plain MLflow client does when its tracking server is down: python bench/mlflow_outage.py   (needs [mlflow])

MLflow's client (mlflow/utils/request_utils.py, urllib3's Retry) retries 408, 429, 500, 502, 503 and 504 on every
method, up to MLFLOW_HTTP_REQUEST_MAX_RETRIES times (7), sleeping MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR (2) × 2^(n-1)
seconds plus up to MLFLOW_HTTP_REQUEST_BACKOFF_JITTER (1) before the n-th retry (nothing before the first, at most
120 s), or, when the answer carries Retry-After, the seconds that header gives instead (urllib3 honours it on every
status it retries, not only 503). This times one ``MlflowClient().search_experiments()`` until it returns or raises:

- through a real gateway (``hokusai-auth gateway`` validating in-process) in front of a real ``mlflow server``
  that has been stopped (the gateway answers what it answers for a refused connection), one that hangs (SIGSTOP;
  the gateway's --upstream-timeout 2 s runs out) and one that is restarted as the search starts (the time it
  takes to answer again is printed);
- against a stub that answers every request with one status (and maybe Retry-After) and the gateway's JSON body,
  to see the client's reaction to each status alone;

each with MLflow's default settings and with the settings docs/gateway.md recommends for interactive use. Every
client has imported MLflow before the outage begins, then all search at once; the longest run (the hung MLflow
with the defaults) takes about four and a half minutes, the whole bench about seven. Figures only, never pass/fail.

Before the outage each gateway path is warmed up and checked with the client: MLflow's first search after its start
can take longer than the hung gateway's 2 s timeout on a busy machine, and that gateway then answers 504.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.helpers import ServerProcess, clean_env

from bench.common import ADMIN_TOKEN
from hokusai._vocabulary import GATEWAY_MLFLOW_ERROR_CODES

INTERACTIVE = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
SETTINGS: tuple[tuple[str, dict[str, str]], ...] = (("defaults", {}), ("interactive", INTERACTIVE))
HUNG_TIMEOUT_S = 2
# (label, status, Retry-After or None)
STUBS = (
    ("stub 502", 502, None),
    ("stub 502 + Retry-After: 5", 502, "5"),
    ("stub 503", 503, None),
    ("stub 503 + Retry-After: 5", 503, "5"),
    ("stub 504", 504, None),
    ("stub 501 (not retried)", 501, None),
)
SEARCH = "/api/2.0/mlflow/experiments/search"
CLIENT = """
import json, sys, time
from mlflow import MlflowClient
print("ready", flush=True)
sys.stdin.readline()
started = time.monotonic()
try:
    MlflowClient().search_experiments()
    outcome = detail = "ok"
except Exception as exc:
    detail = type(exc).__name__ + ": " + str(exc)
    cause = detail.rpartition("(Caused by ")[2].removesuffix(")") if "(Caused by " in detail else ""
    outcome = cause or detail.splitlines()[0][:100]
print(json.dumps({"seconds": round(time.monotonic() - started, 1), "outcome": outcome, "detail": detail}))
"""


class Client:
    """A process that imports MLflow (it reads its settings then), says it is ready, and on ``go()`` runs one
    search_experiments; its seconds exclude the import."""

    def __init__(self, url: str, token: str, settings: dict[str, str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update(MLFLOW_TRACKING_URI=url, MLFLOW_TRACKING_TOKEN=token, **settings)
        self.process = subprocess.Popen(
            [sys.executable, "-c", CLIENT], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def ready(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip() == "ready":
                return
        raise SystemExit(f"the MLflow client did not start: {self.result()['detail']}")

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()  # communicate() closes it

    def result(self) -> dict[str, object]:
        out, err = self.process.communicate()
        lines = out.strip().splitlines()
        if not lines:
            return {"outcome": "client crashed", "detail": err[-2000:]}
        result: dict[str, object] = json.loads(lines[-1])
        return result


def search_once(url: str, token: str, settings: dict[str, str]) -> dict[str, object]:
    client = Client(url, token, settings)
    client.ready()
    client.go()
    return client.result()


class Stub:
    """Answers every request with one status and the gateway's JSON error body; counts the requests."""

    def __init__(self, status: int, retry_after: str | None) -> None:
        self.requests = 0
        stub = self
        error_code = GATEWAY_MLFLOW_ERROR_CODES.get(status, "INTERNAL_ERROR")
        body = json.dumps({"detail": "The mlflow upstream is unreachable", "code": "stub", "error_code": error_code,
                           "message": "Hokusai gateway: The mlflow upstream is unreachable"}).encode()  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                stub.requests += 1
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                if retry_after is not None:
                    self.send_header("retry-after", retry_after)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def ports(count: int) -> list[int]:
    """``count`` distinct free ports (all bound at once, so two calls in a row cannot return the same one)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def mlflow_server(work: Path, port: int, log: str = "mlflow.log") -> ServerProcess:
    """``mlflow server`` on SQLite without its job runner (seven huey consumers per server that only load the two
    cores this runs on)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    return ServerProcess(
        ["mlflow", "server", "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}", "--artifacts-destination",
         str(work / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env, work / log,
    )  # fmt: skip


def service_env(work: Path) -> dict[str, str]:
    return clean_env(ADMIN_TOKEN=ADMIN_TOKEN, DATABASE_URL=f"sqlite:///{work / 'auth.db'}", BCRYPT_ROUNDS="4",
                     SECRET_KEY="bench-secret-" + "s" * 40, ACCESS_LOG="false")  # fmt: skip


def gateway(work: Path, port: int, upstream_port: int, timeout: float) -> tuple[ServerProcess, str]:
    process = ServerProcess(
        ["hokusai_auth", "gateway", "--port", str(port), "--mlflow-upstream", f"http://127.0.0.1:{upstream_port}",
         "--upstream-timeout", str(timeout)],
        service_env(work), work / f"gateway-{port}.log",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    process.wait_healthy(f"{url}/health", timeout=60)
    return process, url


def warm_up(url: str, key: str, gateway: ServerProcess) -> str:
    """Search through the gateway until it answers 200 (the first search of a fresh MLflow is slow); what the
    first try got and how long it took."""
    deadline = time.monotonic() + 120
    first = ""
    while True:
        started = time.monotonic()
        try:
            answer = httpx.post(f"{url}{SEARCH}", json={"max_results": 1}, headers={"Authorization": f"Bearer {key}"},
                                timeout=30)  # fmt: skip
            got = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            answer, got = None, type(exc).__name__
        first = first or f"{got} in {time.monotonic() - started:.1f} s"
        if answer is not None and answer.status_code == 200:
            return first
        if (answer is not None and answer.status_code < 500) or time.monotonic() > deadline:
            raise SystemExit(f"{url} never answered the search: {got} {answer.text if answer else ''}\n"
                             f"{gateway.log_path}:\n{gateway.log_path.read_text()[-3000:]}")  # fmt: skip
        time.sleep(0.5)


def check_before(name: str, url: str, key: str, gateway: ServerProcess) -> None:
    print(f"warm-up through the gateway to the {name} MLflow: first search {warm_up(url, key, gateway)}")
    before = search_once(url, key, INTERACTIVE)
    if before["outcome"] != "ok":
        raise SystemExit(f"MLflow through the gateway at {url} fails before the outage: {before['detail']}\n"
                         f"{gateway.log_path}:\n{gateway.log_path.read_text()[-3000:]}")  # fmt: skip


def answer_of(url: str, key: str) -> str:
    answer = httpx.post(f"{url}{SEARCH}", json={}, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    retry_after = answer.headers.get("retry-after")
    return f"{answer.status_code} {answer.json().get('code')}" + (
        f", Retry-After: {retry_after}" if retry_after else ""
    )


def start(
    work: Path, mlflows: dict[str, ServerProcess], processes: list[ServerProcess]
) -> tuple[dict[str, int], dict[str, str], str]:
    """Three MLflow servers (to be stopped, hung, restarted), a gateway in front of each, a key, every path checked;
    (MLflow's ports, the gateways' URLs, the key). Every process started is added to ``processes``."""
    names = ("stopped", "hung", "restarted")
    mlflow_ports = dict(zip(names, ports(3), strict=True))
    gateway_ports = dict(zip(names, ports(3), strict=True))
    started = time.monotonic()
    for name in names:
        (work / name).mkdir()
        mlflows[name] = mlflow_server(work / name, mlflow_ports[name])
        processes.append(mlflows[name])
    for name in names:
        mlflows[name].wait_healthy(f"http://127.0.0.1:{mlflow_ports[name]}/health", timeout=180)
    print(f"three MLflow servers healthy {time.monotonic() - started:.0f} s after their start")
    urls, gateways = {}, {}
    for name in names:
        gateways[name], urls[name] = gateway(work, gateway_ports[name], mlflow_ports[name],
                                             HUNG_TIMEOUT_S if name == "hung" else 60)  # fmt: skip
        processes.append(gateways[name])
    key = _create_key(work)
    for name, process in gateways.items():  # every path works before the outage
        check_before(name, urls[name], key, process)
    return mlflow_ports, urls, key


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mlflow-outage-"))
    print(f"work directory (logs): {work}")
    subprocess.run([sys.executable, "-m", "hokusai_auth", "migrate"], check=True, capture_output=True,
                   env=clean_env(DATABASE_URL=f"sqlite:///{work / 'auth.db'}"))  # fmt: skip
    mlflows: dict[str, ServerProcess] = {}
    processes: list[ServerProcess] = []
    runs: list[tuple[str, str, Client]] = []
    try:
        mlflow_ports, urls, key = start(work, mlflows, processes)

        stubs = {label: Stub(status, retry_after) for label, status, retry_after in STUBS}
        targets = {
            "gateway, MLflow stopped": urls["stopped"],
            f"gateway, MLflow hung (timeout {HUNG_TIMEOUT_S} s)": urls["hung"],
            "gateway, MLflow restarted": urls["restarted"],
            **{label: stub.url for label, stub in stubs.items()},
        }
        runs += [(target, label, Client(url, key, settings)) for target, url in targets.items()
                 for label, settings in SETTINGS]  # fmt: skip
        for _, _, client in runs:
            client.ready()

        mlflows["stopped"].stop()
        os.killpg(mlflows["hung"].process.pid, signal.SIGSTOP)
        mlflows["restarted"].stop()
        restart_began = time.monotonic()
        mlflows["restarted"] = mlflow_server(work / "restarted", mlflow_ports["restarted"], "mlflow-restarted.log")
        processes.append(mlflows["restarted"])
        for _, _, client in runs:
            client.go()
        for name in ("stopped", "hung"):
            print(f"the gateway to the {name} MLflow answers {answer_of(urls[name], key)}")
        mlflows["restarted"].wait_healthy(f"http://127.0.0.1:{mlflow_ports['restarted']}/health", timeout=300)
        print(f"the restarted MLflow answers again {time.monotonic() - restart_began:.1f} s after it was stopped")

        results = [(target, label, client.result()) for target, label, client in runs]
        print(f"interactive = {' '.join(f'{k}={v}' for k, v in INTERACTIVE.items())}")
        for target, label, result in results:
            print(f"{target:38} {label:12} {result.get('seconds', '?'):>6} s  {result['outcome']}")
        for label, stub in stubs.items():
            print(f"{label}: {stub.requests} requests in all (both settings)")
    finally:
        for _, _, client in runs:
            if client.process.poll() is None:  # the bench failed midway
                client.process.kill()
        if "hung" in mlflows:
            with suppress(ProcessLookupError):
                os.killpg(mlflows["hung"].process.pid, signal.SIGCONT)
        for process in processes:
            process.stop()


def _create_key(work: Path) -> str:
    """A platform key, made through the admin API of a short-lived auth service on the gateways' database."""
    (port,) = ports(1)
    service = ServerProcess(["hokusai_auth", "serve", "--port", str(port), "--no-migrate"], service_env(work),
                            work / "auth.log")  # fmt: skip
    try:
        service.wait_healthy(f"http://127.0.0.1:{port}/health", timeout=60)
        created = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/keys",
            json={"name": "outage", "service_id": "platform"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        )
        created.raise_for_status()
        key: str = created.json()["api_key"]
        return key
    finally:
        service.stop()


if __name__ == "__main__":
    began = time.monotonic()
    main()
    print(f"({time.monotonic() - began:.0f} s in all)")
