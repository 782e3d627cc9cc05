"""One resolved MLflow connection, shared by ``ModelRegistry`` and ``ExperimentManager``: the settings, the store
behind them (MLflow or the mock) and the ``HOKUSAI_OPTIONAL_MLFLOW`` policy.

Optional mode forgives exactly one thing: MLflow (or the gateway) being unreachable or unavailable
(``ServiceUnavailableError``). The operation is skipped with a logged warning and the caller gets a marker
instead of a result. A refused key or a missing scope still raises — a wrong key is not an outage, and
hiding it would recreate the 2025-07 incident where models silently went nowhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from hokusai._errors import ServiceUnavailableError
from hokusai._mlflow_settings import MlflowSettings, resolve_mlflow_settings
from hokusai._mlflow_status import record_configured, record_reachability
from hokusai.core._backend import Backend
from hokusai.core._mlflow import require_mlflow
from hokusai.core._mlflow_backend import MlflowBackend
from hokusai.core._mock import MockBackend, warn_once

T = TypeVar("T")
logger = logging.getLogger("hokusai.core")


class Connection:
    def __init__(self, settings: MlflowSettings, backend: Backend) -> None:
        self.settings = settings
        self.backend = backend

    @classmethod
    def open(cls, tracking_uri: str | None, api_key: str | None, api_endpoint: str | None) -> Connection:
        """Resolve the settings (raising ``ConfigurationError`` for an unusable key or a missing extra); nothing
        is contacted yet."""
        settings = resolve_mlflow_settings(tracking_uri=tracking_uri, api_key=api_key, api_endpoint=api_endpoint)
        backend: Backend
        if settings.mock_mode:
            warn_once()
            backend = MockBackend()
        else:
            require_mlflow()
            backend = MlflowBackend(settings)
        record_configured(settings)
        return cls(settings, backend)

    def attempt(self, what: str, operation: Callable[[], T], *, check: bool = True) -> T | ServiceUnavailableError:
        """``operation()``, after the connectivity probe when ``check``. In optional mode an outage is returned
        (and logged) instead of raised; every other error is raised."""
        try:
            if check:
                self.backend.check()
            result = operation()
        except ServiceUnavailableError as exc:
            record_reachability(self.settings, False, str(exc))
            if not self.settings.optional_mlflow:
                raise
            logger.warning("HOKUSAI_OPTIONAL_MLFLOW is on, so %s was skipped: %s", what, exc)
            return exc
        return result
