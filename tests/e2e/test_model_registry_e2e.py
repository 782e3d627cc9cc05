"""The SDK's ModelRegistry and ExperimentManager against real servers: the auth service, an MLflow tracking server
(SQLite backend, local artifacts) and the gateway in front of it, three processes; plus a second gateway whose
MLflow is not running. The SDK runs in this process, as a third-party developer's code would.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import hokusai
import hokusai.config
from hokusai._errors import AuthenticationError, AuthorizationError, ServiceUnavailableError
from hokusai._keys import checksum
from hokusai._mlflow_settings import set_installed_token
from hokusai._mlflow_status import forget
from tests.conftest import ADMIN_TOKEN, free_port
from tests.e2e.helpers import ServerProcess, clean_env, start_auth_service, start_mlflow_server

mlflow = pytest.importorskip("mlflow", reason="the MLflow tests need the [mlflow] extra")
np = pytest.importorskip("numpy")
linear_model = pytest.importorskip("sklearn.linear_model")

from hokusai.core import ExperimentManager, ModelRegistry  # noqa: E402 - only once MLflow is known to be there

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SERVICE_TOKEN = "e2e-registry-service-token-" + "r" * 24
FAST = {"pip_requirements": ["scikit-learn"]}  # skips MLflow's requirement inference (a subprocess, ~7 s)
FEATURES = np.random.default_rng(0).normal(size=(40, 3))
MODEL = linear_model.LogisticRegression().fit(FEATURES, (FEATURES[:, 0] > 0).astype(int))


@dataclass
class Stack:
    auth: str
    mlflow: str
    gateway: str
    dead_gateway: str  # a gateway whose MLflow upstream is not running

    def create_key(self, **fields: object) -> dict[str, Any]:
        body = {"name": "registry e2e", "service_id": "platform", **fields}
        response = httpx.post(f"{self.auth}/api/v1/keys", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def key(self, **fields: object) -> str:
        return str(self.create_key(**fields)["api_key"])

    def mlflow_get(self, path: str, **params: str) -> dict[str, Any]:
        """MLflow's REST API directly, around the gateway and the SDK."""
        response = httpx.get(f"{self.mlflow}/api/2.0/mlflow/{path}", params=params)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("registry-e2e")
    processes: list[ServerProcess] = []
    try:
        auth_port, mlflow_port, gateway_port, dead_port = free_port(), free_port(), free_port(), free_port()
        auth = start_auth_service(work, auth_port, SERVICE_TOKENS=SERVICE_TOKEN)
        processes.append(auth)
        mlflow_server = start_mlflow_server(work, mlflow_port)
        processes.append(mlflow_server)
        gateway_env = clean_env(HOKUSAI_GATEWAY_SERVICE_TOKEN=SERVICE_TOKEN)
        auth_url = f"http://127.0.0.1:{auth_port}"
        gateways = []
        for port, upstream in ((gateway_port, mlflow_port), (dead_port, free_port())):
            gateway = ServerProcess(
                ["hokusai_auth", "gateway", "--port", str(port), "--mlflow-upstream", f"http://127.0.0.1:{upstream}",
                 "--auth-service-url", auth_url, "--upstream-timeout", "5"],
                gateway_env, work / f"gateway-{port}.log",
            )  # fmt: skip
            processes.append(gateway)
            gateways.append((gateway, port))
        auth.wait_healthy(f"{auth_url}/health")
        for gateway, port in gateways:
            gateway.wait_healthy(f"http://127.0.0.1:{port}/health")
        mlflow_server.wait_healthy(f"http://127.0.0.1:{mlflow_port}/health", timeout=120)
        yield Stack(auth_url, f"http://127.0.0.1:{mlflow_port}", f"http://127.0.0.1:{gateway_port}",
                    f"http://127.0.0.1:{dead_port}")  # fmt: skip
    finally:
        for process in reversed(processes):
            process.stop()


@pytest.fixture(autouse=True)
def developer_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A developer's machine with no Hokusai or MLflow settings; whatever the SDK puts into the environment
    (MLFLOW_TRACKING_TOKEN) is undone afterwards."""
    for name in list(os.environ):
        if name.startswith(("HOKUSAI_", "MLFLOW_TRACKING_")) or name == "MLFLOW_REGISTRY_URI":
            monkeypatch.delenv(name)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)  # recorded, so monkeypatch removes the SDK's too
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HOKUSAI_CONFIG_FILE", str(tmp_path / "config"))
    hokusai.config.reset()
    forget()
    yield
    hokusai.config.reset()
    forget()
    set_installed_token(None)


def unknown_key() -> str:
    """Well-formed (the checksum holds), so only the auth service can say it does not exist."""
    body = "hk_live_" + "Q" * 32
    return body + checksum(body)


def test_register_baseline_with_a_key_through_the_gateway(stack: Stack) -> None:
    key = stack.key(scopes=["mlflow:write"])
    registry = ModelRegistry(api_key=key, tracking_uri=stack.gateway)
    entry = registry.register_baseline(MODEL, model_type="sklearn", model_name="churn-baseline",
                                       metadata={"team": "growth", "features": ["a", "b", "c"]})  # fmt: skip

    assert (entry.name, entry.version, entry.registered, entry.mock) == ("churn-baseline", 1, True, False)
    assert entry.model_uri == "models:/churn-baseline/1"
    assert entry.tracking_uri == registry.tracking_uri == stack.gateway
    # What MLflow itself holds, asked directly.
    registered = stack.mlflow_get("registered-models/get", name="churn-baseline")["registered_model"]
    assert registered["latest_versions"][0]["version"] == "1"
    version = stack.mlflow_get("model-versions/get", name="churn-baseline", version="1")["model_version"]
    tags = {tag["key"]: tag["value"] for tag in version["tags"]}
    assert tags["team"] == "growth"
    assert tags["features"] == '["a", "b", "c"]'
    assert (tags["hokusai.model_type"], tags["hokusai.flavour"]) == ("sklearn", "sklearn")
    assert version["run_id"] == entry.run_id
    run = stack.mlflow_get("runs/get", run_id=str(entry.run_id))["run"]
    assert {tag["key"]: tag["value"] for tag in run["data"]["tags"]}["team"] == "growth"
    # And back, through the gateway with the same key: the model predicts as the original does.
    loaded = mlflow.sklearn.load_model(entry.model_uri)
    assert (loaded.predict(FEATURES) == MODEL.predict(FEATURES)).all()

    status = hokusai.config.get_mlflow_status()
    assert status["configured"] is True
    assert (status["auth_method"], status["is_local"], status["reachable"]) == ("hokusai_api_key", False, True)
    assert key not in repr(status)


def test_setup_and_hokusai_api_endpoint_reach_the_gateways_mlflow_mount(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = stack.key()  # no scopes: full access within the platform service
    hokusai.setup(api_key=key)
    monkeypatch.setenv("HOKUSAI_API_ENDPOINT", stack.gateway)
    registry = ModelRegistry()
    assert registry.tracking_uri == f"{stack.gateway}/mlflow"

    first = registry.register_baseline(MODEL, model_type="scikit-learn", model_name="mount-model",
                                       log_model_options=FAST)  # fmt: skip
    second = registry.register_baseline(MODEL, model_type="scikit-learn", model_name="mount-model",
                                        log_model_options=FAST)  # fmt: skip
    assert (first.version, second.version) == (1, 2)
    versions = stack.mlflow_get("registered-models/get", name="mount-model")["registered_model"]["latest_versions"]
    assert versions[0]["version"] == "2"

    experiments = ExperimentManager("registry-e2e-runs")
    with experiments.start_run("trial", tags={"stage": "e2e"}) as run:
        run.log_params({"C": 1.0})
        run.log_metrics({"accuracy": 0.75}, step=1)
    stored = stack.mlflow_get("runs/get", run_id=str(run.run_id))["run"]
    assert stored["info"]["status"] == "FINISHED"
    assert stored["data"]["params"] == [{"key": "C", "value": "1.0"}]
    assert stored["data"]["metrics"][0]["value"] == 0.75
    assert {tag["key"]: tag["value"] for tag in stored["data"]["tags"]}["stage"] == "e2e"


def test_a_read_only_key_is_refused_naming_the_write_scope(stack: Stack) -> None:
    registry = ModelRegistry(api_key=stack.key(scopes=["mlflow:read"]), tracking_uri=stack.gateway)
    with pytest.raises(AuthorizationError) as refused:
        registry.register_baseline(MODEL, model_type="sklearn", model_name="read-only", log_model_options=FAST)
    assert "mlflow:write" in str(refused.value)
    assert "model:write" in str(refused.value)
    assert refused.value.required_scope == "mlflow:write"
    assert refused.value.status == 403


@pytest.mark.parametrize("which", ["unknown", "revoked"])
@pytest.mark.parametrize("optional", [False, True])
def test_a_wrong_or_revoked_key_fails_at_once_even_in_optional_mode(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, which: str, optional: bool
) -> None:
    if optional:
        monkeypatch.setenv("HOKUSAI_OPTIONAL_MLFLOW", "true")
    if which == "revoked":
        created = stack.create_key()
        assert httpx.delete(f"{stack.auth}/api/v1/keys/{created['key_id']}", headers=ADMIN).status_code == 200
        key = created["api_key"]
    else:
        key = unknown_key()
    registry = ModelRegistry(api_key=key, tracking_uri=stack.gateway)
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as refused:
        registry.register_baseline(MODEL, model_type="sklearn", model_name="never", log_model_options=FAST)
    assert time.monotonic() - started < 20, "a refused key must not go through MLflow's retries"
    message = str(refused.value)
    assert key not in message
    assert "refused the API key hk_live_" in message
    assert ("revoked" if which == "revoked" else "Invalid API key") in message


def test_mlflow_behind_the_gateway_down_is_service_unavailable(stack: Stack) -> None:
    registry = ModelRegistry(api_key=stack.key(), tracking_uri=stack.dead_gateway)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as down:
        registry.register_baseline(MODEL, model_type="sklearn", model_name="down", log_model_options=FAST)
    assert time.monotonic() - started < 20
    assert "MLflow behind it is unreachable" in str(down.value)
    assert hokusai.config.get_mlflow_status()["reachable"] is False


def test_gateway_not_running_is_service_unavailable(stack: Stack) -> None:
    registry = ModelRegistry(api_key=stack.key(), tracking_uri=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServiceUnavailableError, match="unreachable"):
        registry.register_baseline(MODEL, model_type="sklearn", model_name="down", log_model_options=FAST)


def test_optional_mode_turns_an_outage_into_a_warning(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HOKUSAI_OPTIONAL_MLFLOW", "true")
    key = stack.key()
    registry = ModelRegistry(api_key=key, tracking_uri=stack.dead_gateway)
    with caplog.at_level(logging.WARNING, logger="hokusai.core"):
        entry = registry.register_baseline(MODEL, model_type="sklearn", model_name="down", log_model_options=FAST)
        with ExperimentManager("down", tracking_uri=stack.dead_gateway, api_key=key).start_run() as run:
            run.log_metric("loss", 0.5)
    assert (entry.registered, entry.version, entry.run_id) == (False, None, None)
    assert "unreachable" in str(entry.reason)
    assert (run.offline, run.metrics) == (True, {"loss": 0.5})
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("HOKUSAI_OPTIONAL_MLFLOW" in line and "registering 'down'" in line for line in warnings)
    status = hokusai.config.get_mlflow_status()
    assert (status["optional_mlflow"], status["reachable"]) == (True, False)
