"""``ModelRegistry``: register a model with MLflow (through the Hokusai gateway) using only a Hokusai API key.

    from hokusai.core import ModelRegistry

    registry = ModelRegistry()                      # key and tracking URI resolved as in hokusai._mlflow_settings
    entry = registry.register_baseline(model, model_type="sklearn", model_name="churn", metadata={"team": "x"})
    entry.name, entry.version, entry.run_id, entry.model_uri

Where the key and the tracking URI come from is documented in ``hokusai._mlflow_settings`` and
docs/third-party-developers.md. Failures raise the SDK's typed errors: ``AuthenticationError`` (wrong, expired or
revoked key), ``AuthorizationError`` (the key lacks ``mlflow:write``/``model:write``), ``ServiceUnavailableError``
(MLflow or the gateway unreachable), ``ConfigurationError`` (malformed key, MLflow not installed, nothing to name
the model after).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hokusai._errors import ConfigurationError, ServiceUnavailableError
from hokusai._version import __version__
from hokusai.core._connection import Connection
from hokusai.core._entries import ModelEntry
from hokusai.core._flavours import choose_flavour

DEFAULT_EXPERIMENT = "hokusai-baselines"


class ModelRegistry:
    """Registers models in the MLflow model registry the resolved settings point to."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        api_key: str | None = None,
        api_endpoint: str | None = None,
        *,
        experiment_name: str = DEFAULT_EXPERIMENT,
    ) -> None:
        self._connection = Connection.open(tracking_uri, api_key, api_endpoint)
        self.experiment_name = experiment_name

    @property
    def tracking_uri(self) -> str:
        """Where models go (secrets in the URI masked)."""
        return self._connection.settings.safe_tracking_uri

    @property
    def mock_mode(self) -> bool:
        return self._connection.settings.mock_mode

    def __repr__(self) -> str:
        settings = self._connection.settings
        return f"ModelRegistry(tracking_uri={self.tracking_uri!r}, auth_method={settings.auth_method!r})"

    def register_baseline(
        self,
        model: object,
        model_type: str | None = None,
        model_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        log_model_options: Mapping[str, Any] | None = None,
    ) -> ModelEntry:
        """Log ``model`` in a new run and register it as the next version of ``model_name`` (else ``model_type``).

        ``model_type`` names the flavour (``sklearn``, ``xgboost``, ``lightgbm``, ``pytorch``, ``pyfunc``) or is a
        free-form label, in which case the flavour is taken from the model's class. ``metadata`` becomes tags of
        the run and of the model version (non-string values as JSON), next to ``hokusai.model_type``,
        ``hokusai.flavour``, ``hokusai.baseline`` and ``hokusai.sdk_version``. ``log_model_options`` go to the
        flavour's ``log_model`` (``signature``, ``input_example``, ``pip_requirements``, ...).

        Under ``HOKUSAI_OPTIONAL_MLFLOW=true`` an unreachable MLflow gives an entry with ``registered=False`` and
        the ``reason`` (and a logged warning) instead of ``ServiceUnavailableError``."""
        name = (model_name or model_type or "").strip()
        if not name:
            raise ConfigurationError("register_baseline needs a model_name (or a model_type to name the model after)")
        flavour = choose_flavour(model, model_type)
        tags = {**_tags(metadata), **_hokusai_tags(model_type or flavour.name, flavour.name)}
        options = dict(log_model_options or {})
        clashing = sorted(set(options) & {"registered_model_name", "name", "artifact_path", flavour.model_argument})
        if clashing:
            raise ConfigurationError(
                f"log_model_options may not set {', '.join(clashing)}: register_baseline sets it (model_name names "
                "the registered model)"
            )
        connection = self._connection
        result = connection.attempt(
            f"registering {name!r}",
            lambda: connection.backend.register(model, flavour, name, model_type, tags, self.experiment_name, options),
        )
        if isinstance(result, ServiceUnavailableError):
            return ModelEntry(
                name=name,
                version=None,
                run_id=None,
                model_uri=None,
                tracking_uri=self.tracking_uri,
                model_type=model_type,
                flavour=flavour.name,
                tags=tags,
                registered=False,
                reason=str(result),
            )
        return result


def _tags(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigurationError(f"metadata keys must be non-empty strings, not {key!r}")
        tags[key] = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return tags


def _hokusai_tags(model_type: str, flavour: str) -> dict[str, str]:
    return {
        "hokusai.model_type": model_type,
        "hokusai.flavour": flavour,
        "hokusai.baseline": "true",
        "hokusai.sdk_version": __version__,
    }
