"""docs/third-party-developers.md, followed as written: a developer outside the team, with only a key, registers
models in MLflow through the real gateway, with the official MLflow client (3a) and with the SDK (3b).

Four real processes stand in for the hosted ones: ``hokusai-auth serve`` for https://auth.hokus.ai, and
``hokusai-auth gateway --mlflow-upstream`` in front of a real ``mlflow server`` for https://registry.hokus.ai.
Two people, each with an empty HOME: "someone with the admin token" (their machine has HOKUSAI_AUTH_SERVICE_URL
and HOKUSAI_ADMIN_TOKEN set) creates the key, and the developer logs in with it and runs everything else in one
shell, in order, so the Python blocks see what the commands before them exported. The gateway is stopped just
before the "Optional mode: keep going when MLflow is down" example, which must then carry on without registering.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, free_port
from tests.docs_blocks import Reader, Walkthrough, stale_entries
from tests.e2e.helpers import ServerProcess, clean_env, start_auth_service, start_mlflow_server

pytest.importorskip("mlflow", reason="the MLflow tests need the [mlflow] extra")
pytest.importorskip("sklearn", reason="the doc's example model is scikit-learn's")
pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "third-party-developers.md"
SERVICE_TOKEN = "docs-gateway-service-token-" + "g" * 24
PIP = "installs from PyPI; the suite runs in the environment it makes (this checkout with [mlflow] and scikit-learn)"


@dataclass
class Stack:
    auth: str
    mlflow: str
    gateway: str
    gateway_log: Path
    gateway_process: ServerProcess | None = None

    def stop_gateway(self) -> None:
        if self.gateway_process is not None:
            self.gateway_process.stop()


def walkthrough(stack: Stack) -> Walkthrough:
    return Walkthrough(
        doc=DOC,
        replace={"https://auth.hokus.ai": stack.auth, "https://registry.hokus.ai": stack.gateway},
        people={"admin": {"HOKUSAI_AUTH_SERVICE_URL": stack.auth, "HOKUSAI_ADMIN_TOKEN": ADMIN_TOKEN}, "developer": {}},
        first="developer",
        values={"url": stack.auth, "admin_token": ADMIN_TOKEN},
        switch={
            'hokusai auth create-key --name "ana model registry"': "admin",
            "hokusai auth login --url https://auth.hokus.ai --api-key": "developer",
        },
        skipped={"pip install 'hokusai-ml-platform[mlflow]'": PIP, "pip install scikit-learn": PIP},
        # "Optional mode: keep going when MLflow is down": so the gateway goes down before that example.
        before={"import logging\nimport os\n": stack.stop_gateway},
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("docs-third-party")
    processes: list[ServerProcess] = []
    mlflow: ServerProcess | None = None
    try:
        auth_port, mlflow_port, gateway_port = free_port(), free_port(), free_port()
        auth = start_auth_service(work, auth_port, SERVICE_TOKENS=SERVICE_TOKEN)
        processes.append(auth)
        mlflow = start_mlflow_server(work, mlflow_port)
        processes.append(mlflow)
        auth.wait_healthy(f"http://127.0.0.1:{auth_port}/health")
        gateway = ServerProcess(
            ["hokusai_auth", "gateway", "--port", str(gateway_port), "--mlflow-upstream",
             f"http://127.0.0.1:{mlflow_port}", "--auth-service-url", f"http://127.0.0.1:{auth_port}"],
            clean_env(HOKUSAI_GATEWAY_SERVICE_TOKEN=SERVICE_TOKEN, LOG_LEVEL="INFO"), work / "gateway.log",
        )  # fmt: skip
        processes.append(gateway)
        gateway.wait_healthy(f"http://127.0.0.1:{gateway_port}/health")
        mlflow.wait_healthy(f"http://127.0.0.1:{mlflow_port}/health", timeout=120)
        yield Stack(f"http://127.0.0.1:{auth_port}", f"http://127.0.0.1:{mlflow_port}",
                    f"http://127.0.0.1:{gateway_port}", work / "gateway.log", gateway)  # fmt: skip
    finally:
        for process in reversed(processes):
            if process is mlflow and process.process.poll() is None:
                # Thrown away with its data; after use it takes 10-15 s to obey SIGTERM (ServerProcess.stop).
                os.killpg(process.process.pid, signal.SIGKILL)
            process.stop()


def test_the_walkthrough_tables_match_the_doc() -> None:
    assert stale_entries(walkthrough(Stack("http://auth", "http://mlflow", "http://gateway", Path()))) == []


def test_third_party_developers_md_runs_as_written(stack: Stack, tmp_path: Path) -> None:
    with Reader(walkthrough(stack), tmp_path) as reader:
        steps = reader.follow()
    assert [(step.text.split("#")[0].strip(), step.skipped) for step in steps if step.skipped] == [
        ("pip install 'hokusai-ml-platform[mlflow]'", PIP), ("pip install scikit-learn", PIP)]  # fmt: skip
    ran = {step.text.splitlines()[0]: step for step in steps if step.skipped is None}
    assert [step.person for step in ran.values()][:2] == ["admin", "developer"]
    assert len(ran) == 11, list(ran)

    # The developer's only credential is the key the administrator made, with the scope the doc gave it.
    key = reader.values["key"]
    info = httpx.post(f"{stack.auth}/api/v1/keys/validate", json={"api_key": key}).json()
    assert info["is_valid"] is True
    assert info["scopes"] == ["mlflow:write"]

    # Both registrations reached the MLflow behind the gateway (nothing fell back to a local store), and the
    # gateway let them through with that key.
    versions = httpx.get(f"{stack.mlflow}/api/2.0/mlflow/model-versions/search",
                         params={"filter": "name='churn-classifier'"}).json()["model_versions"]  # fmt: skip
    assert sorted(version["version"] for version in versions) == ["1", "2"], versions
    project = reader.home("developer") / "project"
    assert not {"mlruns", "mlflow.db", "mlartifacts"} & {path.name for path in project.iterdir()}
    churn = httpx.get(f"{stack.mlflow}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "churn"})
    search = {"experiment_ids": [churn.json()["experiment"]["experiment_id"]]}
    runs = httpx.post(f"{stack.mlflow}/api/2.0/mlflow/runs/search", json=search)
    assert "baseline" in {run["info"]["run_name"] for run in runs.json()["runs"]}
    optional = ran["import logging"]  # with the gateway down
    assert "not registered: " in optional.output, optional.output
    assert "unreachable" in optional.output, optional.output
    access = [json.loads(line) for line in stack.gateway_log.read_text().splitlines() if line.startswith("{")]
    statuses = [entry["status"] for entry in access if entry.get("logger") == "hokusai_auth.gateway.access"]
    assert statuses, "the MLflow traffic went through the gateway"
    assert not {401, 403} & set(statuses), statuses
