"""Pointing MLflow at the resolved tracking server with the resolved key, and checking that it answers.

MLflow reads its credential from the environment at request time, and its fluent API (``mlflow.start_run``,
``mlflow.<flavour>.log_model``) uses one process-wide tracking URI, so both are process-wide: ``activate`` sets
``MLFLOW_TRACKING_TOKEN`` to the Hokusai key and MLflow's tracking and registry URIs to the registry's, under one
lock held for the whole MLflow operation, so two registries with different keys in one process cannot mix them
up. Afterwards MLflow stays pointed there, so ``mlflow.sklearn.load_model(entry.model_uri)`` works directly.
A token the SDK installed is removed again when a connection without a key is activated, so a key never follows
the process to another server.

The probe (``GET <tracking>/api/2.0/mlflow/experiments/search?max_results=1``, with the key) runs before each
registration and each new run. It turns the common failures into precise errors in one request — MLflow's own
client retries 5xx and connection errors with backoff for minutes (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, left as
the user set it: retries help a large upload survive a blip once the server is known to be there).
"""

from __future__ import annotations

import base64
import logging
import os
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from hokusai._errors import parse_retry_after
from hokusai._mlflow_settings import MlflowSettings, installed_token, set_installed_token
from hokusai._mlflow_status import record_reachability
from hokusai._version import __version__
from hokusai.core import _failures as failures

logger = logging.getLogger("hokusai.core")
PROBE_PATH = "/api/2.0/mlflow/experiments/search"
# Held while MLflow's process-wide state (token, URIs) belongs to one connection.
_mlflow_lock = threading.RLock()
_replaced_foreign_token_warned = False


@contextmanager
def activated(settings: MlflowSettings) -> Iterator[None]:
    """MLflow pointed at ``settings`` (token and URIs) for the duration of the block, under the process lock."""
    with _mlflow_lock:
        _apply_token(settings)
        import mlflow

        mlflow.set_tracking_uri(settings.tracking_uri)
        mlflow.set_registry_uri(settings.tracking_uri)
        yield


def _apply_token(settings: MlflowSettings) -> None:
    global _replaced_foreign_token_warned  # noqa: PLW0603 - warn once per process, not per call
    current = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if settings.api_key:
        if current and current not in (settings.api_key, installed_token()) and not _replaced_foreign_token_warned:
            _replaced_foreign_token_warned = True
            logger.warning(
                "MLFLOW_TRACKING_TOKEN held another credential; the Hokusai API key from %s replaces it",
                settings.api_key_source,
            )
        os.environ["MLFLOW_TRACKING_TOKEN"] = settings.api_key
        set_installed_token(settings.api_key)
    elif current is not None and current == installed_token():
        del os.environ["MLFLOW_TRACKING_TOKEN"]
        set_installed_token(None)


def probe(settings: MlflowSettings) -> None:
    """Raise the typed error if the tracking server (or the gateway) cannot be used with this key; local stores
    and mock mode are not probed."""
    if not settings.is_http or settings.mock_mode:
        return
    try:
        with httpx.Client(timeout=settings.timeout, verify=_tls_context()) as client:
            response = client.get(
                settings.tracking_uri + PROBE_PATH, params={"max_results": 1}, headers=_probe_headers(settings)
            )
    except httpx.HTTPError as exc:
        unreachable = failures.unreachable(settings, type(exc).__name__)
        record_reachability(settings, False, str(unreachable))
        raise unreachable from None
    body = _json_object(response)
    if response.status_code == 200 and body is not None and (not body or "experiments" in body):
        record_reachability(settings, True)
        return
    if response.status_code in (200, 404, 405):
        # Something answered, but has no MLflow API there (a web page, another API, a path without /mlflow).
        wrong = failures.not_mlflow(settings, response.status_code, PROBE_PATH)
        record_reachability(settings, False, str(wrong))
        raise wrong
    if body is None:  # e.g. a proxy's or MLflow's own plain-text refusal
        body = {"detail": response.text.strip()[:300] or f"HTTP {response.status_code}"}
    error = failures.from_answer(
        response.status_code, body, settings, retry_after=parse_retry_after(response.headers.get("retry-after"))
    )
    # A refusal (401, 403, 429) comes from a server that is there; only 5xx means it is not usable now.
    record_reachability(settings, response.status_code < 500, str(error))
    raise error


def _probe_headers(settings: MlflowSettings) -> dict[str, str]:
    headers = {"User-Agent": f"hokusai-python/{__version__} (mlflow probe)"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    elif settings.auth_method == "mlflow_credentials":
        # The same credential MLflow itself will send (basic first, as MLflow does), so the verdicts agree.
        user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
        if user and password:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {pair}"
        elif token := os.environ.get("MLFLOW_TRACKING_TOKEN"):
            headers["Authorization"] = f"Bearer {token}"
    return headers


def _tls_context() -> ssl.SSLContext | bool:
    """MLflow's own TLS settings, so the probe trusts what MLflow trusts."""
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").strip().lower() == "true":
        return False
    context = ssl.create_default_context(cafile=os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or None)
    if client_cert := os.environ.get("MLFLOW_TRACKING_CLIENT_CERT_PATH"):
        context.load_cert_chain(client_cert)
    return context


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
