"""How the SDK's model registry finds its key and its MLflow, mock and optional modes, and get_mlflow_status.

No server is needed except where a test says so: a port with nothing listening (MLflow down), a plain web server
(a wrong tracking URI) and, in the slow tests, a local MLflow store.
"""

from __future__ import annotations

import http.server
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hokusai
import hokusai.config
from hokusai._config import write_profile
from hokusai._errors import (
    AuthenticationError,
    ConfigurationError,
    HokusaiError,
    RateLimitError,
    ServiceUnavailableError,
)
from hokusai._keys import checksum
from hokusai._mlflow_settings import (
    DEFAULT_REGISTRY_URL,
    LOCAL_TRACKING_URI,
    resolve_mlflow_settings,
    safe_uri,
    set_installed_token,
)
from hokusai._mlflow_status import forget
from hokusai.core import ExperimentManager, ModelRegistry, mock_store, reset_mock_store
from hokusai.core._flavours import choose_flavour
from tests.conftest import free_port
from tests.sdk.conftest import LiveService

ROOT = Path(__file__).resolve().parents[2]


def make_key(fill: str = "A", tag: str = "live") -> str:
    body = f"hk_{tag}_" + fill * 32
    return body + checksum(body)


KEY = make_key("A")
OTHER_KEY = make_key("B", "test")


class Model:
    """Stands for any model: registration in mock mode only needs a flavour, here given as model_type."""


@pytest.fixture(autouse=True)
def registry_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No Hokusai or MLflow settings from the machine; an empty HOME and config file; nothing remembered."""
    for name in list(os.environ):
        if name.startswith(("HOKUSAI_", "MLFLOW_TRACKING_")) or name == "MLFLOW_REGISTRY_URI":
            monkeypatch.delenv(name)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)  # recorded: the SDK's own token is removed after
    monkeypatch.setenv("HOME", str(tmp_path))
    config_file = tmp_path / "hokusai-config"
    monkeypatch.setenv("HOKUSAI_CONFIG_FILE", str(config_file))
    hokusai.config.reset()
    forget()
    reset_mock_store()
    yield config_file
    hokusai.config.reset()
    forget()
    set_installed_token(None)


# ------------------------------------------------------------------------------------- imports and the extra


def test_importing_the_sdk_and_asking_for_the_status_never_imports_mlflow() -> None:
    code = (
        "import sys, hokusai, hokusai.config, hokusai.core\n"
        "hokusai.config.get_mlflow_status()\n"
        "print('mlflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "False"


def test_without_the_mlflow_extra_a_real_registry_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what Python sees when the package is not installed
    with pytest.raises(ConfigurationError, match=r"pip install 'hokusai-ml-platform\[mlflow\]'"):
        ModelRegistry(api_key=KEY)
    monkeypatch.setenv("HOKUSAI_MOCK_MODE", "true")  # mock mode needs no MLflow
    assert ModelRegistry(api_key=KEY).register_baseline(Model(), model_type="sklearn").version == 1


# ------------------------------------------------------------------------------------- where the key comes from


def test_no_key_anywhere_means_a_local_store() -> None:
    settings = resolve_mlflow_settings()
    assert (settings.tracking_uri, settings.auth_method, settings.is_local) == (LOCAL_TRACKING_URI, "none", True)
    status = hokusai.config.get_mlflow_status()
    assert status["configured"] is False
    assert (status["tracking_uri"], status["is_local"], status["auth_method"]) == (LOCAL_TRACKING_URI, True, "none")


@pytest.mark.parametrize("where", ["argument", "setup", "environment", "profile"])
def test_a_key_from_anywhere_goes_to_the_hokusai_registry_never_to_a_local_store(
    where: str, monkeypatch: pytest.MonkeyPatch, registry_env: Path
) -> None:
    if where == "setup":
        hokusai.setup(api_key=KEY)
    elif where == "environment":
        monkeypatch.setenv("HOKUSAI_API_KEY", KEY)
    elif where == "profile":
        write_profile("default", {"api_key": KEY}, registry_env)
    settings = resolve_mlflow_settings(api_key=KEY if where == "argument" else None)
    assert settings.api_key == KEY
    assert (settings.tracking_uri, settings.is_local, settings.auth_method) == (
        DEFAULT_REGISTRY_URL,
        False,
        "hokusai_api_key",
    )
    assert settings.api_key_source is not None
    assert where in settings.api_key_source or (where == "profile" and "profile" in settings.api_key_source)


def test_the_argument_beats_setup_which_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKUSAI_API_KEY", OTHER_KEY)
    assert resolve_mlflow_settings().api_key == OTHER_KEY
    hokusai.setup(api_key=KEY)
    assert resolve_mlflow_settings().api_key == KEY
    assert resolve_mlflow_settings(api_key=OTHER_KEY).api_key == OTHER_KEY


def test_a_hokusai_key_in_mlflow_tracking_token_is_used_as_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", KEY)
    settings = resolve_mlflow_settings()
    assert (settings.api_key, settings.api_key_source) == (KEY, "environment (MLFLOW_TRACKING_TOKEN)")
    assert settings.tracking_uri == DEFAULT_REGISTRY_URL


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("your-api-key", "not a Hokusai API key"),
        (KEY[:-3], "truncated"),
        (KEY[:-1] + ("B" if KEY[-1] != "B" else "C"), "checksum"),
    ],
)
def test_a_malformed_key_is_refused_offline_naming_source_and_problem(
    key: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOKUSAI_API_KEY", key)
    with pytest.raises(ConfigurationError) as refused:
        ModelRegistry()
    assert "HOKUSAI_API_KEY" in str(refused.value)
    assert problem in str(refused.value)
    assert key not in str(refused.value)
    assert "error" in hokusai.config.get_mlflow_status()  # the status reports the problem instead of raising


def test_foreign_mlflow_credentials_pass_through_only_to_a_uri_someone_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "databricks-or-other-token")
    with pytest.raises(ConfigurationError, match="no tracking URI"):
        resolve_mlflow_settings()
    settings = resolve_mlflow_settings(tracking_uri="https://mlflow.example.com")
    assert (settings.auth_method, settings.api_key) == ("mlflow_credentials", None)


def test_basic_auth_settings_that_would_replace_the_key_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "me")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "something-else")
    with pytest.raises(ConfigurationError, match="instead of your Hokusai API key"):
        resolve_mlflow_settings(api_key=KEY)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", KEY)  # the key as the password: the gateway accepts that
    assert resolve_mlflow_settings(api_key=KEY).auth_method == "hokusai_api_key"


# ------------------------------------------------------------------------------------- where MLflow is


def test_tracking_uri_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKUSAI_API_ENDPOINT", "https://gateway.example.com/")
    assert resolve_mlflow_settings(api_key=KEY).tracking_uri == "https://gateway.example.com/mlflow"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.example.com/")
    chosen = resolve_mlflow_settings(api_key=KEY)
    assert (chosen.tracking_uri, chosen.tracking_uri_source) == (
        "https://mlflow.example.com",
        "environment (MLFLOW_TRACKING_URI)",
    )
    assert resolve_mlflow_settings(api_key=KEY, api_endpoint="https://other.example.com").tracking_uri == (
        "https://other.example.com/mlflow"
    )
    assert resolve_mlflow_settings(api_key=KEY, tracking_uri="http://127.0.0.1:5000/").tracking_uri == (
        "http://127.0.0.1:5000"
    )


def test_setup_api_endpoint_gives_the_gateways_mlflow_mount_once() -> None:
    hokusai.setup(api_key=KEY, api_endpoint="https://gateway.example.com")
    assert resolve_mlflow_settings().tracking_uri == "https://gateway.example.com/mlflow"
    hokusai.setup(api_endpoint="https://gateway.example.com/api/mlflow")
    assert resolve_mlflow_settings().tracking_uri == "https://gateway.example.com/api/mlflow"


def test_an_explicit_local_store_with_a_key_is_allowed_because_someone_chose_it() -> None:
    settings = resolve_mlflow_settings(api_key=KEY, tracking_uri="sqlite:///elsewhere.db")
    assert (settings.tracking_uri, settings.is_local, settings.auth_method) == (
        "sqlite:///elsewhere.db",
        True,
        "hokusai_api_key",
    )


@pytest.mark.parametrize(
    ("uri", "local"),
    [("sqlite:///mlflow.db", True), ("./mlruns", True), ("file:///tmp/mlruns", True),
     ("https://registry.hokus.ai/mlflow", False), ("databricks", False), ("databricks://profile", False)],
)  # fmt: skip
def test_is_local_means_a_store_on_this_machine(uri: str, local: bool) -> None:
    assert resolve_mlflow_settings(tracking_uri=uri).is_local is local


def test_secrets_in_the_tracking_uri_are_never_shown() -> None:
    assert safe_uri(f"https://me:{KEY}@gw.example.com/mlflow") == "https://me:***@gw.example.com/mlflow"
    assert (
        safe_uri(f"https://gw.example.com/mlflow?api_key={KEY}&x=1") == "https://gw.example.com/mlflow?api_key=***&x=1"
    )
    settings = resolve_mlflow_settings(api_key=KEY, tracking_uri=f"https://gw.example.com/mlflow?api_key={KEY}")
    assert KEY not in repr(settings)
    assert KEY not in repr(hokusai.config.get_mlflow_status())


# ------------------------------------------------------------------------------------- mock mode


def test_mock_mode_simulates_registration_in_memory(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HOKUSAI_MOCK_MODE", "true")
    with caplog.at_level(logging.WARNING, logger="hokusai.core"):
        registry = ModelRegistry()
        first = registry.register_baseline(Model(), model_type="sklearn", metadata={"auc": 0.9, "team": "x"})
        second = ModelRegistry(api_key=KEY).register_baseline(Model(), model_type="sklearn")
    assert (first.name, first.version, second.version) == ("sklearn", 1, 2)
    assert (first.mock, first.registered, first.model_uri) == (True, True, "models:/sklearn/1")
    assert first.tags["auc"] == "0.9"
    assert first.tags["hokusai.model_type"] == "sklearn"
    assert isinstance(mock_store().load_model("sklearn", 1), Model)
    status = hokusai.config.get_mlflow_status()
    assert (status["configured"], status["mock_mode"], status["auth_method"], status["is_local"]) == (
        True,
        True,
        "mock",
        True,
    )
    assert registry.tracking_uri == status["tracking_uri"] == "mock://in-memory"


def test_the_mock_mode_warning_is_logged_once_per_process() -> None:
    code = (
        "import logging, os\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "os.environ['HOKUSAI_MOCK_MODE'] = 'true'\n"
        "from hokusai.core import ModelRegistry, ExperimentManager\n"
        "ModelRegistry(); ModelRegistry(); ExperimentManager()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKUSAI_")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert result.stderr.count("HOKUSAI_MOCK_MODE is on") == 1


def test_mock_mode_experiment_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKUSAI_MOCK_MODE", "1")
    experiments = ExperimentManager("churn")
    with experiments.start_run("baseline", tags={"stage": "dev"}) as run:
        run.log_params({"C": 1.0, "penalty": "l2"})
        run.log_metric("loss", 0.5, step=0)
        run.log_metric("loss", 0.25, step=1)
    stored = mock_store().runs[str(run.run_id)]
    assert (stored.status, stored.experiment_name, stored.run_name) == ("FINISHED", "churn", "baseline")
    assert stored.params == {"C": "1.0", "penalty": "l2"}
    assert stored.metrics["loss"] == [(0, 0.5), (1, 0.25)]
    assert run.metrics == {"loss": 0.25}
    with pytest.raises(ZeroDivisionError), experiments.start_run() as failed:
        _ = 1 / 0
    assert mock_store().runs[str(failed.run_id)].status == "FAILED"


# ------------------------------------------------------------------------------------- names and flavours


def test_a_model_needs_a_name_or_a_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKUSAI_MOCK_MODE", "true")
    registry = ModelRegistry()
    with pytest.raises(ConfigurationError, match="model_name"):
        registry.register_baseline(Model())
    assert registry.register_baseline(Model(), model_type="pyfunc", model_name="named").name == "named"


def test_the_flavour_comes_from_model_type_or_from_the_models_class() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    model = linear_model.LogisticRegression()
    assert choose_flavour(model, None).module == "mlflow.sklearn"
    assert choose_flavour(model, "churn-classifier").name == "sklearn"  # a label, not a flavour
    assert choose_flavour(Model(), "scikit-learn").name == "sklearn"
    with pytest.raises(ConfigurationError, match="says xgboost"):
        choose_flavour(model, "xgboost")
    with pytest.raises(ConfigurationError, match="cannot tell how to log"):
        choose_flavour(Model(), None)


def test_a_python_model_is_logged_as_pyfunc() -> None:
    pytest.importorskip("mlflow.pyfunc")
    from mlflow.pyfunc.model import PythonModel

    class Echo(PythonModel):
        def predict(self, context: object, model_input: list[str], params: dict[str, Any] | None = None) -> list[str]:
            return model_input

    assert choose_flavour(Echo(), None).name == "pyfunc"


# ------------------------------------------------------------------------------------- MLflow unreachable


@pytest.fixture
def web_page() -> Iterator[str]:
    """A plain web server: something that answers, but not as MLflow."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_nothing_listening_is_service_unavailable_and_reported() -> None:
    pytest.importorskip("mlflow")
    registry = ModelRegistry(api_key=KEY, tracking_uri=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServiceUnavailableError, match="unreachable"):
        registry.register_baseline(Model(), model_type="sklearn")
    status = hokusai.config.get_mlflow_status()
    assert (status["configured"], status["reachable"]) == (True, False)
    assert "unreachable" in status["last_error"]


def test_optional_mode_returns_an_unregistered_entry_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.setenv("HOKUSAI_OPTIONAL_MLFLOW", "true")
    registry = ModelRegistry(api_key=KEY, tracking_uri=f"http://127.0.0.1:{free_port()}")
    with caplog.at_level(logging.WARNING, logger="hokusai.core"):
        entry = registry.register_baseline(Model(), model_type="sklearn", model_name="m")
    assert (entry.registered, entry.version, entry.run_id, entry.model_uri) == (False, None, None, None)
    assert "unreachable" in str(entry.reason)
    assert any("HOKUSAI_OPTIONAL_MLFLOW" in record.getMessage() for record in caplog.records)
    assert hokusai.config.get_mlflow_status()["optional_mlflow"] is True


def test_a_uri_that_is_not_mlflow_is_a_configuration_error_even_in_optional_mode(
    web_page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.setenv("HOKUSAI_OPTIONAL_MLFLOW", "true")
    with pytest.raises(ConfigurationError, match="did not answer like an MLflow tracking server"):
        ModelRegistry(api_key=KEY, tracking_uri=web_page).register_baseline(Model(), model_type="sklearn")


class Refusing(http.server.BaseHTTPRequestHandler):
    """Answers every request with the status and body in the server's ``answer``."""

    def do_GET(self) -> None:
        status, content_type, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        ((403, "text/plain", b"Invalid Host header - possible DNS rebinding attack detected"), HokusaiError,
         "--allowed-hosts"),
        ((401, "application/json", b'{"error_code": "UNAUTHENTICATED", "message": "bad password"}'),
         AuthenticationError, "refused the request itself (HTTP 401): bad password"),
        ((503, "application/json", b'{"code": "service_unavailable", "detail": "Auth service unreachable"}'),
         ServiceUnavailableError, "cannot reach the auth service"),
        ((429, "application/json", b'{"code": "rate_limited", "detail": "Rate limit exceeded"}'), RateLimitError,
         "rate-limiting the API key hk_live_AAA***"),
    ],
)  # fmt: skip
def test_refusals_that_are_not_the_gateways_say_so(
    refusing_server: http.server.ThreadingHTTPServer, answer: tuple[int, str, bytes], error: type, words: str
) -> None:
    pytest.importorskip("mlflow")
    refusing_server.answer = answer  # type: ignore[attr-defined]
    registry = ModelRegistry(api_key=KEY, tracking_uri=f"http://127.0.0.1:{refusing_server.server_address[1]}")
    with pytest.raises(error) as refused:
        registry.register_baseline(Model(), model_type="sklearn")
    assert type(refused.value) is error
    assert words in str(refused.value)


def test_log_model_options_cannot_override_what_register_baseline_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKUSAI_MOCK_MODE", "true")
    with pytest.raises(ConfigurationError, match="registered_model_name"):
        ModelRegistry().register_baseline(Model(), "sklearn", log_model_options={"registered_model_name": "x"})


def test_the_auth_service_url_by_mistake_is_named_a_wrong_tracking_uri(live_service: LiveService) -> None:
    pytest.importorskip("mlflow")
    registry = ModelRegistry(api_key=KEY, tracking_uri=live_service.url)
    with pytest.raises(ConfigurationError, match="did not answer like an MLflow tracking server"):
        registry.register_baseline(Model(), model_type="sklearn")


# ------------------------------------------------------------------------------------- a real local store


@pytest.mark.slow
def test_without_a_key_models_go_to_a_local_store_and_the_token_never_lingers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow = pytest.importorskip("mlflow")
    linear_model = pytest.importorskip("sklearn.linear_model")
    monkeypatch.chdir(tmp_path)
    model = linear_model.LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 2.0, 4.0])

    registry = ModelRegistry()
    assert registry.tracking_uri == LOCAL_TRACKING_URI
    entry = registry.register_baseline(
        model, model_name="local", log_model_options={"pip_requirements": ["scikit-learn"]}
    )
    assert (entry.version, entry.registered) == (1, True)
    assert (tmp_path / "mlflow.db").exists()
    assert "MLFLOW_TRACKING_TOKEN" not in os.environ
    assert mlflow.sklearn.load_model(entry.model_uri).predict([[3.0]])[0] == pytest.approx(6.0)

    # With a key, MLflow gets it as MLFLOW_TRACKING_TOKEN (here to an explicitly chosen local store) ...
    with ExperimentManager("tokens", api_key=KEY, tracking_uri=LOCAL_TRACKING_URI).start_run() as run:
        assert os.environ["MLFLOW_TRACKING_TOKEN"] == KEY
        run.log_metric("x", 1.0)
    # ... and a later connection without a key takes the SDK's token away instead of sending it elsewhere.
    with ExperimentManager("tokens").start_run():
        assert "MLFLOW_TRACKING_TOKEN" not in os.environ
    assert mlflow.MlflowClient(LOCAL_TRACKING_URI).get_run(str(run.run_id)).data.metrics == {"x": 1.0}


@pytest.mark.slow
def test_a_users_own_mlflow_token_is_left_alone_by_a_keyless_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "users-own-token")
    with ExperimentManager("own", tracking_uri=LOCAL_TRACKING_URI).start_run():
        assert os.environ["MLFLOW_TRACKING_TOKEN"] == "users-own-token"
