"""A third-party developer with only a Hokusai API key, using the official MLflow client through the gateway.

Three real processes: the auth service, an MLflow tracking server (SQLite backend, local artifacts) and the
gateway, which validates over HTTP against the auth service.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, free_port
from tests.e2e.helpers import ServerProcess, clean_env, start_auth_service, start_mlflow_server

pytest.importorskip("mlflow", reason="the MLflow tests need the [mlflow] extra")
pytestmark = pytest.mark.slow
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SERVICE_TOKEN = "e2e-gateway-service-token-" + "q" * 24
CLIENT = Path(__file__).with_name("mlflow_client.py")


@dataclass
class Stack:
    auth: str
    mlflow: str
    gateway: str
    auth_process: ServerProcess
    gateway_log: Path

    def key(self, **fields: object) -> dict[str, str]:
        body = {"name": "e2e", "service_id": "platform", **fields}
        created: dict[str, str] = httpx.post(f"{self.auth}/api/v1/keys", json=body, headers=ADMIN).json()
        return created

    def mlflow_client(self, *args: str, token: str | None = None, **env: str) -> dict[str, object]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        environment.update(MLFLOW_TRACKING_URI=self.gateway, **env)
        if token is not None:
            environment["MLFLOW_TRACKING_TOKEN"] = token
        result = subprocess.run([sys.executable, str(CLIENT), *args], env=environment, capture_output=True,
                                text=True, timeout=300, check=False)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
        return answer

    def gateway_statuses(self) -> list[int]:
        lines = self.gateway_log.read_text().splitlines()
        return [
            entry["status"] for entry in map(json.loads, lines) if entry.get("logger") == "hokusai_auth.gateway.access"
        ]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("mlflow-e2e")
    processes: list[ServerProcess] = []
    try:
        auth_port, mlflow_port, gateway_port = free_port(), free_port(), free_port()
        auth = start_auth_service(work, auth_port, SERVICE_TOKENS=SERVICE_TOKEN)
        processes.append(auth)
        mlflow = start_mlflow_server(work, mlflow_port)
        processes.append(mlflow)
        auth.wait_healthy(f"http://127.0.0.1:{auth_port}/health")
        mlflow.wait_healthy(f"http://127.0.0.1:{mlflow_port}/health", timeout=120)
        gateway_env = clean_env(HOKUSAI_GATEWAY_SERVICE_TOKEN=SERVICE_TOKEN, LOG_LEVEL="INFO")
        gateway = ServerProcess(
            ["hokusai_auth", "gateway", "--port", str(gateway_port), "--mlflow-upstream",
             f"http://127.0.0.1:{mlflow_port}", "--auth-service-url", f"http://127.0.0.1:{auth_port}"],
            gateway_env, work / "gateway.log",
        )  # fmt: skip
        processes.append(gateway)
        gateway.wait_healthy(f"http://127.0.0.1:{gateway_port}/health")
        yield Stack(f"http://127.0.0.1:{auth_port}", f"http://127.0.0.1:{mlflow_port}",
                    f"http://127.0.0.1:{gateway_port}", auth, work / "gateway.log")  # fmt: skip
    finally:
        for process in reversed(processes):
            process.stop()


def test_mlflow_client_logs_a_run_and_a_multi_megabyte_artifact_through_the_gateway(stack: Stack) -> None:
    key = stack.key(scopes=["mlflow:write"])
    result = stack.mlflow_client("log-run", "6", token=key["api_key"])
    assert result["artifact_identical"] is True
    assert result["metric"] == pytest.approx(0.2)
    assert result["param"] == "0.01"


def test_a_scikit_learn_model_is_registered_through_the_gateway(stack: Stack) -> None:
    key = stack.key(scopes=["model:write"])
    result = stack.mlflow_client("register", token=key["api_key"])
    assert result["predicts"] is True
    versions = httpx.get(f"{stack.mlflow}/api/2.0/mlflow/registered-models/get",
                         params={"name": "hokusai-e2e-model"}).json()  # fmt: skip
    assert versions["registered_model"]["name"] == "hokusai-e2e-model"


def test_basic_auth_with_the_key_as_password_works_too(stack: Stack) -> None:
    key = stack.key()
    result = stack.mlflow_client("search", MLFLOW_TRACKING_USERNAME="me", MLFLOW_TRACKING_PASSWORD=key["api_key"])
    assert int(str(result["experiments"])) >= 1


def test_a_read_only_key_reads_but_cannot_write(stack: Stack) -> None:
    key = stack.key(scopes=["mlflow:read"])
    assert int(str(stack.mlflow_client("search", token=key["api_key"])["experiments"])) >= 1
    refused = stack.mlflow_client("create-run", token=key["api_key"])
    assert refused["ok"] is False
    assert "PERMISSION_DENIED" in str(refused["error"])
    assert "mlflow:write" in str(refused["error"])


@pytest.mark.parametrize("token", [None, "hk_live_" + "Q" * 38, "revoked"])
def test_missing_wrong_or_revoked_keys_get_401_once_without_client_retries(stack: Stack, token: str | None) -> None:
    if token == "revoked":
        created = stack.key()
        httpx.delete(f"{stack.auth}/api/v1/keys/{created['key_id']}", headers=ADMIN)
        token = created["api_key"]
    before = len(stack.gateway_statuses())
    result = stack.mlflow_client("search", token=token)
    assert result["ok"] is False
    assert "UNAUTHENTICATED: Hokusai gateway:" in str(result["error"]), "the client shows the gateway's reason"
    statuses = stack.gateway_statuses()[before:]
    assert statuses == [401], "one request, one 401: nothing a client retries"


def test_auth_service_down_is_503_with_retry_after(stack: Stack) -> None:
    key = stack.key()
    stack.auth_process.stop()  # last test of the module: the auth service stays down
    response = httpx.get(f"{stack.gateway}/api/2.0/mlflow/experiments/search", headers={"X-API-Key": key["api_key"]})
    assert response.status_code == 503
    assert response.headers["retry-after"]
